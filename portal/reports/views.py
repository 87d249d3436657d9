"""The reports pages: the catalogue, a report's parameters, a run's live progress and its download,
and the list of runs. Thin views over the reports services and selectors."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from portal.core.forms import add_service_errors
from portal.core.listing import render_filtered_table
from portal.core.permissions import permission_required

from .catalogue import may_run, report_named, reports_for
from .filters import ReportRunFilter
from .forms import report_form
from .models import ReportFormat
from .selectors import report_run_downloadable, report_runs_visible_to
from .services import report_run_request
from .storage import report_response
from .tables import ReportRunTable, status_badge

VIEW_REASON = gettext_lazy("Reports are open to agents, supervisors, finance, Interventoría and administrators.")
CONTENT_TYPES = {
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.PDF: "application/pdf",
}


@permission_required("reports.view_reportrun", VIEW_REASON)
def catalogue(request):
    recent = report_runs_visible_to(request.user).filter(requested_by=request.user)[:10]
    return render(request, "reports/catalogue.html", {"reports": reports_for(request.user), "recent": recent})


@permission_required("reports.add_reportrun", VIEW_REASON)
def report_run_new(request, name):
    try:
        report = report_named(name)
    except ValidationError:
        raise Http404 from None
    if not may_run(request.user, report):
        raise PermissionDenied(gettext_lazy("Your role may not run this report."))
    today = timezone.localdate()
    form = report_form(report, request.user, data=request.POST or None, today=today)
    if request.method == "POST" and form.is_valid():
        parameters = {param.name: form.cleaned_data.get(param.name) or "" for param in report.params}
        try:
            run = report_run_request(
                report_name=report.name, fmt=form.cleaned_data["format"], parameters=parameters, actor=request.user
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if request.htmx:
                return HttpResponseClientRedirect(run.get_absolute_url())
            return redirect(run.get_absolute_url())
    template = "reports/report_form.html#form" if request.htmx else "reports/report_form.html"
    return render(request, template, {"report": report, "form": form})


@permission_required("reports.view_reportrun", VIEW_REASON)
def run_detail(request, pk):
    run = get_object_or_404(report_runs_visible_to(request.user), pk=pk)
    context = {
        "run": run,
        "report": report_named(run.report),
        "badge": status_badge(run),
        "downloadable": report_run_downloadable(run),
    }
    if request.htmx and request.htmx.target == "run-progress":
        if request.GET.get("was_active") and not run.is_active:
            return HttpResponseClientRefresh()
        return render(request, "reports/run_detail.html#progress", context)
    return render(request, "reports/run_detail.html", context)


@permission_required("reports.view_reportrun", VIEW_REASON)
def run_download(request, pk):
    run = get_object_or_404(report_runs_visible_to(request.user), pk=pk)
    if not report_run_downloadable(run):
        raise Http404
    return report_response(run.stored_name, filename=run.download_name, content_type=CONTENT_TYPES[run.format])


@permission_required("reports.view_reportrun", VIEW_REASON)
def run_list(request):
    return render_filtered_table(
        request,
        "reports/run_list.html",
        filterset=ReportRunFilter(request.GET, queryset=report_runs_visible_to(request.user)),
        table_class=ReportRunTable,
        per_page=50,
    )
