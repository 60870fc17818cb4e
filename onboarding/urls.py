"""Onboarding routes (the chat routes live in agents.urls and are mounted beside these)."""

from django.urls import path

from onboarding import views

urlpatterns = [
    path("start", views.OnboardingStartView.as_view(), name="onboarding-start"),
    path("state", views.OnboardingStateView.as_view(), name="onboarding-state"),
    path("step", views.OnboardingStepView.as_view(), name="onboarding-step"),
    path("progress", views.OnboardingProgressView.as_view(), name="onboarding-progress"),
    path("complete", views.OnboardingCompleteView.as_view(), name="onboarding-complete"),
    path("export", views.OnboardingExportView.as_view(), name="onboarding-export"),
]
