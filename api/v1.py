from django.urls import path

from . import webhooks

urlpatterns: list = [
    path("webhooks/wompi/", webhooks.wompi_webhook, name="wompi_webhook"),
]
