from django import forms
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import IdType, Role, User

from .models import Customer
from .selectors import assignable_agents
from .services import EDITABLE_FIELDS

# Leaving one of these fields asks the server whether the customer is already registered.
DUPLICATE_HINT_FIELDS = ("id_type", "id_number", "email_primary")


def _model_field(name, **kwargs):
    return Customer._meta.get_field(name).formfield(**kwargs)


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, agent):
        return f"{agent.full_name} · {agent.team.name}" if agent.team else agent.full_name


class CustomerForm(forms.Form):
    """The customer's profile and agent; the service decides whether they may be saved."""

    full_name = _model_field("full_name")
    id_type = _model_field("id_type")
    id_number = _model_field("id_number")
    email_primary = _model_field("email_primary")
    email_secondary = _model_field("email_secondary")
    phone = _model_field("phone")
    address = _model_field("address")
    city = _model_field("city")
    birth_date = _model_field("birth_date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    agent = AgentChoiceField(label=_("Agent"), queryset=User.objects.none())

    def __init__(self, *args, user, duplicate_check_url, customer=None, **kwargs):
        if customer is not None:
            kwargs.setdefault("initial", {name: getattr(customer, name) for name in EDITABLE_FIELDS})
        super().__init__(*args, **kwargs)
        agent_field = self.fields["agent"]
        agent_field.queryset = assignable_agents(user).order_by("full_name")
        if user.role == Role.AGENT:
            # An agent's customers are always in their own book: show the agent, but read-only.
            agent_field.disabled = True
            agent_field.initial = user
            agent_field.help_text = _("Your customers are in your own book.")
        self._wire_duplicate_hint(duplicate_check_url, exclude=customer.pk if customer else "")

    def _wire_duplicate_hint(self, url, *, exclude):
        for name in DUPLICATE_HINT_FIELDS:
            self.fields[name].widget.attrs.update(
                {
                    # POST: ID numbers and emails must not travel in URLs, which access logs keep.
                    "hx-post": url,
                    "hx-trigger": "change",
                    "hx-target": "#duplicate-hint",
                    "hx-swap": "innerHTML",
                    "hx-include": "#id_id_type, #id_id_number",
                    "hx-vals": f'js:{{email: document.getElementById("id_email_primary").value, exclude: "{exclude}"}}',
                }
            )

    def service_arguments(self):
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS}


class DuplicateCheckForm(forms.Form):
    id_type = forms.ChoiceField(choices=IdType.choices, required=False)
    id_number = forms.CharField(max_length=30, required=False)
    email = forms.CharField(max_length=254, required=False)
    exclude = forms.IntegerField(required=False, min_value=1)
