"""Health routes under /api/v1/health/."""

from django.urls import path

from health import views

urlpatterns = [
    path("ready", views.ReadinessView.as_view(), name="health-ready"),
    path("anthropic", views.AnthropicHealthView.as_view(), name="health-anthropic"),
    path("agents", views.AgentsHealthView.as_view(), name="health-agents"),
]
