from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = _("Contributie en betalingen")

    def ready(self):
        # Imported for what they register: the SEPA settings check, finance's part of "my data",
        # the contribution panel on the coordinator's household and member pages.
        from . import checks, panels, personal_data  # noqa: F401
