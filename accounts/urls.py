"""Auth routes."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("register", views.RegisterView.as_view(), name="auth-register"),
    path("token", views.TokenObtainView.as_view(), name="auth-token"),
    path("token/refresh", views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("token/verify", views.TokenVerifyView.as_view(), name="auth-token-verify"),
    path("logout", views.LogoutView.as_view(), name="auth-logout"),
    path("account", views.AccountView.as_view(), name="auth-account"),
]
