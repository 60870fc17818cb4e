"""Top-level routes: the API under /api/v1, health, metrics, admin and the OpenAPI docs."""

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from health import views as health_views

# The chat lives in the agents app; without it the form flow is served alone.
chat: list[URLPattern | URLResolver] = [path("", include("agents.urls"))] if apps.is_installed("agents") else []

api_v1: list[URLPattern | URLResolver] = [
    path("auth/", include("accounts.urls")),
    # The caller's own onboarding: the form flow's router and (with the agents app) the chat's, both under it.
    path("", include("onboarding.urls")),
    *chat,
    path("health/", include("health.urls")),
]

urlpatterns = [
    path("health", health_views.LivenessView.as_view(), name="health-live"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, so the CSP needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path(settings.ADMIN_URL, admin.site.urls),
    path("", include("django_prometheus.urls")),
]

handler404 = "core.errors.json_not_found"
handler500 = "core.errors.json_server_error"
