"""The core sync in the staff portal: the outbox with each message's attempts (administrators retry or
skip a dead one; Interventoría reads), and the daily reconciliation with the core."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from portal.core.exceptions import Conflict
from portal.core.exports import csv_download
from portal.core.forms import add_service_errors
from portal.core.listing import BoundedLazyPaginator, filter_bar, shown_rows
from portal.core.permissions import permission_required
from portal.outbox.models import OutboxMessage

from . import services
from .filters import OutboxFilter
from .forms import DifferenceFilterForm, NoteForm
from .selectors import (
    attempts_of,
    audit_trail_of,
    destination_states,
    differences_of,
    outbox_messages_visible_to,
    reconciliation_runs_visible_to,
)
from .tables import DifferenceTable, OutboxTable, state_badge

VIEW_REASON = gettext_lazy("The outbox is open to administrators and Interventoría.")
RESOLVE_REASON = gettext_lazy("Only administrators send a dead message again or skip it.")
RECONCILE_REASON = gettext_lazy(
    "The reconciliation with the core is open to administrators, finance and Interventoría."
)
PAGE = "integrations/outbox.html"


def _message_context(request, message, *, form=None):
    may_resolve = request.user.has_perm("outbox.resolve_outboxmessage")
    return {
        "message": message,
        "badge": state_badge(message),
        "attempts": attempts_of(message),
        "audit_trail": audit_trail_of(message),
        "actions": services.message_actions_available(message) if may_resolve else {},
        "note_form": form or NoteForm(auto_id="note_%s"),
    }


def _list_context(request):
    outbox_filter = OutboxFilter(request.GET, queryset=outbox_messages_visible_to(request.user))
    table = OutboxTable(outbox_filter.qs)
    RequestConfig(request, paginate={"per_page": 50, "paginator_class": BoundedLazyPaginator}).configure(table)
    return {
        "filter": outbox_filter,
        "table": table,
        "bar": filter_bar(request, outbox_filter),
        "shown": shown_rows(table, model=OutboxMessage),
    }


def _page(request, *, message=None, form=None, status=200):
    context = {**_list_context(request), "destinations": destination_states()}
    if message is not None:
        context.update(_message_context(request, message, form=form))
    return render(request, PAGE, context, status=status)


@permission_required("outbox.view_outboxmessage", VIEW_REASON)
def outbox(request):
    if request.htmx:
        return render(request, f"{PAGE}#results", _list_context(request))
    return _page(request)


@permission_required("outbox.view_outboxmessage", VIEW_REASON)
def message_detail(request, pk):
    message = get_object_or_404(outbox_messages_visible_to(request.user), pk=pk)
    if request.htmx:
        return render(request, f"{PAGE}#message", _message_context(request, message))
    return _page(request, message=message)


def _resolve(request, pk, service, done):
    message = get_object_or_404(outbox_messages_visible_to(request.user), pk=pk)
    form = NoteForm(request.POST, auto_id="note_%s")
    status = 422
    if form.is_valid():
        try:
            message = service(message=message, actor=request.user, note=form.cleaned_data["note"])
        except Conflict as error:
            messages.error(request, " ".join(error.messages))
            status = 409
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, done % {"id": message.pk})
            status = 200
    if not request.htmx:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("integrations:message_detail", pk=pk)
    message = outbox_messages_visible_to(request.user).get(pk=pk)
    context = _message_context(request, message, form=form if status == 422 else None)
    return render(request, f"{PAGE}#message", context, status=status)


@require_POST
@permission_required("outbox.resolve_outboxmessage", RESOLVE_REASON)
def message_retry(request, pk):
    return _resolve(request, pk, services.outbox_message_retry, _("Message %(id)s will be sent again."))


@require_POST
@permission_required("outbox.resolve_outboxmessage", RESOLVE_REASON)
def message_skip(request, pk):
    return _resolve(
        request, pk, services.outbox_message_skip, _("Message %(id)s skipped: the messages behind it can go now.")
    )


# --- reconciliation --------------------------------------------------------------------------------------


def _chosen_run(request):
    form = DifferenceFilterForm(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    runs = reconciliation_runs_visible_to(request.user)
    run = runs.filter(pk=data["run"]).first() if data.get("run") else runs.first()
    return form, run, data.get("kind", "")


@permission_required("integrations.view_reconciliationrun", RECONCILE_REASON)
def reconciliation(request):
    form, run, kind = _chosen_run(request)
    context = {"form": form, "run": run, "runs": reconciliation_runs_visible_to(request.user)[:30]}
    if run is not None:
        table = DifferenceTable(differences_of(run, kind=kind))
        RequestConfig(request, paginate={"per_page": 50}).configure(table)
        context["table"] = table
    template = "integrations/reconciliation.html#results" if request.htmx else "integrations/reconciliation.html"
    return render(request, template, context)


@permission_required("integrations.view_reconciliationrun", RECONCILE_REASON)
def reconciliation_export(request):
    _form, run, kind = _chosen_run(request)
    if run is None:
        messages.error(request, _("There is no reconciliation to download yet."))
        return redirect("integrations:reconciliation")
    header = [_("Difference"), _("What"), _("In Amparo"), _("In the core")]
    rows = (
        [difference.get_kind_display(), difference.subject, difference.ours, difference.theirs]
        for difference in differences_of(run, kind=kind).iterator(chunk_size=2000)
    )
    return csv_download(f"core-reconciliation-{run.started_at:%Y%m%d-%H%M}", header, rows)
