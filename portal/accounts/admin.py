from django import forms
from django.contrib import admin
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Team, User


class UserCreationForm(forms.ModelForm):
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput,
        required=False,
        help_text=_("Leave empty and the user sets a password through 'Forgot your password?'."),
    )

    class Meta:
        model = User
        fields = ["email_primary", "full_name", "id_type", "id_number", "role", "team", "phone"]

    def clean(self):
        cleaned = super().clean()
        if "role" in cleaned:
            try:
                services.team_rule_check(role=cleaned["role"], team=cleaned.get("team"))
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned

    def clean_password(self):
        password = self.cleaned_data.get("password")
        if password:
            validate_password(password, self.instance)
        return password


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["full_name", "email_primary", "role", "team", "status", "last_login"]
    list_filter = ["role", "status", "team"]
    search_fields = ["full_name", "email_primary", "id_number"]
    show_full_result_count = False
    # Role, status and team change through the portal's user page, which audits every change.
    readonly_fields = ["role", "status", "team", "last_login", "date_joined", "is_superuser", "token_version"]
    exclude = ["password", "groups", "user_permissions"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = UserCreationForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_exclude(self, request, obj=None):
        return None if obj is None else self.exclude

    def get_fields(self, request, obj=None):
        if obj is None:
            return [*UserCreationForm._meta.fields, "password"]
        return super().get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = services.user_create(
            actor=request.user,
            email_primary=data["email_primary"],
            full_name=data["full_name"],
            id_type=data["id_type"],
            id_number=data["id_number"],
            role=data["role"],
            team=data["team"],
            password=data["password"] or None,
            phone=data["phone"],
        )
        obj.pk = created.pk
        obj._state.adding = False

    def has_delete_permission(self, request, obj=None):
        # Users are suspended, never deleted: their audit trail must keep pointing at them.
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "supervisor", "created_at"]
    search_fields = ["name"]
