from django import forms
from django.utils.translation import gettext_lazy as _

from .models import DifferenceKind


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Why: what you checked in the core, or why this message is not needed. Kept in the audit log."),
    )


class DifferenceFilterForm(forms.Form):
    run = forms.IntegerField(required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(
        label=_("Difference"), required=False, choices=[("", _("Every difference")), *DifferenceKind.choices]
    )
