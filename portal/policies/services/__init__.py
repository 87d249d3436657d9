"""Every write to quotes and policies, one module per operation (Zulip's `actions/` split): quotes,
issuance, changes, renewals, the calendar and product configuration. Callers import from here."""

from .calendar import policies_follow_dates, policies_lapse_overdue
from .changes import (
    cancellation_preview,
    endorsement_preview,
    policy_cancel,
    policy_endorse,
    policy_lapse,
    policy_reinstate,
    policy_suspend,
)
from .core import policy_core_reference_record, policy_status_from_core
from .issuance import policy_issue, quote_accept_and_issue
from .products import product_configuration_record
from .quotes import app_quote_create, quote_accept, quote_create, quote_decline, quote_present, quotes_expire_overdue
from .renewals import (
    policy_renew,
    renewal_reminder_record,
    renewal_reminder_stage,
    renewal_reminders_due,
    renewal_reminders_send,
)

__all__ = [
    "app_quote_create",
    "cancellation_preview",
    "endorsement_preview",
    "policies_follow_dates",
    "policies_lapse_overdue",
    "policy_cancel",
    "policy_core_reference_record",
    "policy_endorse",
    "policy_issue",
    "policy_lapse",
    "policy_reinstate",
    "policy_renew",
    "policy_status_from_core",
    "policy_suspend",
    "product_configuration_record",
    "quote_accept",
    "quote_accept_and_issue",
    "quote_create",
    "quote_decline",
    "quote_present",
    "quotes_expire_overdue",
    "renewal_reminder_record",
    "renewal_reminder_stage",
    "renewal_reminders_due",
    "renewal_reminders_send",
]
