from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.core.forms import date_input
from portal.customers.selectors import customers_visible_to

from .models import PaymentMethod
from .selectors import Issue
from .services import PSE_COMPANY, PSE_DESCRIPTION_MAX, PSE_LEGAL_ID_TYPES, PSE_PERSON

DEFAULT_DAYS = 7
MAX_DAYS = 366
DEFAULT_PENDING_HOURS = 2


class ReconciliationForm(forms.Form):
    date_from = forms.DateField(label=_("Started from"), widget=date_input())
    date_to = forms.DateField(label=_("to"), widget=date_input())
    pending_hours = forms.IntegerField(
        label=_("Pending for more than (hours)"), min_value=1, max_value=24 * 30, initial=DEFAULT_PENDING_HOURS
    )
    issue = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[("", _("Every online payment")), ("any", _("Only those with a problem")), *Issue.CHOICES],
    )

    @classmethod
    def for_request(cls, query):
        """The form for `query` (request.GET), filled with the last week when it is empty."""
        today = timezone.localdate()
        defaults = {
            "date_from": (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
            "date_to": today.isoformat(),
            "pending_hours": DEFAULT_PENDING_HOURS,
            "issue": "",
        }
        data = {name: query.get(name) or value for name, value in defaults.items()}
        return cls(data)

    def clean(self):
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to:
            if date_from > date_to:
                raise ValidationError(_("The first day comes after the last one."))
            if (date_to - date_from).days >= MAX_DAYS:
                raise ValidationError(_("Reconcile at most a year at a time."))
        return data


class OnlinePaymentForm(forms.Form):
    """A Nequi or PSE payment a staff member starts for a customer (cards need Wompi's widget)."""

    METHODS = [(PaymentMethod.NEQUI, PaymentMethod.NEQUI.label), (PaymentMethod.PSE, PaymentMethod.PSE.label)]
    NEQUI_FIELDS = ("phone_number",)
    PSE_FIELDS = (
        "user_type",
        "user_legal_id_type",
        "user_legal_id",
        "financial_institution_code",
        "payment_description",
    )

    customer = forms.ModelChoiceField(label=_("Customer"), queryset=None)
    amount = forms.DecimalField(
        label=_("Amount (COP)"),
        max_digits=14,
        decimal_places=2,
        min_value=1,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    method = forms.ChoiceField(label=_("Pay with"), choices=METHODS)
    phone_number = forms.CharField(
        label=_("Nequi mobile number"), max_length=13, required=False, help_text=_("Ten digits, e.g. 3001234567.")
    )
    user_type = forms.TypedChoiceField(
        label=_("The payer is"),
        choices=[(PSE_PERSON, _("A person")), (PSE_COMPANY, _("A company"))],
        coerce=int,
        required=False,
    )
    user_legal_id_type = forms.ChoiceField(
        label=_("Payer's ID type"), choices=[(code, code) for code in PSE_LEGAL_ID_TYPES], required=False
    )
    user_legal_id = forms.CharField(label=_("Payer's ID number"), max_length=20, required=False)
    financial_institution_code = forms.ChoiceField(label=_("Payer's bank"), choices=(), required=False)
    payment_description = forms.CharField(
        label=_("Description the bank shows"), max_length=PSE_DESCRIPTION_MAX, required=False
    )

    def __init__(self, *args, user, banks=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers_visible_to(user)
        self.banks = dict(banks)
        self.fields["financial_institution_code"].choices = [("", _("Choose the bank")), *banks]

    @property
    def chosen_method(self):
        value = self.data.get("method") if self.is_bound else self.initial.get("method")
        return value if value in PaymentMethod.values else PaymentMethod.NEQUI

    def method_details(self):
        """The chosen method's fields, as `online_payment_start` takes them."""
        data = self.cleaned_data
        if data["method"] == PaymentMethod.NEQUI:
            return {"phone_number": data["phone_number"]}
        details = {name: data[name] for name in self.PSE_FIELDS}
        details["financial_institution_name"] = self.banks.get(data["financial_institution_code"], "")
        return details
