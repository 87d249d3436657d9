"""The quote and policy lifecycles in one place: which step each status allows, what a policy's dates
make its status, and the refusals the services raise.

Services apply these rules when they change a quote or a policy; the pages ask
`quote_actions_available` and `policy_actions_available`, built from the same rules, which buttons
to offer, so a button is shown exactly when the service would accept.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.core.dates import business_date
from portal.core.exceptions import Conflict

from .models import Policy, Quote

RENEWAL_WINDOW_DAYS = 90

QUOTE_REFUSALS = {
    "present": gettext_lazy("Quote %(number)s is «%(status)s», so it cannot be presented. Reload the page to see it."),
    "accept": gettext_lazy("Quote %(number)s is «%(status)s», so it cannot be accepted. Reload the page to see it."),
    "decline": gettext_lazy("Quote %(number)s is «%(status)s», so it cannot be declined. Reload the page to see it."),
    "issue": gettext_lazy("Quote %(number)s is «%(status)s», so no policy can be issued from it. Reload the page."),
}


POLICY_REFUSALS = {
    "endorse": gettext_lazy("Policy %(number)s is «%(status)s», so it cannot be endorsed."),
    "cancel": gettext_lazy("Policy %(number)s is «%(status)s», so it cannot be cancelled."),
    "suspend": gettext_lazy("Policy %(number)s is «%(status)s», so it cannot be suspended."),
    "reinstate": gettext_lazy("Policy %(number)s is «%(status)s», so there is nothing to reinstate."),
}


# The statuses each step of a quote starts from.
QUOTE_STEPS_FROM = {
    "present": (Quote.Status.DRAFT,),
    "accept": (Quote.Status.QUOTED,),
    "decline": Quote.OPEN,
    "issue": (Quote.Status.ACCEPTED,),
}


def quote_is_expired(quote, *, today):
    """True when the quote is EXPIRED, or still open for acceptance past its validity."""
    if quote.status == Quote.Status.EXPIRED:
        return True
    return quote.status in QUOTE_STEPS_FROM["accept"] + QUOTE_STEPS_FROM["issue"] and _past_validity(quote, today)


def _past_validity(quote, today):
    return quote.valid_until is not None and quote.valid_until < today


def quote_actions_available(quote):
    """Which steps the quote's state allows now: the services' own rule, for the buttons a page shows."""
    return {action: quote.status in statuses for action, statuses in QUOTE_STEPS_FROM.items()}


def refuse_stale_quote(quote, *, action):
    if quote.status not in QUOTE_STEPS_FROM[action]:
        raise Conflict(QUOTE_REFUSALS[action] % {"number": quote.number, "status": quote.get_status_display()})


def status_on(version, *, today):
    """The status a policy whose current version is `version` has on `today`, by its dates alone."""
    if version.ends_cover and version.effective_date <= today:
        return Policy.Status.CANCELLED
    if today < version.start_date:
        return Policy.Status.PENDING
    if today >= version.end_date:
        return Policy.Status.EXPIRED
    return Policy.Status.ACTIVE


IN_FORCE = (Policy.Status.ACTIVE, Policy.Status.PENDING)


CANCELLABLE = (*IN_FORCE, Policy.Status.SUSPENDED)


REINSTATABLE = (Policy.Status.SUSPENDED, Policy.Status.CANCELLED)


LAPSABLE = (Policy.Status.ACTIVE, Policy.Status.SUSPENDED)


# The status changes the insurer's core system may make on its own (and Amparo follows), and the
# statuses each may come from. Anything else the core says is left for the reconciliation to show.
CORE_STATUS_CHANGES = {
    Policy.Status.SUSPENDED: (Policy.Status.ACTIVE,),
    Policy.Status.ACTIVE: (Policy.Status.SUSPENDED,),
    Policy.Status.CANCELLED: (Policy.Status.PENDING, Policy.Status.ACTIVE, Policy.Status.SUSPENDED),
    Policy.Status.LAPSED: (Policy.Status.ACTIVE, Policy.Status.SUSPENDED),
}

# Cover ends with these: the instalments due after the change are cancelled.
ENDED_BY_CORE = (Policy.Status.CANCELLED, Policy.Status.LAPSED)


def core_status_refusal(policy, status):
    """Why the core's `status` for `policy` is not followed, or None when it is."""
    if status not in CORE_STATUS_CHANGES:
        return _(
            "The insurer's core says policy %(number)s is «%(status)s», a status Amparo does not take from it."
        ) % {
            "number": policy.number,
            "status": status,
        }
    if policy.status not in CORE_STATUS_CHANGES[status]:
        return _(
            "The insurer's core says policy %(number)s is «%(to)s»; from «%(from)s» Amparo does not follow it."
        ) % {
            "number": policy.number,
            "to": Policy.Status(status).label,
            "from": policy.get_status_display(),
        }
    return None


def require_status(policy, allowed, action):
    if policy.status not in allowed:
        raise Conflict(POLICY_REFUSALS[action] % {"number": policy.number, "status": policy.get_status_display()})


def refuse_if_cancellation_scheduled(policy):
    current = policy.current_version
    if current.ends_cover:
        raise Conflict(
            _("Policy %(number)s is cancelled from %(day)s; reinstate it first.")
            % {"number": policy.number, "day": date_format(current.effective_date)}
        )


def check_renewable(policy, today):
    current = policy.current_version
    refuse_if_cancellation_scheduled(policy)
    if policy.status in (Policy.Status.CANCELLED, Policy.Status.SUSPENDED, Policy.Status.LAPSED):
        raise Conflict(
            _("Policy %(number)s is %(status)s; only policies in force are renewed.")
            % {"number": policy.number, "status": policy.get_status_display().lower()}
        )
    if Policy.objects.filter(renewal_of=policy).exists():
        raise Conflict(_("Policy %(number)s has already been renewed.") % {"number": policy.number})
    if current.end_date > today + timedelta(days=RENEWAL_WINDOW_DAYS):
        raise ValidationError(
            _("Policy %(number)s ends on %(day)s; it can be renewed from %(days)s days before that.")
            % {"number": policy.number, "day": date_format(current.end_date), "days": RENEWAL_WINDOW_DAYS}
        )
    if current.end_date < today - timedelta(days=30):
        raise ValidationError(
            _("Policy %(number)s ended more than 30 days ago; issue a new policy instead.") % {"number": policy.number}
        )
    if not policy.product.is_active:
        raise ValidationError(
            _("%(product)s is no longer on sale; offer the customer another product.")
            % {"product": policy.product.name}
        )


def policy_actions_available(policy, *, today=None):
    """Which changes the policy's state allows today: the same rules the services enforce, for the
    buttons a page shows (a user's permissions are checked apart)."""
    today = business_date(today)
    current = policy.current_version
    try:
        check_renewable(policy, today)
    except ValidationError:
        renewable = False
    else:
        renewable = True
    return {
        "endorse": policy.status in IN_FORCE and not current.ends_cover,
        "cancel": policy.status in CANCELLABLE and not current.ends_cover,
        "suspend": policy.status == Policy.Status.ACTIVE,
        "reinstate": (current.ends_cover or policy.status in REINSTATABLE) and current.end_date > today,
        "renew": renewable,
    }
