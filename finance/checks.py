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
