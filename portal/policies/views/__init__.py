"""The quote and policy pages of the staff portal: thin views over the policies services and selectors,
one module per page family."""

from .common import (
    ADD_POLICY_REASON,
    ADD_QUOTE_REASON,
    CHANGE_POLICY_REASON,
    CHANGE_QUOTE_REASON,
    VIEW_POLICY_REASON,
    VIEW_QUOTE_REASON,
)
from .policies import (
    policy_cancel,
    policy_cancel_preview,
    policy_detail,
    policy_endorse,
    policy_endorse_preview,
    policy_export,
    policy_list,
    policy_reinstate,
    policy_renew,
    policy_suspend,
)
from .quotes import (
    quote_accept,
    quote_create,
    quote_decline,
    quote_detail,
    quote_issue,
    quote_list,
    quote_present,
    quote_price,
)
from .renewals import renewal_queue
from .versions import version_compare, version_pdf

__all__ = [
    "ADD_POLICY_REASON",
    "ADD_QUOTE_REASON",
    "CHANGE_POLICY_REASON",
    "CHANGE_QUOTE_REASON",
    "VIEW_POLICY_REASON",
    "VIEW_QUOTE_REASON",
    "policy_cancel",
    "policy_cancel_preview",
    "policy_detail",
    "policy_endorse",
    "policy_endorse_preview",
    "policy_export",
    "policy_list",
    "policy_reinstate",
    "policy_renew",
    "policy_suspend",
    "quote_accept",
    "quote_create",
    "quote_decline",
    "quote_detail",
    "quote_issue",
    "quote_list",
    "quote_present",
    "quote_price",
    "renewal_queue",
    "version_compare",
    "version_pdf",
]
