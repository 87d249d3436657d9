from django import forms
from django.utils.translation import gettext_lazy as _

from portal.policies.models import Policy

from .models import LoanProduct


class LoanApplyForm(forms.Form):
    """What an agent enters for a customer; the service checks the bounds and the product's rules."""

    product = forms.ModelChoiceField(label=_("Loan product"), queryset=LoanProduct.objects.none())
    policy = forms.ModelChoiceField(label=_("Against policy"), queryset=Policy.objects.none(), required=False)
    amount = forms.DecimalField(label=_("Amount"), max_digits=16, decimal_places=2, min_value=0)
    tenure_months = forms.IntegerField(label=_("Tenure (months)"), min_value=1, max_value=360)

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = LoanProduct.objects.filter(is_active=True).order_by("name")
        self.fields["policy"].queryset = Policy.objects.filter(customer=customer, status=Policy.Status.ACTIVE)


class LoanDocumentForm(forms.Form):
    file = forms.FileField(label=_("Identity or income document (PDF or photo)"))
