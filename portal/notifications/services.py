from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from portal.core.tasks import enqueue, enqueue_on_commit

SEND_TASK = "portal.notifications.tasks.email_message_send"


def email_send(*, to, subject, body, html=None):
    """Send one email now (the worker's task does this); everything else calls `email_queue`."""
    message = EmailMultiAlternatives(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


def email_queue(*, to, subject, body, html=None, after_commit=True):
    """Send an email from the worker: once the current transaction commits (never if it rolls back),
    or at once for mail that records nothing (allauth's password-reset link)."""
    message = {"to": to, "subject": subject, "body": body, "html": html}
    if after_commit:
        enqueue_on_commit(SEND_TASK, **message)
    else:
        enqueue(SEND_TASK, **message)
