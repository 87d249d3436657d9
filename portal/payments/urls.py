from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("", views.payment_list, name="payment_list"),
    path("export/<str:fmt>/", views.payment_export, name="payment_export"),
    path("<int:pk>/", views.payment_detail, name="payment_detail"),
    path("<int:pk>/receipt.pdf", views.receipt_pdf, name="receipt_pdf"),
    path("<int:pk>/reverse/", views.payment_reverse, name="payment_reverse"),
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("accounts/<int:pk>/record/", views.payment_record, name="payment_record"),
    path("accounts/<int:pk>/statement/", views.statement, name="statement"),
    path("accounts/<int:pk>/statement.pdf", views.statement_pdf, name="statement_pdf"),
    path("payouts/", views.payout_list, name="payout_list"),
    path("payouts/prepare/<int:claim_pk>/", views.payout_prepare, name="payout_prepare"),
    path("payouts/<int:pk>/confirm/", views.payout_confirm, name="payout_confirm"),
    path("payouts/<int:pk>/cancel/", views.payout_cancel, name="payout_cancel"),
]
