"""statements pages."""

urlpatterns: list = []
