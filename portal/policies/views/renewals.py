"""The renewal queue: policies ending soon, for the agents who renew them."""

from django.shortcuts import render
from django_tables2 import RequestConfig

from portal.core.permissions import permission_required

from ..forms import RenewalWindowForm
from ..selectors import renewal_queue as renewal_queue_of
from ..tables import RenewalTable
from .common import (
    VIEW_POLICY_REASON,
)

# --- renewals ----------------------------------------------------------------------------------------


def renewal_context(request, params):
    window = RenewalWindowForm(params if "days" in params else None)
    days = window.days_chosen()
    can_renew = request.user.has_perm("policies.add_policy")
    table = RenewalTable(renewal_queue_of(request.user, days=days), exclude=() if can_renew else ("renew",))
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    return {"window": window, "days": days, "table": table}


@permission_required("policies.view_policy", VIEW_POLICY_REASON)
def renewal_queue(request):
    template = "policies/renewal_queue.html#results" if request.htmx else "policies/renewal_queue.html"
    return render(request, template, renewal_context(request, request.GET))
