from django.urls import path

from . import views

urlpatterns = [
    path("", views.payment_list, name="customer_payment_list"),
    path("<int:pk>/receipt/", views.payment_receipt, name="customer_payment_receipt"),
    path("attempts/", views.attempt_list, name="customer_payment_attempts"),
    path("attempts/<int:pk>/", views.attempt_detail, name="customer_payment_attempt"),
    path("pse-banks/", views.pse_banks, name="customer_pse_banks"),
]
