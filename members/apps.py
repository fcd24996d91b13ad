from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Leden en huishoudens")

    def ready(self) -> None:
        from . import personal_data, receivers  # noqa: F401  (they register on import)
