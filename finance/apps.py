from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = _("Contributie en betalingen")

    def ready(self):
        from . import checks  # noqa: F401  (registers the SEPA settings check)
