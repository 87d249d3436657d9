from django.urls import path

from . import views

urlpatterns = [
    path("claims/", views.claim_list, name="staff_claim_list"),
    path("claims/bulk-transition/", views.claim_bulk_transition, name="staff_claim_bulk_transition"),
    path("claims/bulk-jobs/<uuid:pk>/", views.claim_bulk_job, name="staff_claim_bulk_job"),
]
