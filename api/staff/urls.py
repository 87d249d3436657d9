from django.urls import path

from . import loans, reports, views

urlpatterns = [
    path("claims/", views.claim_list, name="staff_claim_list"),
    path("claims/bulk-transition/", views.claim_bulk_transition, name="staff_claim_bulk_transition"),
    path("claims/bulk-jobs/<uuid:pk>/", views.claim_bulk_job, name="staff_claim_bulk_job"),
    path("loans/<int:pk>/tasks/", loans.loan_task_start, name="staff_loan_task_start"),
    path("loans/<int:pk>/tasks/<int:task_id>/complete/", loans.loan_task_complete, name="staff_loan_task_complete"),
    path("reports/", reports.report_list, name="staff_report_list"),
    path("reports/runs/<uuid:pk>/", reports.report_run_detail, name="staff_report_run"),
    path("reports/runs/<uuid:pk>/download/", reports.report_run_download, name="staff_report_run_download"),
    path("reports/<slug:name>/runs/", reports.report_run_create, name="staff_report_run_create"),
]
