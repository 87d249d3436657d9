from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.core.forms import date_input
from portal.core.money import CENT

from .models import Payment

# A statement covers at most this many days: longer ones are downloaded year by year.
MAX_STATEMENT_DAYS = 5 * 366


class PaymentRecordForm(forms.Form):
    method = forms.ChoiceField(
        label=_("Paid by"),
        choices=[(method, label) for method, label in Payment.Method.choices if method in Payment.MANUAL_METHODS],
    )
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=16,
        decimal_places=2,
        min_value=CENT,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    reference = forms.CharField(
        label=_("Reference"),
        max_length=64,
        help_text=_("The receipt-book number for cash, or the bank's reference for a transfer."),
    )
    received_on = forms.DateField(label=_("Received on"), widget=date_input())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["received_on"].initial = timezone.localdate()


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)


class PayoutPrepareForm(forms.Form):
    payee_account = forms.CharField(
        label=_("Pay to"),
        max_length=120,
        help_text=_("Bank, account type and number of the customer's account, e.g. Bancolombia ahorros 123-456789-01."),
    )


class StatementPeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=date_input())
    end = forms.DateField(label=_("To"), widget=date_input())

    @staticmethod
    def default_period(today=None):
        """The last three months up to today."""
        today = today or timezone.localdate()
        return {"start": (today - timedelta(days=90)).replace(day=1), "end": today}

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The period starts after it ends; swap the dates."))
            if (end - start).days > MAX_STATEMENT_DAYS:
                raise forms.ValidationError(_("A statement covers at most five years; choose a shorter period."))
        return data

    def period(self):
        """(start, end) from valid input, else the default period (the page still shows a statement)."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data["start"], self.cleaned_data["end"]
        default = self.default_period()
        return default["start"], default["end"]
