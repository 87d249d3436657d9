"""Human labels for the audit actions; the audit log page filters and displays by these."""

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "auth.sign_in": _("Signed in"),
    "auth.sign_out": _("Signed out"),
    "auth.sign_in_failed": _("Failed sign-in"),
    "auth.locked_out": _("Locked out after failed sign-ins"),
    "auth.2fa_enrolled": _("Enrolled two-factor authentication"),
    "auth.2fa_verified": _("Passed two-factor check"),
    "auth.2fa_failed": _("Failed two-factor check"),
    "auth.2fa_reset": _("Two-factor authentication reset"),
    "user.created": _("User created"),
    "user.role_changed": _("Role changed"),
    "user.suspended": _("User suspended"),
    "user.reactivated": _("User reactivated"),
    "team.created": _("Team created"),
    "demo.scaled": _("Volume demo data added"),
    "ingestion.source_created": _("Bordereau source created"),
    "ingestion.profile_saved": _("Mapping profile saved"),
    "ingestion.import_queued": _("Bordereau uploaded"),
    "ingestion.columns_mapped": _("Bordereau columns mapped"),
    "ingestion.import_cancel_requested": _("Bordereau import cancellation asked"),
    "ingestion.import_retried": _("Bordereau import run again"),
    "ingestion.import_cancelled": _("Bordereau import cancelled"),
    "ingestion.import_failed": _("Bordereau import failed"),
    "ingestion.import_finished": _("Bordereau import finished"),
    "customer.created": _("Customer created"),
    "customer.updated": _("Customer changed"),
    "customer.app_account_linked": _("Customer's app account linked"),
    "product.created": _("Product created"),
    "product.changed": _("Product changed"),
    "quote.created": _("Quote created"),
    "quote.presented": _("Quote presented"),
    "quote.accepted": _("Quote accepted"),
    "quote.declined": _("Quote declined"),
    "quote.expired": _("Quote expired"),
    "policy.issued": _("Policy issued"),
    "policy.endorsed": _("Policy endorsed"),
    "policy.cancelled": _("Policy cancelled"),
    "policy.suspended": _("Policy suspended"),
    "policy.reinstated": _("Policy reinstated"),
    "policy.status_changed": _("Policy status followed its dates"),
    "policy.renewal_reminder_sent": _("Renewal reminder sent"),
    "claim.filed": _("Claim filed"),
    "claim.start_review": _("Claim review started"),
    "claim.approve": _("Claim approved"),
    "claim.reject": _("Claim rejected"),
    "claim.pay": _("Claim paid"),
    "claim.close": _("Claim closed"),
    "claim.reopen": _("Claim reopened"),
    "claim.document_added": _("Claim document added"),
    "claim.bulk_started": _("Bulk claim action started"),
}


def action_label(action):
    return ACTION_LABELS.get(action, action)


def action_choices():
    return sorted(((key, str(label)) for key, label in ACTION_LABELS.items()), key=lambda item: item[1])
