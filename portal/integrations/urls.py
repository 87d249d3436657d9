from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:pk>/", views.message_detail, name="message_detail"),
    path("outbox/<int:pk>/retry/", views.message_retry, name="message_retry"),
    path("outbox/<int:pk>/skip/", views.message_skip, name="message_skip"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("reconciliation/export.csv", views.reconciliation_export, name="reconciliation_export"),
]
