"""Checks a production start makes before it answers any request."""

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages


def static_files_ready() -> bool:
    """False when the static files' manifest is missing: with DEBUG off the manifest storage then
    fails every {% static %}, so every page would answer 500."""
    if settings.DEBUG:
        return True
    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin):
        return True
    return storage.manifest_storage.exists(storage.manifest_name)


def require_static_files() -> None:
    """Stops the server at start-up instead. Not a system check: collectstatic runs those too,
    so it could never make the files the check asks for."""
    if not static_files_ready():
        raise ImproperlyConfigured(
            f"The static files have not been collected: {settings.STATIC_ROOT}/staticfiles.json "
            "is missing. Run `python manage.py collectstatic --no-input` (with the same "
            "STATIC_ROOT) before starting the server."
        )
