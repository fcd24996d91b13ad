"""dues pages."""

urlpatterns: list = []
