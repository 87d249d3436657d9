"""The API's default pages: page-number pagination with a count, the page size chosen by the app
(`?page_size=`) within a cap; a page or size that is not a whole number from 1 is a 400. Lists that
may hold millions of rows use `api.staff.pagination.UncountedPagination` instead."""

from functools import cache

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

from .exceptions import ErrorSerializer


class PagePagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    invalid_page_message = _("There is no such page.")

    def paginate_queryset(self, queryset, request, view=None):
        for name in (self.page_query_param, self.page_size_query_param):
            value = request.query_params.get(name)
            if value is not None and not (value.isascii() and value.isdigit() and 0 < int(value) < 10**9):
                raise ValidationError({name: [_("Give a whole number from 1.")]})
        return super().paginate_queryset(queryset, request, view)


PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description=str(_("Page number, from 1"))),
    OpenApiParameter("page_size", OpenApiTypes.INT, description=str(_("Rows per page, at most 100"))),
]
PAGE_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description=_("A page or page size that is not a whole number from 1.")),
    404: OpenApiResponse(ErrorSerializer, description=_("There is no such page.")),
}


def paginated_response(request, rows, serializer_class, **serializer_kwargs):
    """One page of `rows` (a queryset) serialized, with the count and the next/previous links."""
    paginator = PagePagination()
    page = paginator.paginate_queryset(rows, request)
    return paginator.get_paginated_response(serializer_class(page, many=True, **serializer_kwargs).data)


@cache
def page_of(serializer_class, *, counted=True):
    """The schema of one page of `serializer_class` rows, for `extend_schema(responses=...)` of a function
    view (drf-spectacular sees the pagination of generic views only): count (unless the pages are
    uncounted, api.staff.pagination), next, previous, results."""
    name = serializer_class.__name__.removesuffix("Serializer")
    fields = {
        **({"count": serializers.IntegerField()} if counted else {}),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": serializer_class(many=True),
    }
    kind = "Paginated" if counted else "Uncounted"
    return type(f"{kind}{name}ListSerializer", (serializers.Serializer,), fields)
