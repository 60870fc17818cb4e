"""The reference's paths with the chat turn served async (``REFERENCE_ASYNC=1``, under ASGI)."""

from django.urls import path

from bench.reference import views, views_async

urlpatterns = [
    path("health", views.health),
    path("api/v1/health/ready", views.health),
    path("api/v1/onboarding/start", views.start),
    path("api/v1/onboarding/chat", views_async.chat),
]
