from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from coop.accounts.access import public

urlpatterns = [
    path("", include("reports.urls")),
    path("", include("members.urls")),
    path("", include("finance.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/setlang/", public(set_language), name="set_language"),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Wijkcoop"
admin.site.site_title = "Wijkcoop"
