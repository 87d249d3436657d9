from django.urls import path

from . import views

urlpatterns = [
    path("", views.device_register, name="customer_device_register"),
]
