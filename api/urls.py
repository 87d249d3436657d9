"""The REST API, versioned under /api/v1/."""

from django.urls import include, path

app_name = "api"

urlpatterns = [
    path("v1/", include("api.v1")),
]
