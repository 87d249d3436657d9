import re
from functools import cached_property

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.core.forms import date_input
from portal.customers.selectors import customers_visible_to

from .models import PaymentFrequency
from .selectors import products_on_sale

PK = re.compile(r"[0-9]{1,18}")
RENEWAL_WINDOWS = [(7, _("7 days")), (30, _("30 days")), (60, _("60 days")), (90, _("90 days"))]
DEFAULT_RENEWAL_WINDOW = 30


class CoverageChoiceField(forms.MultipleChoiceField):
    """The chosen coverage codes. A code the product does not have is left to the rating, which names it."""

    widget = forms.CheckboxSelectMultiple

    def valid_value(self, value):
        return True


class CoverageInputsMixin:
    """Checkbox rows for a product's coverages: mandatory ones always checked (and disabled)."""

    def coverage_rows(self):
        product = self.selected_product
        if product is None:
            return []
        if self.is_bound:
            chosen = set(self.data.getlist("coverage_codes"))
        else:
            chosen = set(self.initial.get("coverage_codes") or ())
        return [
            {"coverage": coverage, "checked": coverage.is_mandatory or coverage.code in chosen}
            for coverage in product.coverages.all()
        ]


class QuoteForm(CoverageInputsMixin, forms.Form):
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=None)
    product = forms.ModelChoiceField(label=_("Product"), queryset=None)
    start_date = forms.DateField(label=_("Cover starts"), widget=date_input())
    sum_insured = forms.DecimalField(
        label=_("Sum insured"), max_digits=16, decimal_places=2, widget=forms.NumberInput(attrs={"step": "0.01"})
    )
    coverage_codes = CoverageChoiceField(label=_("Coverages"), required=False)
    insured_age = forms.IntegerField(label=_("Insured's age"), required=False, min_value=0, max_value=130)
    payment_frequency = forms.TypedChoiceField(
        label=_("Premium paid"),
        choices=PaymentFrequency.choices,
        initial=PaymentFrequency.ANNUAL,
        required=False,
        empty_value=PaymentFrequency.ANNUAL,
    )
    # "<product pk>:<customer pk>" the coverages and the age on screen were prepared for.
    inputs_for = forms.CharField(widget=forms.HiddenInput, required=False)

    PRICING_FIELDS = ("product", "sum_insured", "coverage_codes", "insured_age")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers_visible_to(user)
        self.fields["product"].queryset = products_on_sale()
        self.fields["start_date"].initial = timezone.localdate()

    @classmethod
    def initial_for(cls, *, user, customer_pk=None):
        """A new quote: today's start and, when it is in the user's book, the customer asked for."""
        initial = {"inputs_for": ":"}
        customer = customers_visible_to(user).filter(pk=customer_pk).first() if _is_pk(customer_pk) else None
        if customer is not None:
            initial["customer"] = customer
            initial["inputs_for"] = f":{customer.pk}"
        return initial

    @classmethod
    def refreshed_data(cls, data, *, user):
        """The posted inputs, with the coverages and age reset when the product or customer changed.

        A new product starts with all its coverages chosen; a new customer brings the age from
        their birth date. Returns (data, refreshed).
        """
        product_pk, customer_pk = data.get("product", ""), data.get("customer", "")
        marker = f"{product_pk}:{customer_pk}"
        previous = data.get("inputs_for", "")
        if previous == marker:
            return data, False
        data = data.copy()
        data["inputs_for"] = marker
        product = products_on_sale().filter(pk=product_pk).first() if _is_pk(product_pk) else None
        if product is not None and previous.partition(":")[0] != product_pk:
            data.setlist("coverage_codes", [coverage.code for coverage in product.coverages.all()])
        customer = customers_visible_to(user).filter(pk=customer_pk).first() if _is_pk(customer_pk) else None
        if product is not None and product.requires_age and customer is not None:
            start = _parse_date(data.get("start_date")) or timezone.localdate()
            age = customer.age_on(start)
            data["insured_age"] = "" if age is None else str(age)
        return data, True

    @cached_property
    def selected_product(self):
        """The product whose coverages the form shows (with them prefetched), before any validation."""
        value = self.data.get("product") if self.is_bound else self.initial.get("product")
        value = getattr(value, "pk", value)
        return products_on_sale().filter(pk=value).first() if _is_pk(value) else None

    def asks_age(self):
        return self.selected_product is not None and self.selected_product.requires_age

    def is_ready_to_price(self):
        return bool(self.data.get("product")) and bool(str(self.data.get("sum_insured", "")).strip())

    def pricing_errors(self):
        """The form's errors on the inputs that decide the price (the rest do not stop a preview)."""
        return {name: errors for name, errors in self.errors.items() if name in self.PRICING_FIELDS}


class EndorseForm(CoverageInputsMixin, forms.Form):
    effective_date = forms.DateField(label=_("Takes effect on"), widget=date_input())
    sum_insured = forms.DecimalField(
        label=_("Sum insured"), max_digits=16, decimal_places=2, widget=forms.NumberInput(attrs={"step": "0.01"})
    )
    coverage_codes = CoverageChoiceField(label=_("Coverages"), required=False)
    insured_age = forms.IntegerField(label=_("Insured's age"), required=False, min_value=0, max_value=130)
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)

    def __init__(self, *args, policy, **kwargs):
        current = policy.current_version
        kwargs.setdefault(
            "initial",
            {
                "effective_date": max(timezone.localdate(), current.effective_date),
                "sum_insured": current.sum_insured,
                "coverage_codes": [line["code"] for line in current.coverages],
                "insured_age": current.insured_age,
            },
        )
        super().__init__(*args, **kwargs)
        self.policy = policy
        if not policy.product.requires_age:
            del self.fields["insured_age"]

    @property
    def selected_product(self):
        return self.policy.product

    def asks_age(self):
        return "insured_age" in self.fields

    def change_inputs(self):
        data = self.cleaned_data
        return {
            "effective_date": data["effective_date"],
            "sum_insured": data["sum_insured"],
            "coverage_codes": data["coverage_codes"],
            "insured_age": data.get("insured_age"),
        }


class CancelForm(forms.Form):
    effective_date = forms.DateField(label=_("Cancel from"), widget=date_input())
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)

    def __init__(self, *args, policy, **kwargs):
        kwargs.setdefault(
            "initial", {"effective_date": max(timezone.localdate(), policy.current_version.effective_date)}
        )
        super().__init__(*args, **kwargs)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)


class RenewalWindowForm(forms.Form):
    days = forms.TypedChoiceField(
        label=_("Cover ending within"), choices=RENEWAL_WINDOWS, coerce=int, initial=DEFAULT_RENEWAL_WINDOW
    )

    def days_chosen(self):
        return self.cleaned_data["days"] if self.is_valid() else DEFAULT_RENEWAL_WINDOW


def _is_pk(value):
    """A database id as a browser sends it: ASCII digits only (str.isdigit also accepts '²' and Arabic digits)."""
    return PK.fullmatch(str(value or "")) is not None


def _parse_date(value):
    try:
        return forms.DateField().clean(value)
    except forms.ValidationError:
        return None
