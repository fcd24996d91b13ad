"""Finance URLs: each views module declares its own patterns (treasurer under /financien/,
members under /mijn/, the payment provider's webhook under /betalen/)."""

from .views import dues, overpaid, payments, sepa, statements

app_name = "finance"

urlpatterns = [
    *dues.urlpatterns,
    *overpaid.urlpatterns,
    *payments.urlpatterns,
    *sepa.urlpatterns,
    *statements.urlpatterns,
]
