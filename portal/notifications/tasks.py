from portal.core.tasks import correlated_task

from .services import email_send


@correlated_task(retries=3, retry_delay=60)
def email_message_send(*, to, subject, body, html=None):
    email_send(to=to, subject=subject, body=body, html=html)
