"""Chat routes, mounted under /api/v1/onboarding/."""

from django.urls import path

from agents import views

urlpatterns = [
    path("chat", views.ChatView.as_view(), name="onboarding-chat"),
    path("chat/stream", views.ChatStreamView.as_view(), name="onboarding-chat-stream"),
    path("current-agent", views.CurrentAgentView.as_view(), name="onboarding-current-agent"),
]
