"""Pages without COUNT(*): the work queue may hold a million claims, and the app only needs to know
whether there is a next page (one row more than the page is read)."""

from collections import OrderedDict

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


class UncountedPagination(BasePagination):
    page_size = 25
    max_page_size = 100
    max_page = 10_000

    def _int(self, request, name, default):
        try:
            value = int(request.query_params.get(name, default))
        except (TypeError, ValueError):
            return default
        return max(1, value)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page = self._int(request, "page", 1)
        if self.page > self.max_page:
            raise NotFound(_("That page number is too large."))
        self.size = min(self._int(request, "page_size", self.page_size), self.max_page_size)
        start = (self.page - 1) * self.size
        rows = list(queryset[start : start + self.size + 1])
        self.has_next = len(rows) > self.size
        return rows[: self.size]

    def _link(self, page):
        url = self.request.build_absolute_uri()
        return remove_query_param(url, "page") if page == 1 else replace_query_param(url, "page", page)

    def get_paginated_response(self, data):
        return Response(
            OrderedDict(
                [
                    ("next", self._link(self.page + 1) if self.has_next else None),
                    ("previous", self._link(self.page - 1) if self.page > 1 else None),
                    ("results", data),
                ]
            )
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }
