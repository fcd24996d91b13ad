import os

from django.core.asgi import get_asgi_application

from coop.lib.startup import require_static_files

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coop.settings")
application = get_asgi_application()
# A production start without collected static files stops here, saying so.
require_static_files()
