"""The paths the load generator calls, at the service's addresses."""

from django.urls import path

from bench.reference import views

urlpatterns = [
    path("health", views.health),
    path("api/v1/health/ready", views.health),
    path("api/v1/onboarding/start", views.start),
    path("api/v1/onboarding/chat", views.chat),
]
