from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from modeltranslation.admin import TranslationAdmin

from portal.accounts.models import Role
from portal.audit.services import audit_record
from portal.core.admin import ReadOnlyAdmin
from portal.core.money import round_money

from .models import ApprovalAuthority, Claim, ClaimDocument, ClaimTransition, RejectionReason
from .workflow import TRANSITIONS


def _changes(form):
    """What an admin form changed, as {field: [before, after]} for the audit event."""
    return {
        name: [_plain(form.initial.get(name)), _plain(form.cleaned_data.get(name))]
        for name in form.changed_data
        if name in form.cleaned_data
    }


def _plain(value):
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "pk"):
        return value.pk
    return str(value)


@admin.register(RejectionReason)
class RejectionReasonAdmin(TranslationAdmin):
    """The list supervisors pick from when they reject a claim, in Spanish and English; taken off the
    list, never deleted."""

    list_display = ["code", "label", "is_active", "position"]
    list_editable = ["is_active", "position"]
    list_filter = ["is_active"]
    search_fields = ["code", "label"]

    def get_readonly_fields(self, request, obj=None):
        # Rejected claims and their audit events name the reason by its code.
        return ["code"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        # The admin saves inside its own transaction (the change form and the list's edits alike),
        # so the audit event commits or rolls back with the change.
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user,
                action="claim.rejection_reason_changed" if change else "claim.rejection_reason_created",
                target=obj,
                metadata={
                    "code": obj.code,
                    # Both texts: the active language's alone would depend on who saved it.
                    "label_es_co": obj.label_es_co,
                    "label_en": obj.label_en,
                    "in_use": obj.is_active,
                    "position": obj.position,
                    "changes": _changes(form) if change else {},
                },
            )

    def has_delete_permission(self, request, obj=None):
        # Rejected claims keep pointing at their reason; take it off the list instead.
        return False


class ApprovalAuthorityForm(forms.ModelForm):
    class Meta:
        model = ApprovalAuthority
        fields = ["user", "currency", "limit"]

    def clean_user(self):
        user = self.cleaned_data["user"]
        if user.role != Role.SUPERVISOR:
            raise ValidationError(
                _("Only supervisors approve claims up to a limit; administrators approve any amount and others none.")
            )
        return user

    def clean_limit(self):
        limit = self.cleaned_data["limit"]
        if limit < 0:
            raise ValidationError(_("The limit cannot be negative; delete the row to take the authority away."))
        return round_money(limit)


@admin.register(ApprovalAuthority)
class ApprovalAuthorityAdmin(admin.ModelAdmin):
    """How much each supervisor may approve on one claim, per currency; no row means no authority."""

    form = ApprovalAuthorityForm
    list_display = ["user", "currency", "limit"]
    list_filter = ["currency"]
    search_fields = ["user__full_name", "user__email_primary"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user,
                action="claim.approval_limit_changed" if change else "claim.approval_limit_granted",
                target=obj.user,
                metadata={
                    "currency": obj.currency,
                    "limit": str(obj.limit),
                    "changes": _changes(form) if change else {},
                },
            )

    def delete_model(self, request, obj):
        with transaction.atomic():
            self._audit_removal(request, obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for authority in queryset.select_related("user"):
                self._audit_removal(request, authority)
            super().delete_queryset(request, queryset)

    @staticmethod
    def _audit_removal(request, authority):
        audit_record(
            actor=request.user,
            action="claim.approval_limit_removed",
            target=authority.user,
            metadata={"currency": authority.currency, "limit": str(authority.limit)},
        )


class ClaimTransitionInline(admin.TabularInline):
    model = ClaimTransition
    extra = 0
    fields = ["created_at", "action", "from_status", "to_status", "actor", "amount", "rejection_reason", "note"]
    readonly_fields = fields
    ordering = ["created_at", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "rejection_reason")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    """Read-only: claims move only through the portal's services, which check and audit every move.

    Otherwise Django's stock changelist (its counts included): the claims benchmark compares the
    portal's work queue with it.
    """

    list_display = [
        "number",
        "status",
        "customer",
        "policy",
        "currency",
        "claimed_amount",
        "approved_amount",
        "created_at",
    ]
    list_filter = ["status", "policy__product"]
    # A prefix of the number, as people type it, reads the number's pattern index.
    search_fields = ["number__startswith"]
    list_select_related = ["customer", "policy"]
    inlines = [ClaimTransitionInline]


class TransitionActionFilter(admin.SimpleListFilter):
    # The moves the workflow knows, instead of a DISTINCT over every transition ever recorded.
    title = _("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return [
            ("file", pgettext_lazy("claim timeline", "Filed")),
            *((t.action, t.label) for t in TRANSITIONS.values()),
        ]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(ClaimTransition)
class ClaimTransitionAdmin(ReadOnlyAdmin):
    list_display = ["claim", "action", "from_status", "to_status", "actor", "created_at"]
    list_filter = [TransitionActionFilter, "to_status"]
    search_fields = ["claim__number__startswith"]
    list_select_related = ["claim", "actor"]
    # Newest first along the primary key: the model's order (by claim) sorts millions of rows.
    ordering = ["-id"]
    show_full_result_count = False


@admin.register(ClaimDocument)
class ClaimDocumentAdmin(ReadOnlyAdmin):
    """The files themselves are served only by the portal's permission-checked view."""

    list_display = ["original_name", "claim", "content_type", "size", "uploaded_by", "uploaded_at"]
    list_filter = ["content_type"]
    search_fields = ["claim__number__startswith", "original_name", "sha256"]
    list_select_related = ["claim", "uploaded_by"]
    show_full_result_count = False
