from django.urls import path

from . import views

urlpatterns = [
    path("", views.claim_list, name="customer_claim_list"),
    path("<int:pk>/", views.claim_detail, name="customer_claim_detail"),
    path("<int:pk>/documents/", views.claim_documents_add, name="customer_claim_documents"),
]
