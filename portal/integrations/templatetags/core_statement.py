from django import template

from ..selectors import core_statement_of

register = template.Library()


@register.inclusion_tag("integrations/core_statement_card.html", takes_context=True)
def core_statement_card(context, customer):
    """{% core_statement_card customer %}: the customer's latest statement lines from the insurer's
    core, for the signed-in user (nothing when they may not see them or there are none)."""
    user = context["request"].user
    # Whoever may read the customer's accounts may read the core's statement of them.
    visible = user.has_perm("payments.view_ledgeraccount")
    return {"lines": list(core_statement_of(user, customer)) if visible else [], "visible": visible}
