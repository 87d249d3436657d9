from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .fields import FIELDS, Kind
from .models import MappingProfile, Source
from .services import period_from_text


def too_large_to_upload(size, *, allowance=0):
    """Why a bordereau of `size` bytes (of which `allowance` may be other than the file) is not taken
    through the portal, or None."""
    if size <= settings.AMPARO_BORDEREAU_MAX_BYTES + allowance:
        return None
    return gettext(
        "This file is %(size)s; bordereaux up to %(max)s can be uploaded here. Split it by period, or ask an "
        "administrator to import it on the server."
    ) % {"size": filesizeformat(size), "max": filesizeformat(settings.AMPARO_BORDEREAU_MAX_BYTES)}


class UploadForm(forms.Form):
    source = forms.ModelChoiceField(label=_("Source"), queryset=Source.objects.all(), required=False)
    new_source = forms.CharField(
        label=_("…or a new source"), max_length=120, required=False, help_text=_("The cedant or coverholder name.")
    )
    kind = forms.ChoiceField(label=_("Bordereau"), choices=Kind.CHOICES, initial=Kind.RISK)
    period = forms.CharField(
        label=_("Period"),
        widget=forms.DateInput(attrs={"type": "month"}),
        help_text=_("The month the bordereau reports on."),
    )
    file = forms.FileField(
        label=_("File (CSV or XLSX)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,.xlsm"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].initial = timezone.localdate().strftime("%Y-%m")
        self.max_bytes = settings.AMPARO_BORDEREAU_MAX_BYTES
        self.fields["file"].help_text = _("Up to %(max)s.") % {"max": filesizeformat(self.max_bytes)}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if refusal := too_large_to_upload(upload.size):
            raise ValidationError(refusal)
        return upload

    def clean_period(self):
        try:
            return period_from_text(self.cleaned_data["period"])
        except ValidationError as error:
            raise ValidationError(error.message_dict["period"]) from error

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("source") and not (cleaned.get("new_source") or "").strip():
            self.add_error("source", _("Choose a source or name a new one."))
        return cleaned


class MappingForm(forms.Form):
    """One choice per field: which column of the file feeds it."""

    def __init__(self, *args, kind, headers, initial_map, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + [(header, header) for header in headers if header]
        for spec in FIELDS[kind]:
            self.fields[spec.name] = forms.ChoiceField(
                label=spec.label, choices=choices, required=False, initial=initial_map.get(spec.name, "")
            )
            if spec.required:
                self.fields[spec.name].label = f"{spec.label} *"

    def column_map(self):
        return dict(self.cleaned_data)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = MappingProfile
        fields = ["encoding", "delimiter", "date_format", "decimal_style", "header_row", "all_or_nothing"]
