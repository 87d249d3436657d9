from django.conf import settings
from django.core.mail import EmailMultiAlternatives


def email_send(*, to, subject, body, html=None):
    """Send one email now; callers that serve a request enqueue `tasks.notifications` instead."""
    message = EmailMultiAlternatives(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
