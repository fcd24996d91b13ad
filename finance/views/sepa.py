"""sepa pages."""

urlpatterns: list = []
