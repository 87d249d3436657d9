"""django-prometheus' request metrics with bounded labels and no duplicate family.

Its latency histogram takes the request's method as sent, so a client inventing methods adds a
histogram (a dozen series) per view for each one; here every metric's method label is one of the
HTTP methods or "<invalid method>", as django-prometheus' own counters already do. The request count by
view, transport and method is not kept: the latency histogram's `_count` by view and method is the
same number, and the transport is counted on its own.
"""

from django_prometheus.middleware import PrometheusAfterMiddleware


class RequestMetricsMiddleware(PrometheusAfterMiddleware):
    def label_metric(self, metric, request, response=None, **labels):
        if "method" in labels:
            labels["method"] = self._method(request)
        return super().label_metric(metric, request, response, **labels)

    def process_view(self, request, view_func, *view_args, **view_kwargs):
        return None
