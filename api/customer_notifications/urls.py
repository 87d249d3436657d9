from django.urls import path

from . import views

urlpatterns = [
    path("", views.notification_list, name="customer_notification_list"),
    path("read/", views.notifications_read, name="customer_notifications_read"),
]
