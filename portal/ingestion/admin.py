import yaml
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.core.forms import add_service_errors

from .models import ImportJob, MappingProfile, Source, SourceClient, SourceConnection, SyncRun
from .sources.credentials import portal_secret_env_check
from .sources.probe import connection_probe
from .sources.services import source_connection_check, source_connection_load, sync_run_cancel, sync_run_start
from .sources.spec import spec_parse


class NeverDeleted(admin.ModelAdmin):
    """Sources and jobs are referenced by millions of bordereau rows: they are kept, not deleted."""

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Source)
class SourceAdmin(NeverDeleted):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


@admin.register(SourceClient)
class SourceClientAdmin(admin.ModelAdmin):
    """Clients are created by `manage.py ingestion_source_client NAME`, the one place their secret is
    shown; here administrators see them and change their scopes (revoke one by deleting its
    application under Django OAuth Toolkit)."""

    list_display = ["source", "application", "scopes", "created_at"]
    readonly_fields = ["source", "application", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(MappingProfile)
class MappingProfileAdmin(admin.ModelAdmin):
    list_display = ["source", "kind", "encoding", "delimiter", "date_format", "decimal_style", "all_or_nothing"]
    list_filter = ["kind", "all_or_nothing"]


@admin.register(ImportJob)
class ImportJobAdmin(NeverDeleted):
    list_display = ["id", "source", "kind", "period", "original_name", "status", "rows_loaded", "rows_rejected"]
    list_filter = ["status", "kind"]
    readonly_fields = [field.name for field in ImportJob._meta.fields]

    def has_add_permission(self, request):
        return False


class SourceConnectionForm(forms.ModelForm):
    """The spec as YAML (the shape `ingestion_source_load` reads); the secret is write-only."""

    spec_text = forms.CharField(
        label=_("Connection spec (YAML or JSON)"),
        widget=forms.Textarea(attrs={"rows": 30, "cols": 100, "style": "font-family: monospace"}),
    )
    secret = forms.CharField(
        label=_("Secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Kept encrypted and never shown again; leave empty to keep the current one."),
    )

    class Meta:
        model = SourceConnection
        fields = ["enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["spec_text"].initial = yaml.safe_dump(self.instance.spec, sort_keys=False, allow_unicode=True)

    def clean_spec_text(self):
        spec = spec_parse(self.cleaned_data["spec_text"])
        portal_secret_env_check(spec, connection=self.instance if self.instance.pk else None)
        return spec

    def clean(self):
        cleaned = super().clean()
        if "spec_text" in cleaned:
            try:
                source_connection_check(
                    spec=cleaned["spec_text"],
                    secret=cleaned.get("secret"),
                    connection=self.instance if self.instance.pk else None,
                    create_only=not self.instance.pk,
                )
            except ValidationError as error:
                add_service_errors(self, error)
        return cleaned


@admin.register(SourceConnection)
class SourceConnectionAdmin(admin.ModelAdmin):
    form = SourceConnectionForm
    list_display = ["source", "kind", "schedule", "enabled", "cursor_value", "updated_at"]
    list_filter = ["enabled"]
    readonly_fields = ["source", "schedule", "cursor_value"]
    actions = ["test_connection", "pull_now"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = source_connection_load(
            actor=request.user,
            spec=form.cleaned_data["spec_text"],
            secret=form.cleaned_data.get("secret") or None,
            enabled=form.cleaned_data["enabled"],
        )
        obj.pk, obj.source_id = saved.pk, saved.source_id
        obj.refresh_from_db()

    @admin.action(description=_("Test connection"))
    def test_connection(self, request, queryset):
        for connection in queryset:
            ok, message = connection_probe(connection)
            self.message_user(request, f"{connection}: {message}", messages.SUCCESS if ok else messages.ERROR)

    @admin.action(description=_("Pull now"))
    def pull_now(self, request, queryset):
        for connection in queryset:
            try:
                run = sync_run_start(actor=request.user, connection=connection)
            except ValidationError as error:
                self.message_user(request, f"{connection}: {' '.join(error.messages)}", messages.ERROR)
            else:
                queued = _("%(source)s: pull #%(run)d queued.") % {"source": connection, "run": run.pk}
                self.message_user(request, queued)


@admin.register(SyncRun)
class SyncRunAdmin(NeverDeleted):
    list_display = [
        "id",
        "connection",
        "status",
        "pages",
        "records",
        "rows_loaded",
        "rows_rejected",
        "retries",
        "throttled",
        "breaker_trips",
        "cursor_before",
        "cursor_after",
        "seconds",
        "created_at",
    ]
    list_filter = ["status"]
    readonly_fields = [field.name for field in SyncRun._meta.fields]
    actions = ["cancel"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Cancel"))
    def cancel(self, request, queryset):
        for run in queryset:
            try:
                sync_run_cancel(actor=request.user, run=run)
            except ValidationError as error:
                self.message_user(request, f"#{run.pk}: {' '.join(error.messages)}", messages.ERROR)
