from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh
from django_tables2 import RequestConfig

from portal.core.db_router import reads_from_replica
from portal.core.exports import csv_download, list_without_export, xlsx_download, xlsx_refusal
from portal.core.forms import add_service_errors
from portal.core.listing import BoundedLazyPaginator, render_filtered_table
from portal.core.permissions import permission_required
from portal.core.uploads import body_limit

from . import services
from .detect import column_matches, match_columns, suggest_columns
from .fields import FIELDS, Kind
from .filters import ClaimRowFilter, ClaimTotalFilter, ImportJobFilter, RiskRowFilter, RiskTotalFilter, RowErrorFilter
from .forms import MappingForm, ProfileForm, SourceSpecForm, UploadForm, too_large_to_upload
from .models import ImportJob, MappingProfile, Source
from .parsing import DATE_FORMAT_LABELS
from .selectors import (
    bordereau_rows_visible_to,
    bordereau_totals,
    bordereau_totals_visible_to,
    import_jobs_visible_to,
    row_errors_of,
    sources_visible_to,
)
from .sources.probe import spec_probe
from .sources.selectors import source_connections_visible_to, sync_exchanges_of, sync_runs_visible_to
from .sources.services import source_connection_load, sync_run_cancel, sync_run_start
from .storage import bordereau_response
from .tables import ClaimRowTable, ImportJobTable, RiskRowTable, RowErrorTable, status_badge

READ_REASON = gettext_lazy("Bordereaux are open to administrators, finance and Interventoría.")
UPLOAD_REASON = gettext_lazy("Only administrators and finance upload bordereaux.")
PROFILE_REASON = gettext_lazy("Only administrators configure bordereau sources and their mapping profiles.")


def _form_errors_422(form):
    return 422 if form.errors else 200


@reads_from_replica
@permission_required("ingestion.view_importjob", READ_REASON)
def job_list(request):
    job_filter = ImportJobFilter(request.GET, queryset=import_jobs_visible_to(request.user))
    return render_filtered_table(
        request, "ingestion/job_list.html", filterset=job_filter, table_class=ImportJobTable, per_page=25
    )


# What a bordereau upload's other fields and multipart boundaries add to its file, at the most.
UPLOAD_FORM_BYTES = 64 * 1024


# A body declared larger than the bordereau limit is refused from its Content-Length, before a byte
# of it is read, let alone spooled to disk (portal.core.uploads).
@body_limit(
    "AMPARO_BORDEREAU_MAX_BYTES",
    allowance=UPLOAD_FORM_BYTES,
    message=lambda declared: too_large_to_upload(declared, allowance=UPLOAD_FORM_BYTES),
)
@permission_required("ingestion.add_importjob", UPLOAD_REASON)
def upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = services.bordereau_upload(
                actor=request.user,
                source=data["source"],
                new_source_name=data["new_source"],
                kind=data["kind"],
                period=data["period"],
                upload=data["file"],
                original_name=data["file"].name,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if job.status == ImportJob.Status.MAPPING:
                messages.info(request, _("This file's columns need a mapping before it can be imported."))
                return redirect("ingestion:job_mapping", pk=job.pk)
            if job.status == ImportJob.Status.FAILED:
                messages.error(request, job.error)
            else:
                messages.success(request, _("File received. The import runs in the background."))
            return redirect("ingestion:job_detail", pk=job.pk)
    return render(request, "ingestion/upload.html", {"form": form}, status=_form_errors_422(form))


def _progress_figures(job):
    figures = {"job": job, "badge": status_badge(job), "rate": None, "eta_seconds": None}
    if job.started_at:
        elapsed = max(0.001, ((job.finished_at or timezone.now()) - job.started_at).total_seconds())
        figures["elapsed_seconds"] = round(elapsed)
        figures["rate"] = round(job.rows_total / elapsed)
        if job.is_active and 0 < job.progress < 100:
            figures["eta_seconds"] = round(elapsed * (100 - job.progress) / job.progress)
    return figures


@permission_required("ingestion.view_importjob", READ_REASON)
def job_detail(request, pk):
    job = get_object_or_404(import_jobs_visible_to(request.user), pk=pk)
    if request.htmx and request.htmx.target == "job-progress":
        if request.GET.get("was_active") and not job.is_active:
            return HttpResponseClientRefresh()
        return render(request, "ingestion/job_detail.html#progress", _progress_figures(job))
    error_filter = RowErrorFilter(request.GET, queryset=row_errors_of(job))
    errors_table = RowErrorTable(error_filter.qs)
    RequestConfig(request, paginate={"per_page": 50}).configure(errors_table)
    if request.htmx:
        return render(request, "ingestion/job_detail.html#results", {"job": job, "table": errors_table})
    context = {
        **_progress_figures(job),
        "date_format_label": DATE_FORMAT_LABELS.get(job.layout.get("date_format"), ""),
        "decimal_style_label": dict(MappingProfile.DECIMAL_STYLES).get(job.layout.get("decimal_style"), ""),
        "column_matches": column_matches(job.layout, job.kind),
        "filter": error_filter,
        "table": errors_table,
        "can_manage": request.user.has_perm("ingestion.change_importjob"),
        "can_retry": services.import_job_retry_refusal(job) is None,
    }
    return render(request, "ingestion/job_detail.html", context)


ERROR_HEADER = [gettext_lazy("Row"), gettext_lazy("Column"), gettext_lazy("Value"), gettext_lazy("Message")]


@permission_required("ingestion.view_importjob", READ_REASON)
def job_errors_export(request, pk, fmt):
    if fmt not in {"csv", "xlsx"}:
        raise Http404
    job = get_object_or_404(import_jobs_visible_to(request.user), pk=pk)
    errors = RowErrorFilter(request.GET, queryset=row_errors_of(job)).qs
    if fmt == "xlsx":
        query = request.GET.urlencode()
        job_page = reverse("ingestion:job_detail", args=[job.pk]) + (f"?{query}" if query else "")
        if refusal := xlsx_refusal(request, errors, back=job_page):
            return refusal
    rows = errors.values_list("row_number", "column", "value", "message").iterator(chunk_size=5000)
    name = f"amparo-import-{job.pk}-errors"
    header = [str(label) for label in ERROR_HEADER]
    return xlsx_download(name, header, rows) if fmt == "xlsx" else csv_download(name, header, rows)


@permission_required("ingestion.view_importjob", READ_REASON)
def job_file(request, pk):
    """The bordereau as it was uploaded: the only way its file leaves the server."""
    job = get_object_or_404(import_jobs_visible_to(request.user), pk=pk)
    return bordereau_response(job.stored_name, filename=job.original_name)


def _job_action(request, pk, action, success_message):
    if not request.user.has_perm("ingestion.change_importjob"):
        raise PermissionDenied(UPLOAD_REASON)
    job = get_object_or_404(import_jobs_visible_to(request.user), pk=pk)
    try:
        action(job=job, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, success_message)
    return redirect("ingestion:job_detail", pk=job.pk)


@require_POST
@permission_required("ingestion.view_importjob", READ_REASON)
def job_cancel(request, pk):
    return _job_action(request, pk, services.import_job_cancel, _("Cancelling: the import stops at its next step."))


@require_POST
@permission_required("ingestion.view_importjob", READ_REASON)
def job_retry(request, pk):
    return _job_action(request, pk, services.import_job_retry, _("The import is queued again."))


@permission_required("ingestion.add_importjob", UPLOAD_REASON)
def job_mapping(request, pk):
    job = get_object_or_404(import_jobs_visible_to(request.user), pk=pk)
    if job.status != ImportJob.Status.MAPPING:
        return redirect("ingestion:job_detail", pk=job.pk)
    headers = job.layout.get("headers", [])
    found, _duplicates = match_columns(headers, job.kind)
    suggestions = suggest_columns(headers, job.kind, found)
    initial = {name: headers[index] for name, index in found.items()} | suggestions
    form = MappingForm(request.POST or None, kind=job.kind, headers=headers, initial_map=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.import_job_map_columns(job=job, actor=request.user, column_map=form.column_map())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Mapping saved for %(source)s. The import runs now.") % {"source": job.source})
            return redirect("ingestion:job_detail", pk=job.pk)
    context = {"job": job, "form": form, "suggested": sorted(suggestions), "headers": headers}
    return render(request, "ingestion/mapping.html", context, status=_form_errors_422(form))


ROW_VIEWS = {
    Kind.RISK: (RiskRowFilter, RiskTotalFilter, RiskRowTable),
    Kind.CLAIMS: (ClaimRowFilter, ClaimTotalFilter, ClaimRowTable),
}


def _totals(request, kind, filter_class, totals_filter_class):
    """The totals of the bordereaux the filter picks, from their stored totals; None when the
    filter picks rows within bordereaux (a UMR, a claim reference), which those cannot follow."""
    if any(request.GET.get(name, "").strip() for name in filter_class.row_only):
        return None
    lines = totals_filter_class(request.GET, queryset=bordereau_totals_visible_to(request.user, kind)).qs
    return bordereau_totals(lines, kind)


@permission_required("ingestion.view_importjob", READ_REASON)
def rows(request, kind):
    if kind not in ROW_VIEWS:
        kind = Kind.RISK
    filter_class, totals_filter_class, table_class = ROW_VIEWS[kind]
    row_filter = filter_class(request.GET, queryset=bordereau_rows_visible_to(request.user, kind))
    fmt = request.GET.get("export")
    if fmt in {"csv", "xlsx"} and row_filter.is_valid():
        refusal = fmt == "xlsx" and xlsx_refusal(request, row_filter.qs, back=list_without_export(request))
        if refusal:
            return refusal
        names = list(table_class.Meta.fields)
        header = [str(row_filter.qs.model._meta.get_field(name).verbose_name) for name in names]
        values = row_filter.qs.values_list(*[f"{name}__name" if name == "source" else name for name in names])
        name = f"amparo-{kind}-bordereau-rows"
        download = xlsx_download if fmt == "xlsx" else csv_download
        return download(name, header, values.iterator(chunk_size=5000))
    # Bounded and lazy: no COUNT(*) over millions of rows on every page (see core.listing).
    return render_filtered_table(
        request,
        "ingestion/rows.html",
        filterset=row_filter,
        table_class=table_class,
        per_page=50,
        paginator_class=BoundedLazyPaginator,
        extra={
            "kind": kind,
            "kinds": Kind.CHOICES,
            "totals": _totals(request, kind, filter_class, totals_filter_class),
        },
    )


@permission_required("ingestion.view_source", READ_REASON)
def source_list(request):
    sources = sources_visible_to(request.user).prefetch_related("profiles")
    return render(request, "ingestion/source_list.html", {"sources": sources, "kinds": Kind.CHOICES})


@permission_required("ingestion.change_mappingprofile", PROFILE_REASON)
def profile_edit(request, source_pk, kind):
    source = get_object_or_404(Source, pk=source_pk)
    if kind not in dict(Kind.CHOICES):
        return redirect("ingestion:source_list")
    profile = MappingProfile.objects.filter(source=source, kind=kind).first() or MappingProfile(
        source=source, kind=kind
    )
    headers = profile.detected.get("headers", []) or sorted(set(profile.column_map.values()))
    settings_form = ProfileForm(request.POST or None, instance=profile, prefix="settings")
    mapping_form = MappingForm(
        request.POST or None, kind=kind, headers=headers, initial_map=profile.column_map, prefix="map"
    )
    if request.method == "POST" and settings_form.is_valid() and mapping_form.is_valid():
        try:
            services.profile_save(
                actor=request.user,
                source=source,
                kind=kind,
                column_map={name: header for name, header in mapping_form.column_map().items() if header},
                **{name: settings_form.cleaned_data[name] for name in ProfileForm.Meta.fields},
            )
        except ValidationError as error:
            settings_form.add_error(None, error)
        else:
            messages.success(request, _("Profile saved."))
            return redirect("ingestion:source_list")
    context = {
        "source": source,
        "kind": kind,
        "kind_label": dict(Kind.CHOICES)[kind],
        "settings_form": settings_form,
        "mapping_form": mapping_form,
        "detected": profile.detected,
        "fields": FIELDS[kind],
    }
    status = 422 if settings_form.errors or mapping_form.errors else 200
    return render(request, "ingestion/profile_edit.html", context, status=status)


PULL_REASON = gettext_lazy("Only administrators start and cancel pulls from web services.")
RUNS_SHOWN = 50


@permission_required("ingestion.view_syncrun", READ_REASON)
def pulls(request):
    """Web-service sources and their runs, with the live progress of the running ones."""
    runs = list(sync_runs_visible_to(request.user)[:RUNS_SHOWN])
    context = {"runs": runs, "any_active": any(run.is_active for run in runs)}
    if request.htmx and request.htmx.target == "pull-runs":
        return render(request, "ingestion/pulls.html#runs", context)
    context["connections"] = source_connections_visible_to(request.user)
    return render(request, "ingestion/pulls.html", context)


@permission_required("ingestion.view_syncrun", READ_REASON)
def pull_run(request, pk):
    """One run: its figures and each HTTP request it made."""
    run = get_object_or_404(sync_runs_visible_to(request.user), pk=pk)
    exchanges, exchanges_total = sync_exchanges_of(run)
    context = {"run": run, "exchanges": exchanges, "exchanges_total": exchanges_total}
    return render(request, "ingestion/pull_run.html", context)


@require_POST
@permission_required("ingestion.add_syncrun", PULL_REASON)
def pull_start(request, pk):
    connection = get_object_or_404(source_connections_visible_to(request.user), pk=pk)
    try:
        run = sync_run_start(actor=request.user, connection=connection)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Pull #%(run)d queued: it runs in the background.") % {"run": run.pk})
    return redirect("ingestion:pulls")


@require_POST
@permission_required("ingestion.change_syncrun", PULL_REASON)
def pull_cancel(request, pk):
    run = get_object_or_404(sync_runs_visible_to(request.user), pk=pk)
    try:
        sync_run_cancel(actor=request.user, run=run)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Cancelling: the pull stops at its next page; nothing of it is loaded."))
    return redirect("ingestion:pulls")


SPEC_REASON = gettext_lazy("Only administrators add and edit web-service sources.")


def _connection_or_none(request, pk):
    return None if pk is None else get_object_or_404(source_connections_visible_to(request.user), pk=pk)


@permission_required("ingestion.change_sourceconnection", SPEC_REASON)
def source_spec_edit(request, pk=None):
    """A web-service source's connection spec as YAML, with its write-only secret."""
    connection = _connection_or_none(request, pk)
    form = SourceSpecForm(request.POST or None, connection=connection)
    if request.method == "POST" and form.is_valid():
        try:
            saved = source_connection_load(
                actor=request.user,
                spec=form.cleaned_data["spec_text"],
                secret=form.cleaned_data["secret"] or None,
                enabled=form.cleaned_data["enabled"],
                create_only=connection is None,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Connection of %(source)s saved.") % {"source": saved.source.name})
            return redirect("ingestion:source_spec_edit", pk=saved.pk)
    context = {"form": form, "connection": connection}
    return render(request, "ingestion/source_spec.html", context, status=422 if form.errors else 200)


@require_POST
@permission_required("ingestion.change_sourceconnection", SPEC_REASON)
def source_spec_test(request, pk=None):
    """The "Test connection" partial: the first page of the spec being edited; nothing is saved."""
    connection = _connection_or_none(request, pk)
    form = SourceSpecForm(request.POST, connection=connection)
    if not form.is_valid():
        errors = [error for errors in form.errors.values() for error in errors]
        return render(request, "ingestion/source_spec.html#probe", {"probe_errors": errors})
    spec = form.cleaned_data["spec_text"]
    probe = spec_probe(
        key=f"probe:{connection.pk if connection else 'new'}",
        spec=spec,
        secret_encrypted=connection.secret_encrypted if connection else "",
        kept_for=connection.spec if connection else None,
        secret=form.cleaned_data["secret"] or None,
    )
    return render(request, "ingestion/source_spec.html#probe", {"probe": probe})
