from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.paginator import EmptyPage
from django.forms import ChoiceField, ModelChoiceField, MultiWidget, Select
from django.shortcuts import render
from django.utils import formats, timezone
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


def render_filtered_table(
    request, template, *, filterset, table_class, per_page, paginator_class=None, extra=None, clear_query=""
):
    """A list page: the filtered, sorted, paginated table, or only its `results` partial for HTMX; with
    the filter bar (search, quick filters, more filters, chips) laid out for the user's role."""
    table = table_class(filterset.qs)
    paginate = {"per_page": per_page}
    if paginator_class is not None:
        paginate["paginator_class"] = paginator_class
    RequestConfig(request, paginate=paginate).configure(table)
    name = f"{template}#results" if request.htmx else template
    bar = filter_bar(request, filterset, clear_query=clear_query)
    shown = shown_rows(table, model=filterset.queryset.model)
    context = {"filter": filterset, "table": table, "bar": bar, "shown": shown, **(extra or {})}
    return render(request, name, context)


def shown_rows(table, *, model):
    """What the list's summary says: the total when the paginator counted it (never for a lazy one), named
    by what the list holds ("30 customers"), else which rows this page shows and whether more follow."""
    page = table.page
    if page is None:
        shown = {"total": len(table.rows), "first": 1, "last": len(table.rows), "more": False}
    else:
        rows = len(page.object_list)
        first = (page.number - 1) * table.paginator.per_page + 1
        total = None if isinstance(table.paginator, LazyPaginator) else table.paginator.count
        shown = {"total": total, "first": first, "last": first + rows - 1, "rows": rows, "more": page.has_next()}
    names = model._meta
    shown["noun"] = names.verbose_name if shown["total"] == 1 else names.verbose_name_plural
    return shown


def bounded_count(queryset, bound):
    """How many rows `queryset` has, counting at most `bound` + 1 of them (never a COUNT over a million)."""
    return queryset.order_by()[: bound + 1].count()


# --- the filter bar above a list -----------------------------------------------------------------------


@dataclass(frozen=True)
class Chip:
    """An active filter, shown above the results with a link that lists them without it."""

    label: str
    value: str
    remove_url: str


@dataclass
class FilterBar:
    """A list's filter form laid out for a working day: one search box, the few filters the user's role
    reaches for first, the others behind "More filters"; the active filters as removable chips.

    A FilterSet says its layout with `search_field` and `quick_fields` (a tuple, or a dict from role to
    tuple with "default"). `clear_query` is what "Clear" leaves in the address ("status=" tells the claims
    queue not to fall back on the role's default filter).
    """

    search: object
    quick: list
    more: list
    hidden: list
    kept_params: list
    chips: list
    clear_url: str
    more_active: int = 0

    @property
    def more_open(self):
        return self.more_active > 0


def _field_keys(bound_field):
    """The query-string keys one form field reads (a range widget reads two)."""
    widget = bound_field.field.widget
    if isinstance(widget, MultiWidget):
        return [bound_field.html_name + suffix for suffix in widget.widgets_names]
    return [bound_field.html_name]


def _compact(bound_field):
    """Small Bootstrap controls, an "Any" first choice instead of dashes, and a label for each part of a range."""
    field = bound_field.field
    widget = field.widget
    parts = widget.widgets if isinstance(widget, MultiWidget) else [widget]
    for position, part in enumerate(parts):
        css = "form-select form-select-sm" if isinstance(part, Select) else "form-control form-control-sm"
        part.attrs["class"] = css
        if len(parts) == 2:
            part.attrs["aria-label"] = f"{field.label}: {_('from') if position == 0 else _('to')}"
    if isinstance(field, ModelChoiceField):
        field.empty_label = _("Any")
    elif hasattr(field, "empty_label"):
        # django-filter's ChoiceField puts its `empty_label` in front of the choices it is given.
        field.empty_label = _("Any")
        field.choices = [choice for choice in field.choices if choice[0] != ""]
    elif isinstance(field, ChoiceField) and field.choices and field.choices[0][0] in ("", None):
        field.choices = [("", _("Any")), *field.choices[1:]]


def _display(bound_field, value):
    if isinstance(value, slice):
        low, high = (
            _display(bound_field, part) if part not in (None, "") else "…" for part in (value.start, value.stop)
        )
        return f"{low} \u2013 {high}"
    if isinstance(value, datetime):
        return formats.date_format(
            timezone.localtime(value) if timezone.is_aware(value) else value, "SHORT_DATE_FORMAT"
        )
    if isinstance(value, date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(bound_field.field, ChoiceField) and not isinstance(bound_field.field, ModelChoiceField):
        return str(dict(bound_field.field.choices).get(value, value))
    if isinstance(value, (int, float, Decimal)):
        return formats.number_format(value, use_l10n=True, force_grouping=True)
    return str(value)


def filter_bar(request, filterset, *, clear_query=""):
    """The FilterBar of `filterset` for this request's user (see FilterBar)."""
    form = filterset.form
    names = list(form.fields)
    # A FilterSet that says nothing shows its first three filters in the bar.
    quick_fields = (
        getattr(filterset, "quick_fields", None) or tuple(name for name in names if not form[name].is_hidden)[:3]
    )
    if isinstance(quick_fields, dict):
        role = getattr(request.user, "role", None)
        quick_fields = quick_fields.get(role, quick_fields["default"])
    search_name = getattr(filterset, "search_field", None)
    hidden, search, quick, more = [], None, [], []
    for name in names:
        bound_field = form[name]
        if bound_field.is_hidden:
            hidden.append(bound_field)
            continue
        _compact(bound_field)
        if name == search_name:
            search = bound_field
        elif name in quick_fields:
            quick.append(bound_field)
        else:
            more.append(bound_field)
    quick.sort(key=lambda bound_field: quick_fields.index(bound_field.name))
    form_keys = {key for name in names for key in _field_keys(form[name])}
    kept_params = [(key, value) for key, value in request.GET.items() if key not in form_keys and key != "page"]
    cleaned = form.cleaned_data if form.is_valid() else {}
    chips, more_active = [], 0
    more_names = {bound_field.name for bound_field in more}
    for name in names:
        value = cleaned.get(name)
        if value in (None, "", []) or (isinstance(value, slice) and value.start is None and value.stop is None):
            continue
        bound_field = form[name]
        query = request.GET.copy()
        query.pop("page", None)
        for key in _field_keys(bound_field):
            query[key] = ""
        label = str(bound_field.label)
        chips.append(
            Chip(
                label=label,
                value="" if bound_field.is_hidden else _display(bound_field, value),
                remove_url=f"?{query.urlencode()}",
            )
        )
        if name in more_names:
            more_active += 1
    return FilterBar(
        search=search,
        quick=quick,
        more=more,
        hidden=hidden,
        kept_params=kept_params,
        chips=chips,
        clear_url=f"{request.path}?{clear_query}" if clear_query else request.path,
        more_active=more_active,
    )
