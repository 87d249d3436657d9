from huey.contrib.djhuey import db_task

from portal.notifications.services import email_send


@db_task(retries=3, retry_delay=60)
def email_message_send(*, to, subject, body, html=None):
    email_send(to=to, subject=subject, body=body, html=html)
