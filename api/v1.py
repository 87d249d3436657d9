from django.urls import include, path

from . import webhooks

urlpatterns: list = [
    path("webhooks/wompi/", webhooks.wompi_webhook, name="wompi_webhook"),
    path("auth/", include("api.auth.urls")),
    path("staff/", include("api.staff.urls")),
    # The customer's own records (apic).
    path("claims/", include("api.customer_claims.urls")),
    path("account/", include("api.account.urls")),
    path("payments/", include("api.customer_payments.urls")),
    path("notifications/", include("api.customer_notifications.urls")),
    path("devices/", include("api.customer_notifications.device_urls")),
]
