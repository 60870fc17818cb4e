"""Chat routes, mounted under /api/v1/onboarding."""

urlpatterns: list = []
