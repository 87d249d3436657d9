"""What the quote and policy pages share: why a role is refused, and how a form tells a stale page."""

from django.utils.translation import gettext_lazy

VIEW_QUOTE_REASON = gettext_lazy("Quotes are open to agents, supervisors, finance, Interventoría and administrators.")
ADD_QUOTE_REASON = gettext_lazy("Only agents, supervisors and administrators make quotes.")
CHANGE_QUOTE_REASON = gettext_lazy("Only agents, supervisors and administrators present, accept or decline quotes.")
VIEW_POLICY_REASON = gettext_lazy(
    "Policies are open to agents, supervisors, finance, Interventoría and administrators."
)
CHANGE_POLICY_REASON = gettext_lazy(
    "Only agents, supervisors and administrators endorse, cancel, suspend or reinstate policies."
)
ADD_POLICY_REASON = gettext_lazy("Only agents, supervisors and administrators issue and renew policies.")

# A form posts the state it was shown for; a different state now means someone changed it meanwhile.
SEEN_STATE = "seen_state"


def labelled_errors(form, errors):
    """[(label, message)] for a preview: the field's label when the message comes from one."""
    labelled = []
    for field, messages_ in errors.items():
        label = form.fields[field].label if field in form.fields else ""
        labelled.extend((label, str(message)) for message in messages_)
    return labelled


def seen_state_changed(request, current_state):
    seen = request.POST.get(SEEN_STATE)
    return seen is not None and seen != current_state
