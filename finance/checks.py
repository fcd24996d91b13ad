"""System checks for the finance settings: a wrong incassant-ID makes every debit file bounce."""

from django.conf import settings
from django.core.checks import Error, register


@register("finance")
def check_sepa_settings(app_configs=None, **kwargs):
    from .services.identifiers import creditor_id_errors
    from .services.pain008 import SUPPORTED_PAIN_VERSIONS

    problems = []
    creditor_id = getattr(settings, "SEPA_CREDITOR_ID", "")
    if creditor_id:
        errors = creditor_id_errors(creditor_id)
        if errors:
            problems.append(
                Error(
                    f"SEPA_CREDITOR_ID {creditor_id!r} is not a valid creditor identifier.",
                    hint=" ".join(str(e) for e in errors)
                    + " Dutch form: NL + 2 check digits + ZZZ + 8-digit KvK number + 0000.",
                    id="finance.E001",
                )
            )
    iban = getattr(settings, "SEPA_CREDITOR_IBAN", "")
    if iban:
        from schwifty import IBAN

        try:
            IBAN(iban)
        except ValueError as exc:
            problems.append(
                Error(f"SEPA_CREDITOR_IBAN {iban!r} is not a valid IBAN: {exc}.", id="finance.E003")
            )
    version = getattr(settings, "SEPA_PAIN_VERSION", "")
    if version not in SUPPORTED_PAIN_VERSIONS:
        problems.append(
            Error(
                f"SEPA_PAIN_VERSION {version!r} is not supported.",
                hint="Use one of: " + ", ".join(SUPPORTED_PAIN_VERSIONS) + ".",
                id="finance.E002",
            )
        )
    return problems


@register("finance", deploy=True)
def check_no_demo_in_production(app_configs=None, **kwargs):
    """With DEBUG off, `check --deploy` fails on the demo stand-ins. The demo provider refuses to
    take payments then anyway unless COOP_DEMO is on; this makes the mistake visible before a
    member finds the pay button broken, or paying with play money."""
    if settings.DEBUG:
        return []
    problems = []
    if getattr(settings, "PAYMENT_PROVIDER", "") == "demo":
        problems.append(
            Error(
                "PAYMENT_PROVIDER is 'demo' with DEBUG off: members cannot pay online, or pay "
                "with play money when COOP_DEMO is on.",
                hint="Set MOLLIE_API_KEY (live_... for real payments) and leave PAYMENT_PROVIDER "
                "unset or set it to mollie.",
                id="finance.E004",
            )
        )
    if getattr(settings, "COOP_DEMO", False):
        problems.append(
            Error(
                "COOP_DEMO is on with DEBUG off: the demo's stand-ins, such as its checkout "
                "page that marks an invoice paid, are switched on.",
                hint="Remove COOP_DEMO (or set COOP_DEMO=0) outside a demo.",
                id="finance.E005",
            )
        )
    return problems


@register("finance", deploy=True)
def check_site_url(app_configs=None, **kwargs):
    """With DEBUG off, links in e-mails, PDFs and letters need the site's real address: the
    default (or any localhost address) sends members to their own computer."""
    from coop.lib.urls import is_local_url, site_url_configured

    if settings.DEBUG:
        return []
    site = getattr(settings, "SITE_URL", "")
    if site_url_configured() and not is_local_url(site):
        return []
    return [
        Error(
            f"SITE_URL is {site!r} with DEBUG off: links in e-mails, invoices and letters "
            "would point to this machine instead of the website.",
            hint="Set SITE_URL to the address members use, e.g. https://leden.example.org.",
            id="finance.E006",
        )
    ]
