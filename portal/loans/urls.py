from django.urls import path

from . import views

app_name = "loans"

urlpatterns = [
    path("", views.loan_list, name="loan_list"),
    path("export/<str:fmt>/", views.loan_export, name="loan_export"),
    path("apply/<int:customer_pk>/", views.loan_apply, name="loan_apply"),
    path("<int:pk>/", views.loan_detail, name="loan_detail"),
    path("<int:pk>/actions/<slug:action>/", views.loan_action, name="loan_action"),
    path("<int:pk>/repayments/", views.loan_repay, name="loan_repay"),
    path("<int:pk>/write-off/", views.loan_write_off, name="loan_write_off"),
    path("<int:pk>/pdf/<slug:kind>/", views.loan_document_pdf, name="loan_pdf"),
    path("<int:pk>/documents/", views.document_upload, name="document_upload"),
    path("<int:pk>/documents/<int:doc_pk>/", views.document_download, name="document_download"),
    path("for-customer/<int:pk>/", views.customer_loans, name="customer_loans"),
]
