from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("runs/", views.run_list, name="run_list"),
    path("runs/<uuid:pk>/", views.run_detail, name="run_detail"),
    path("runs/<uuid:pk>/download/", views.run_download, name="run_download"),
    path("<slug:name>/", views.report_run_new, name="report_run_new"),
]
