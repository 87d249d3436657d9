"""Loans work in the background (thin wrappers around the loans services)."""

from portal.core.tasks import correlated_task

from .services import loan_credit_check_run


# The bureau being down raises after recording the problem on the task; huey tries again later, and
# staff can ask again from the loan page once the retries are spent. Never a pass without a score.
@correlated_task(retries=5, retry_delay=120)
def loan_credit_check(task_id):
    loan_credit_check_run(task_id=task_id)
