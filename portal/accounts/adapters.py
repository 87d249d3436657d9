from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from portal.core.client_address import client_address
from portal.notifications.services import email_queue


class AccountAdapter(DefaultAccountAdapter):
    """Staff accounts are created by administrators: nobody signs themselves up."""

    def is_open_for_signup(self, request):
        return False

    def get_login_redirect_url(self, request):
        return super().get_login_redirect_url(request) or reverse("dashboard:dashboard")

    def pre_login(self, request, user, **kwargs):
        if user.is_active and not user.is_staff_role:
            reason = _("The portal is for Amparo staff. Customers sign in with the Amparo mobile app.")
            raise ImmediateHttpResponse(render(request, "403.html", {"exception": reason}, status=403))
        return super().pre_login(request, user, **kwargs)

    def get_client_ip(self, request):
        # allauth's rate limits count per address: the same address the lockout and the audit trail use.
        address = client_address(request)
        if not address:
            raise PermissionDenied("Unable to determine client IP address")
        return address

    def send_mail(self, template_prefix, email, context):
        message = self.render_mail(template_prefix, email, context)
        alternatives = getattr(message, "alternatives", [])
        html = next((content for content, mimetype in alternatives if mimetype == "text/html"), None)
        email_queue(to=list(message.to), subject=message.subject, body=message.body, html=html, after_commit=False)
