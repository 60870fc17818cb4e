"""Users and authentication."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Email-based users and the JWT auth endpoints."""

    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
