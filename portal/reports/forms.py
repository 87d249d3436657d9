"""The form that asks for a report's parameters, built from its definition; the service validates."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .catalogue import DATE, DEFAULTS, INT
from .models import ReportFormat
from .sources import book_owners_in_scope


def agent_choices(user):
    agents = book_owners_in_scope(user).filter(customers__isnull=False).distinct()
    return [("", _("Every agent in my scope"))] + [
        (str(agent.pk), agent.full_name) for agent in agents.order_by("full_name")
    ]


def report_form(report, user, *, data=None, today):
    fields = {"format": forms.ChoiceField(label=_("Format"), choices=ReportFormat.choices, initial=ReportFormat.XLSX)}
    for param in report.params:
        if param.kind == DATE:
            default = DEFAULTS[param.name](today, {})
            fields[param.name] = forms.CharField(
                label=param.label,
                required=False,
                initial=default.isoformat(),
                widget=forms.DateInput(attrs={"type": "date"}),
            )
        elif param.kind == INT and param.name == "agent":
            fields[param.name] = forms.ChoiceField(label=param.label, required=False, choices=agent_choices(user))
        else:
            fields[param.name] = forms.CharField(label=param.label, required=False, max_length=200)
    form_class = type("ReportParametersForm", (forms.Form,), fields)
    return form_class(data=data)
