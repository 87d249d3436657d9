import yaml
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
from .sources.credentials import portal_secret_env_check
from .sources.spec import spec_parse


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


class SourceSpecForm(forms.Form):
    """A web-service source's connection spec as YAML (the shape `ingestion_source_load` reads), checked
    against the shipped JSON Schema; the secret is write-only: never put back into the page."""

    spec_text = forms.CharField(
        label=_("Connection spec (YAML or JSON)"),
        widget=forms.Textarea(attrs={"rows": 24, "class": "font-monospace", "spellcheck": "false"}),
    )
    secret = forms.CharField(
        label=_("Secret"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Kept encrypted and never shown again; leave empty to keep the current one."),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, *args, connection=None, **kwargs):
        self.connection = connection
        super().__init__(*args, **kwargs)
        if connection is not None:
            self.fields["spec_text"].initial = yaml.safe_dump(connection.spec, sort_keys=False, allow_unicode=True)
            self.fields["enabled"].initial = connection.enabled

    def clean_spec_text(self):
        spec = spec_parse(self.cleaned_data["spec_text"])
        if self.connection is not None and " ".join(spec["name"].split()).casefold() != (
            self.connection.source.name.casefold()
        ):
            raise ValidationError(
                _("name: this page edits %(source)s; a spec with another name is a new source.")
                % {"source": self.connection.source.name}
            )
        portal_secret_env_check(spec, connection=self.connection)
        return spec
