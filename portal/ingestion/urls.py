from django.urls import path

from . import views

app_name = "ingestion"

urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("upload/", views.upload, name="upload"),
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("jobs/<int:pk>/mapping/", views.job_mapping, name="job_mapping"),
    path("jobs/<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<int:pk>/retry/", views.job_retry, name="job_retry"),
    path("jobs/<int:pk>/errors.<str:fmt>", views.job_errors_export, name="job_errors_export"),
    path("jobs/<int:pk>/file", views.job_file, name="job_file"),
    path("rows/<str:kind>/", views.rows, name="rows"),
    path("sources/", views.source_list, name="source_list"),
    path("pulls/", views.pulls, name="pulls"),
    path("pulls/<int:pk>/start/", views.pull_start, name="pull_start"),
    path("pulls/runs/<int:pk>/", views.pull_run, name="pull_run"),
    path("pulls/runs/<int:pk>/cancel/", views.pull_cancel, name="pull_cancel"),
    path("pulls/sources/new/", views.source_spec_edit, name="source_spec_new"),
    path("pulls/sources/new/test/", views.source_spec_test, name="source_spec_test_new"),
    path("pulls/sources/<int:pk>/", views.source_spec_edit, name="source_spec_edit"),
    path("pulls/sources/<int:pk>/test/", views.source_spec_test, name="source_spec_test"),
    path("sources/<int:source_pk>/profile/<str:kind>/", views.profile_edit, name="profile_edit"),
]
