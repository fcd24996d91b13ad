"""payments pages."""

urlpatterns: list = []
