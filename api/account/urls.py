from django.urls import path

from . import views

urlpatterns = [
    path("", views.account, name="customer_account"),
    path("statement/", views.statement, name="customer_statement"),
]
