"""django-axes hooks: who is signing in, and what a locked-out person sees."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def username_from_credentials(request, credentials):
    # allauth authenticates with `email`; its form posts the address as `login`.
    credentials = credentials or {}
    value = credentials.get("email") or credentials.get("username")
    if not value and request is not None and request.method == "POST":
        value = request.POST.get("login") or request.POST.get("username")
    return str(value or "").strip().lower()


def locked_out_response(request, credentials=None, *args, **kwargs):
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    if request.path.startswith("/api/"):
        detail = _(
            "Too many failed sign-in attempts for this account from your address. "
            "Wait %(minutes)d minutes and try again, or reset your password."
        ) % {"minutes": minutes}
        response = JsonResponse({"detail": detail}, status=429)
        response["Retry-After"] = str(minutes * 60)
        return response
    return render(
        request,
        "account/locked_out.html",
        {
            "reason": _(
                "Too many failed sign-in attempts for this account from your address. "
                "Wait %(minutes)d minutes and try again, or reset your password."
            )
            % {"minutes": minutes},
        },
        status=429,
    )
