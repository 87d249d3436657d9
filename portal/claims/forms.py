from decimal import Decimal
from functools import cached_property

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.core.forms import date_input
from portal.core.money import format_money
from portal.policies.forms import PK
from portal.policies.selectors import policies_visible_to, version_in_force_on

from . import documents, workflow
from .selectors import active_rejection_reasons
from .services import coverage_remaining

AMOUNT_INPUT = {"step": "0.01"}
CENT = Decimal("0.01")


def is_pk(value):
    """A database id as a browser sends it: ASCII digits only."""
    return PK.fullmatch(str(value or "")) is not None


def parsed_date(value):
    try:
        return forms.DateField().clean(value)
    except ValidationError:
        return None


class ClaimIdsField(forms.Field):
    """The claim ids ticked in the work queue. They are only offered: the view looks them up in the user's scope."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        return sorted({int(pk) for pk in value or () if is_pk(pk)})


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True

    def __init__(self, attrs=None):
        # A hint for the browser's file picker; the server still checks every file by its content.
        accepted = sorted(
            {*documents.ALLOWED_TYPES, *(s for suffixes in documents.ALLOWED_TYPES.values() for s in suffixes)}
        )
        super().__init__({"accept": ",".join(accepted), **(attrs or {})})


class DocumentsField(forms.FileField):
    """Several files from one input; each is checked by its content (documents.checked_upload)."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = [upload for upload in (data if isinstance(data, list | tuple) else [data]) if upload]
        if not files and self.required:
            raise ValidationError(self.error_messages["required"], code="required")
        errors = []
        for upload in files:
            super().clean(upload, initial)
            try:
                documents.checked_upload(upload)
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return files


class DocumentUploadForm(forms.Form):
    files = DocumentsField(
        label=_("Photos or PDF documents"),
        help_text=_("JPEG, PNG, WebP, HEIC or PDF; several at once if you like."),
    )


class ClaimFileForm(forms.Form):
    policy = forms.CharField(label=_("Policy number"), max_length=30)
    loss_date = forms.DateField(label=_("Date of loss"), widget=date_input())
    coverage_code = forms.ChoiceField(label=_("Coverage"))
    claimed_amount = forms.DecimalField(
        label=_("Amount claimed"),
        max_digits=16,
        decimal_places=2,
        min_value=CENT,
        widget=forms.NumberInput(attrs=AMOUNT_INPUT),
    )
    description = forms.CharField(label=_("What happened"), widget=forms.Textarea(attrs={"rows": 4}))
    documents = DocumentsField(
        label=_("Photos or PDF documents"),
        required=False,
        help_text=_("Optional: JPEG, PNG, WebP, HEIC or PDF. You can add more later from the claim's page."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.initial.setdefault("loss_date", timezone.localdate())
        self.fields["coverage_code"].choices = self.coverage_choices()

    @classmethod
    def initial_for(cls, *, user, policy_pk):
        """A new claim on the policy asked for, when it is in the user's book."""
        if not is_pk(policy_pk):
            return {}
        policy = policies_visible_to(user).filter(pk=policy_pk).first()
        return {"policy": policy.number} if policy else {}

    def _value(self, name):
        return self.data.get(name) if self.is_bound else self.initial.get(name)

    @cached_property
    def selected_policy(self):
        number = (self._value("policy") or "").strip().upper()
        if not number:
            return None
        return policies_visible_to(self.user).filter(number=number).first()

    @cached_property
    def loss_day(self):
        return parsed_date(self._value("loss_date"))

    @cached_property
    def version_in_force(self):
        """The version covering the date of loss typed so far, or None (no policy, no date or no cover)."""
        if self.selected_policy is None or self.loss_day is None:
            return None
        return version_in_force_on(self.selected_policy, self.loss_day)

    @cached_property
    def selected_version(self):
        """The version whose coverages are offered: the one in force on the date of loss, else the current one."""
        if self.selected_policy is None:
            return None
        return self.version_in_force or self.selected_policy.current_version

    def coverage_choices(self):
        policy, version = self.selected_policy, self.selected_version
        if version is None:
            return [("", _("Enter the policy number first"))]
        choices = [("", "---------")]
        for line in version.coverages:
            remaining = coverage_remaining(claim_policy=policy, version=version, coverage_code=line["code"])
            label = _("%(name)s · %(remaining)s of %(limit)s left") % {
                "name": line["name"],
                "remaining": format_money(max(remaining, Decimal("0")), version.currency),
                "limit": format_money(line["limit"], version.currency),
            }
            choices.append((line["code"], label))
        return choices

    def clean_policy(self):
        policy = self.selected_policy
        if policy is None:
            raise ValidationError(_("No policy with that number is in your book."))
        return policy


class TransitionForm(forms.Form):
    """The inputs one state-machine move needs: a note, an amount, a reason (the services check them again)."""

    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    approved_amount = forms.DecimalField(
        label=_("Amount approved"),
        max_digits=16,
        decimal_places=2,
        min_value=CENT,
        widget=forms.NumberInput(attrs=AMOUNT_INPUT),
    )
    rejection_reason = forms.ModelChoiceField(label=_("Reason"), queryset=None)

    def __init__(self, *args, transition, claim, **kwargs):
        kwargs.setdefault("initial", {"approved_amount": claim.claimed_amount})
        super().__init__(*args, **kwargs)
        self.transition = transition
        self.fields["note"].required = transition.needs_note
        if transition.needs_amount:
            self.fields["approved_amount"].label = _("Amount approved (%(currency)s)") % {"currency": claim.currency}
        else:
            del self.fields["approved_amount"]
        if transition.needs_reason:
            self.fields["rejection_reason"].queryset = active_rejection_reasons()
        else:
            del self.fields["rejection_reason"]

    def service_inputs(self):
        data = self.cleaned_data
        return {
            "note": data.get("note", ""),
            "amount": data.get("approved_amount"),
            "rejection_reason": data.get("rejection_reason"),
        }


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"))
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)
    rejection_reason = forms.ModelChoiceField(label=_("Rejection reason"), queryset=None, required=False)
    claim = ClaimIdsField(required=False)
    every_match = forms.BooleanField(label=_("All claims matching the filter"), required=False)
    # The work queue's query string the "all matching" choice was made on.
    query = forms.CharField(required=False, widget=forms.HiddenInput)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "---------"), *bulk_action_choices(user)]
        # The bulk bar sits above the queue's table in one line of small controls.
        self.fields["action"].widget.attrs["class"] = "form-select form-select-sm"
        self.fields["rejection_reason"].widget.attrs["class"] = "form-select form-select-sm"
        self.fields["note"].widget.attrs["class"] = "form-control form-control-sm"
        self.fields["rejection_reason"].queryset = active_rejection_reasons()

    def clean(self):
        data = super().clean()
        if not data.get("every_match") and not data.get("claim"):
            raise ValidationError(_("Select at least one claim, or choose all claims matching the filter."))
        return data


def bulk_action_choices(user):
    """The bulk moves the user's role may make (whether each claim allows it is decided claim by claim)."""
    if not user.has_perm("claims.change_claim"):
        return []
    return [
        (action, workflow.TRANSITIONS[action].label)
        for action in workflow.BULK_ACTIONS
        if user.role in workflow.TRANSITIONS[action].roles
    ]
