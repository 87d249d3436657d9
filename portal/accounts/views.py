import math
from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.i18n import set_language
from django_otp import devices_for_user, match_token, user_has_device
from django_otp import login as otp_login

from portal.audit.selectors import recent_events_about
from portal.core.forms import add_service_errors
from portal.core.listing import render_filtered_table
from portal.core.permissions import permission_required, staff_required

from . import services
from .filters import UserFilter
from .forms import NoteForm, ReasonForm, RoleChangeForm, TokenForm
from .selectors import users_visible_to
from .tables import UserTable

USERS_REASON = gettext_lazy("The user directory is open to administrators, supervisors and Interventoría.")
MANAGE_USERS_REASON = gettext_lazy("Only administrators change roles, suspend users or reset their second factor.")


PENDING_TOTP_KEY = "amparo_pending_totp_device"


@require_POST
def language_set(request):
    """The language switch: Django's set_language (its cookie and safe redirect), and for a signed-in
    user the choice is kept as their preference, so it follows them to other browsers and sign-ins."""
    response = set_language(request)
    language = request.POST.get("language")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        services.user_language_set(user=request.user, language=language)
    return response


def _safe_next(request, default="dashboard:dashboard"):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return default


@staff_required
def two_factor_setup(request):
    if user_has_device(request.user):
        return render(request, "accounts/two_factor_setup.html", {"enrolled": True})
    # The key is bound to this session: a new session gets a fresh key (the earlier pending one goes),
    # and only the key this session was shown can be confirmed from it.
    form = TokenForm(request.POST or None)
    device = services.totp_device_pending(user=request.user, device_id=request.session.get(PENDING_TOTP_KEY))
    if device is None:
        if request.method == "POST":
            # A set-up in another session (or by someone else) replaced this one: leave that one alone.
            reason = _("This set-up was replaced by a newer one. Start again to get a new code.")
            context = {"enrolled": False, "replaced": reason, "next": _safe_next(request, default="")}
            return render(request, "accounts/two_factor_setup.html", context, status=409)
        device = services.totp_device_start(user=request.user)
        request.session[PENDING_TOTP_KEY] = device.pk
    if request.method == "POST" and form.is_valid():
        try:
            device = services.totp_device_confirm(
                user=request.user, device_id=device.pk, token=form.cleaned_data["token"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            request.session.pop(PENDING_TOTP_KEY, None)
            otp_login(request, device)
            messages.success(request, _("Two-factor authentication is on. You will be asked for a code at sign-in."))
            return redirect(_safe_next(request))
    qr = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        "qr_data_uri": qr.svg_data_uri(scale=5, border=2),
        "secret": _group(device.bin_key),
        "next": _safe_next(request, default=""),
        "enrolled": False,
    }
    return render(request, "accounts/two_factor_setup.html", context, status=422 if form.errors else 200)


def _group(bin_key):
    secret = b32encode(bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@login_required
def two_factor_verify(request):
    if not user_has_device(request.user):
        return redirect("accounts:two_factor_setup")
    form = TokenForm(request.POST or None)
    wait = _seconds_until_verify_allowed(request.user)
    if request.method == "POST" and wait:
        form.is_valid()
        form.add_error(
            "token", _("Too many wrong codes. Wait %(seconds)d seconds, then type the newest code.") % {"seconds": wait}
        )
    elif request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"].strip().replace(" ", "")
        device = match_token(request.user, token)
        if device is not None:
            otp_login(request, device)
            services.auth_event_record(action="auth.2fa_verified", user=request.user)
            return redirect(_safe_next(request))
        services.auth_event_record(action="auth.2fa_failed", user=request.user)
        form.add_error("token", _("That code is not right, or it has already been used. Try the next one."))
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"form": form, "next": _safe_next(request, default="")},
        status=422 if form.errors else 200,
    )


def _seconds_until_verify_allowed(user):
    """django-otp throttles a device after a wrong code; say how long instead of refusing silently."""
    for device in devices_for_user(user):
        allowed, details = device.verify_is_allowed()
        if not allowed and details and details.get("locked_until"):
            return max(1, math.ceil((details["locked_until"] - timezone.now()).total_seconds()))
    return 0


@permission_required("accounts.view_user", USERS_REASON)
def user_list(request):
    user_filter = UserFilter(request.GET, queryset=users_visible_to(request.user))
    return render_filtered_table(
        request, "accounts/user_list.html", filterset=user_filter, table_class=UserTable, per_page=25
    )


# The user page shows several small forms at once; each gets its own HTML ids.
FORM_IDS = {"role_form": "role_%s", "reason_form": "suspend_%s", "reset_form": "reset_%s", "note_form": "reactivate_%s"}


def _user_panel_context(request, subject, **forms):
    can_manage = request.user.has_perm("accounts.change_user") and subject.pk != request.user.pk
    initial_role = {"role": subject.role, "team": subject.team}
    return {
        "subject": subject,
        "can_manage": can_manage,
        "role_form": forms.get("role_form") or RoleChangeForm(initial=initial_role, auto_id=FORM_IDS["role_form"]),
        "reason_form": forms.get("reason_form") or ReasonForm(auto_id=FORM_IDS["reason_form"]),
        "reset_form": forms.get("reset_form") or ReasonForm(auto_id=FORM_IDS["reset_form"]),
        "note_form": forms.get("note_form") or NoteForm(auto_id=FORM_IDS["note_form"]),
        "events": recent_events_about(subject) if request.user.has_perm("audit.view_auditevent") else None,
    }


@permission_required("accounts.view_user", USERS_REASON)
def user_detail(request, pk):
    subject = get_object_or_404(users_visible_to(request.user), pk=pk)
    return render(request, "accounts/user_detail.html", _user_panel_context(request, subject))


def _user_action(request, pk, form_class, form_key, apply):
    """Run one admin action on a user and answer with the refreshed panel (HTMX) or a redirect."""
    if not request.user.has_perm("accounts.change_user"):
        raise PermissionDenied(MANAGE_USERS_REASON)
    subject = get_object_or_404(users_visible_to(request.user), pk=pk)
    form = form_class(request.POST, auto_id=FORM_IDS[form_key])
    if form.is_valid():
        try:
            message = apply(subject, form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, message)
            if not request.htmx:
                return redirect("accounts:user_detail", pk=subject.pk)
            subject = users_visible_to(request.user).get(pk=subject.pk)
            return render(request, "accounts/user_detail.html#user-panel", _user_panel_context(request, subject))
    # A refusal about the user as a whole (say, someone else suspended them a moment ago) may
    # concern a form the refreshed panel no longer shows: flash it so it is always seen.
    for error in form.non_field_errors():
        messages.error(request, error)
    if not request.htmx:
        for field, errors in form.errors.items():
            if field != NON_FIELD_ERRORS:
                messages.error(request, f"{form.fields[field].label}: {' '.join(errors)}")
        return redirect("accounts:user_detail", pk=subject.pk)
    subject = users_visible_to(request.user).get(pk=subject.pk)
    context = _user_panel_context(request, subject, **{form_key: form})
    return render(request, "accounts/user_detail.html#user-panel", context, status=422)


@require_POST
@staff_required
def user_change_role(request, pk):
    def apply(subject, data):
        services.user_change_role(
            user=subject, role=data["role"], team=data["team"], actor=request.user, note=data["note"]
        )
        return _("Role updated.")

    return _user_action(request, pk, RoleChangeForm, "role_form", apply)


@require_POST
@staff_required
def user_suspend(request, pk):
    def apply(subject, data):
        services.user_suspend(user=subject, actor=request.user, reason=data["reason"])
        return _("User suspended. They can no longer sign in.")

    return _user_action(request, pk, ReasonForm, "reason_form", apply)


@require_POST
@staff_required
def user_reactivate(request, pk):
    def apply(subject, data):
        services.user_reactivate(user=subject, actor=request.user, note=data["note"])
        return _("User reactivated.")

    return _user_action(request, pk, NoteForm, "note_form", apply)


@require_POST
@staff_required
def user_reset_two_factor(request, pk):
    def apply(subject, data):
        services.user_reset_two_factor(user=subject, actor=request.user, reason=data["reason"])
        return _("Second factor reset. The user enrols a new authenticator at the next sign-in.")

    return _user_action(request, pk, ReasonForm, "reset_form", apply)
