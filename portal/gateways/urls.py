from django.urls import path

from . import views

app_name = "gateways"

urlpatterns = [
    path("payments/new/", views.payment_start, name="payment_start"),
    path("payments/return/", views.payment_return, name="payment_return"),
    path("payments/<int:pk>/", views.transaction_detail, name="transaction_detail"),
    path("payments/<int:pk>/refresh/", views.transaction_refresh, name="transaction_refresh"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("reconciliation/export.csv", views.reconciliation_export, name="reconciliation_export"),
]
