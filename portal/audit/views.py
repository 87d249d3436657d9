from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.core.db_router import reads_from_replica
from portal.core.exports import csv_download
from portal.core.listing import BoundedLazyPaginator, render_filtered_table
from portal.core.permissions import permission_required

from .filters import AuditEventFilter
from .selectors import CSV_HEADER, audit_events_csv_rows, audit_events_visible_to
from .tables import AuditEventTable

AUDIT_LOG_REASON = _("The audit log is open to administrators and Interventoría (audit) only.")


@reads_from_replica
@permission_required("audit.view_auditevent", AUDIT_LOG_REASON)
def audit_log(request):
    events = audit_events_visible_to(request.user).select_related("actor")
    event_filter = AuditEventFilter(request.GET, queryset=events)
    if request.GET.get("export") == "csv" and event_filter.is_valid():
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return csv_download(f"amparo-audit-{stamp}", CSV_HEADER, audit_events_csv_rows(event_filter.qs))
    # LazyPaginator avoids an exact COUNT(*) over what will be a very large table.
    return render_filtered_table(
        request,
        "audit/audit_log.html",
        filterset=event_filter,
        table_class=AuditEventTable,
        per_page=50,
        paginator_class=BoundedLazyPaginator,
    )
