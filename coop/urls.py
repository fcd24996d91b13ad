from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from coop.accounts.access import public
from coop.accounts.views import admin_login

urlpatterns = [
    path("", include("reports.urls")),
    path("", include("members.urls")),
    path("", include("finance.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/setlang/", public(set_language), name="set_language"),
    # Before the admin's own URLs, so its login page is never served.
    path("admin/login/", admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Wijkcoop"
admin.site.site_title = "Wijkcoop"

# Error pages in the site's own layout; the 500 page also answers when the database is down.
handler400 = "coop.core.views.bad_request"
handler403 = "coop.core.views.permission_denied"
handler404 = "coop.core.views.page_not_found"
handler500 = "coop.core.views.server_error"
# Not Django's: allauth answers its rate limits with ROOT_URLCONF.handler429.
handler429 = "coop.core.views.too_many_requests"
