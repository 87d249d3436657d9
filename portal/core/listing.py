from django.shortcuts import render
from django_tables2 import RequestConfig


def render_filtered_table(request, template, *, filterset, table_class, per_page, paginator_class=None, extra=None):
    """A list page: the filtered, sorted, paginated table, or only its `results` partial for HTMX."""
    table = table_class(filterset.qs)
    paginate = {"per_page": per_page}
    if paginator_class is not None:
        paginate["paginator_class"] = paginator_class
    RequestConfig(request, paginate=paginate).configure(table)
    name = f"{template}#results" if request.htmx else template
    return render(request, name, {"filter": filterset, "table": table, **(extra or {})})
