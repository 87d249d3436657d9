"""Loans work in the background (thin wrappers around the loans services)."""

from portal.core.tasks import correlated_periodic_task, correlated_task, local_crontab

from .repayments import loan_arrears_age, loan_reminders_send
from .services import loan_credit_check_run


# The bureau being down raises after recording the problem on the task; huey tries again later, and
# staff can ask again from the loan page once the retries are spent. Never a pass without a score.
@correlated_task(retries=5, retry_delay=120)
def loan_credit_check(task_id):
    loan_credit_check_run(task_id=task_id)


# Daily after midnight: age the running loans' arrears, then remind each late instalment once per stage.
@correlated_periodic_task(local_crontab(minute="20", hour="0"), retries=3, retry_delay=300)
def loan_arrears_daily():
    loan_arrears_age()
    loan_reminders_send()
