"""Health routes under /api/v1/health/."""

from django.urls import path

from health import views

urlpatterns = [
    path("ready", views.ReadinessView.as_view(), name="health-ready"),
]
