"""Users in the admin, by email."""

from typing import ClassVar

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from accounts.services import user_delete


class EmailUserCreationForm(BaseUserCreationForm):
    """The admin's add-user form, asking for an email instead of a username."""

    class Meta:
        model = User
        fields = ("email",)


class EmailUserChangeForm(UserChangeForm):
    """The admin's change-user form for the email-based user."""

    class Meta:
        model = User
        fields = ("email",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """The stock user admin with email in place of username."""

    add_form = EmailUserCreationForm
    form = EmailUserChangeForm
    ordering = ("email",)
    list_display = ("email", "is_active", "is_staff", "date_joined")
    search_fields = ("email",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    readonly_fields: ClassVar = ("last_login", "date_joined")

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        """Deleting a user erases what the database cascade misses: cached replies and refresh tokens."""
        user_delete(user=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            user_delete(user=user)
