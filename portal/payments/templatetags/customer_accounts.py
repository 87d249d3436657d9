from django import template

from portal.payments.selectors import customer_account_summaries

register = template.Library()


@register.inclusion_tag("payments/customer_accounts_card.html", takes_context=True)
def customer_accounts_card(context, customer):
    """{% customer_accounts_card customer %}: the customer's balance and instalments, per currency, for
    the signed-in user (nothing when they may not see accounts)."""
    request = context["request"]
    visible = request.user.has_perm("payments.view_ledgeraccount")
    return {
        "customer": customer,
        "summaries": customer_account_summaries(request.user, customer) if visible else [],
        "visible": visible,
    }
