"""The API's default pages: page-number pagination with a count, the page size chosen by the app
(`?page_size=`) within a cap; a size that is not a positive number gives the default page. Lists that
may hold millions of rows use `api.staff.pagination.UncountedPagination` instead."""

from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import PageNumberPagination


class PagePagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    invalid_page_message = _("There is no such page.")


def paginated_response(request, rows, serializer_class, **serializer_kwargs):
    """One page of `rows` (a queryset) serialized, with the count and the next/previous links."""
    paginator = PagePagination()
    page = paginator.paginate_queryset(rows, request)
    return paginator.get_paginated_response(serializer_class(page, many=True, **serializer_kwargs).data)
