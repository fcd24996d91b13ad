"""Finance's panel on the coordinator's member and household pages: this year's contribution.

Registered from FinanceConfig.ready(); the contract is in coop/core/panels.py. Coordinators
see whether the household paid, the amount and the invoice number; never an account number or
a mandate. The treasurer also gets a link to the household's invoices and payments.
"""

from django.utils import timezone

from coop.accounts.roles import Role
from coop.core.panels import register_household_panel

from .selectors import household_dues_of_year


@register_household_panel("dues", template="finance/includes/household_dues_panel.html")
def dues_panel(household, *, user) -> dict:
    year = timezone.localdate().year
    return {
        "dues": household_dues_of_year(household.pk, year),
        "show_balance_link": user.has_role(Role.TREASURER),
    }
