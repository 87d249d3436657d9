from django.urls import path

from . import reports, views

urlpatterns = [
    path("claims/", views.claim_list, name="staff_claim_list"),
    path("claims/bulk-transition/", views.claim_bulk_transition, name="staff_claim_bulk_transition"),
    path("claims/bulk-jobs/<uuid:pk>/", views.claim_bulk_job, name="staff_claim_bulk_job"),
    path("reports/", reports.report_list, name="staff_report_list"),
    path("reports/runs/<uuid:pk>/", reports.report_run_detail, name="staff_report_run"),
    path("reports/runs/<uuid:pk>/download/", reports.report_run_download, name="staff_report_run_download"),
    path("reports/<slug:name>/runs/", reports.report_run_create, name="staff_report_run_create"),
]
