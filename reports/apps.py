from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """The top layer: dashboards, the demo data and the benchmarks; it reads every app below it."""

    name = "reports"
    verbose_name = _("Overzicht")
