from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from oauth2_provider.views import TokenView
from rest_framework.permissions import AllowAny

from . import bordereaux, webhooks

SCHEMA = {"authentication_classes": [], "permission_classes": [AllowAny]}

urlpatterns: list = [
    path("webhooks/wompi/", webhooks.wompi_webhook, name="wompi_webhook"),
    path("auth/", include("api.auth.urls")),
    path("staff/", include("api.staff.urls")),
    path("", include("api.profile.urls")),
    path("", include("api.policies.urls")),
    path("", include("api.loans.urls")),
    # Our OAuth2 authorization server's token endpoint (client credentials), for cedants' systems.
    path("oauth/token/", TokenView.as_view(), name="oauth_token"),
    path("bordereaux/", bordereaux.bordereau_upload, name="bordereau_upload"),
    path("bordereaux/rows/", bordereaux.bordereau_rows, name="bordereau_rows"),
    path("bordereaux/<int:job_id>/", bordereaux.bordereau_job, name="bordereau_job"),
    path("bordereaux/<int:job_id>/errors/", bordereaux.bordereau_job_errors, name="bordereau_job_errors"),
    # The OpenAPI schema and its two readers, served from our own static files (no CDN).
    path("schema/", SpectacularAPIView.as_view(**SCHEMA), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema", **SCHEMA), name="docs"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html", **SCHEMA),
        name="redoc",
    ),
    # The customer's own records (apic).
    path("claims/", include("api.customer_claims.urls")),
    path("account/", include("api.account.urls")),
    path("payments/", include("api.customer_payments.urls")),
    path("notifications/", include("api.customer_notifications.urls")),
    path("devices/", include("api.customer_notifications.device_urls")),
]
