"""Every write to premium schedules, the ledger, payments, receipts and claim payouts, one module per
operation: keyword-only functions, one transaction each, audited inside it. Callers import from here."""

from .disbursements import loan_disbursement_record, loan_repayment_receive
from .instalments import instalments_cancel_after_lapse, schedule_for_version
from .ledger import account_for
from .payments import (
    payment_core_reference_record,
    payment_receive,
    payment_record,
    payment_reverse,
    payment_reverse_refusal,
)
from .payouts import payout_actions_available, payout_cancel, payout_confirm, payout_prepare
from .receipts import receipt_deliver
from .reminders import instalment_reminder_record, instalment_reminders_send, overdue_reminder_stage

__all__ = [
    "account_for",
    "instalment_reminder_record",
    "instalment_reminders_send",
    "instalments_cancel_after_lapse",
    "loan_disbursement_record",
    "loan_repayment_receive",
    "overdue_reminder_stage",
    "payment_core_reference_record",
    "payment_receive",
    "payment_record",
    "payment_reverse",
    "payment_reverse_refusal",
    "payout_actions_available",
    "payout_cancel",
    "payout_confirm",
    "payout_prepare",
    "receipt_deliver",
    "schedule_for_version",
]
