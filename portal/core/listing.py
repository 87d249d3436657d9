from django.core.paginator import EmptyPage
from django.shortcuts import render
from django.utils.translation import gettext as _
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator


class BoundedLazyPaginator(LazyPaginator):
    """A paginator without COUNT(*) for very large lists, that refuses absurd page numbers: a page
    far beyond the data would make the database skip millions of rows (or overflow its OFFSET)."""

    max_page = 10_000

    def validate_number(self, number):
        number = super().validate_number(number)
        if number > self.max_page:
            raise EmptyPage(_("That page number is too large"))
        return number


def render_filtered_table(request, template, *, filterset, table_class, per_page, paginator_class=None, extra=None):
    """A list page: the filtered, sorted, paginated table, or only its `results` partial for HTMX."""
    table = table_class(filterset.qs)
    paginate = {"per_page": per_page}
    if paginator_class is not None:
        paginate["paginator_class"] = paginator_class
    RequestConfig(request, paginate=paginate).configure(table)
    name = f"{template}#results" if request.htmx else template
    return render(request, name, {"filter": filterset, "table": table, **(extra or {})})


def bounded_count(queryset, bound):
    """How many rows `queryset` has, counting at most `bound` + 1 of them (never a COUNT over a million)."""
    return queryset.order_by()[: bound + 1].count()
