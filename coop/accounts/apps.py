from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "coop.accounts"
    label = "accounts"
    verbose_name = _("Accounts en rollen")

    def ready(self):
        from . import checks, receivers  # noqa: F401
