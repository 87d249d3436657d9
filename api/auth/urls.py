from django.urls import path

from . import views

urlpatterns = [
    path("register/", views.register, name="auth_register"),
    path("otp/verify/", views.otp_verify, name="auth_otp_verify"),
    path("otp/resend/", views.otp_resend, name="auth_otp_resend"),
    path("token/", views.token_obtain, name="auth_token"),
    path("token/refresh/", views.token_refresh, name="auth_token_refresh"),
    path("logout/", views.logout, name="auth_logout"),
    path("password/reset/", views.password_reset, name="auth_password_reset"),
    path("password/reset/confirm/", views.password_reset_confirm, name="auth_password_reset_confirm"),
    path("password/change/", views.password_change, name="auth_password_change"),
    path("me/email/", views.email_change, name="auth_email_change"),
    path("me/email/verify/", views.email_change_verify, name="auth_email_change_verify"),
]
