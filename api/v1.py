from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from . import webhooks

SCHEMA = {"authentication_classes": [], "permission_classes": [AllowAny]}

urlpatterns: list = [
    path("webhooks/wompi/", webhooks.wompi_webhook, name="wompi_webhook"),
    path("auth/", include("api.auth.urls")),
    path("staff/", include("api.staff.urls")),
    path("", include("api.profile.urls")),
    path("", include("api.policies.urls")),
    path("", include("api.loans.urls")),
    # The OpenAPI schema and its two readers, served from our own static files (no CDN).
    path("schema/", SpectacularAPIView.as_view(**SCHEMA), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema", **SCHEMA), name="docs"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html", **SCHEMA),
        name="redoc",
    ),
]
