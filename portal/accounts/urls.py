from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("security/two-factor/", views.two_factor_setup, name="two_factor_setup"),
    path("security/two-factor/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("users/", views.user_list, name="user_list"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/role/", views.user_change_role, name="user_change_role"),
    path("users/<int:pk>/suspend/", views.user_suspend, name="user_suspend"),
    path("users/<int:pk>/reactivate/", views.user_reactivate, name="user_reactivate"),
    path("users/<int:pk>/reset-two-factor/", views.user_reset_two_factor, name="user_reset_two_factor"),
]
