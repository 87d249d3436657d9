from django.urls import path

from . import views

urlpatterns = [
    path("loans/quote/", views.loan_quote, name="loan_quote"),
    path("loans/", views.loans, name="loans"),
    path("loans/<int:pk>/", views.loan_detail, name="loan_detail"),
    path("loans/<int:pk>/schedule/", views.loan_schedule_view, name="loan_schedule"),
    path("loans/<int:pk>/withdraw/", views.loan_withdraw, name="loan_withdraw"),
    path("loans/<int:pk>/payments/", views.loan_payments, name="loan_payments"),
    path("loans/<int:pk>/documents/", views.loan_documents_view, name="loan_documents"),
]
