from django.urls import path

from . import views

urlpatterns = [
    path("me/", views.me, name="me"),
    path("me/photo/", views.me_photo, name="me_photo"),
]
