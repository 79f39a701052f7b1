"""Store sync API routes."""

urlpatterns: list = []
