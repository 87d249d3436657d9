from portal.notifications.services import email_send

from .tracing import correlated_task


@correlated_task(retries=3, retry_delay=60)
def email_message_send(*, to, subject, body, html=None):
    email_send(to=to, subject=subject, body=body, html=html)
