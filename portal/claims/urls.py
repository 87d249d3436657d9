from django.urls import path

from . import views

app_name = "claims"

urlpatterns = [
    path("", views.claim_list, name="claim_list"),
    path("export/<str:fmt>/", views.claim_export, name="claim_export"),
    path("count/", views.queue_count, name="queue_count"),
    path("default/", views.queue_default_save, name="queue_default_save"),
    path("bulk/", views.bulk_apply, name="bulk_apply"),
    path("bulk/<uuid:pk>/", views.bulk_job, name="bulk_job"),
    path("new/", views.claim_file, name="claim_file"),
    path("new/coverages/", views.claim_file_coverages, name="claim_file_coverages"),
    path("<int:pk>/", views.claim_detail, name="claim_detail"),
    path("<int:pk>/actions/<slug:action>/", views.claim_transition, name="claim_transition"),
    path("<int:pk>/documents/", views.document_upload, name="document_upload"),
    path("<int:pk>/documents/<int:doc_pk>/", views.document_download, name="document_download"),
    path("for-policy/<int:pk>/", views.policy_claims, name="policy_claims"),
    path("for-customer/<int:pk>/", views.customer_claims, name="customer_claims"),
]
