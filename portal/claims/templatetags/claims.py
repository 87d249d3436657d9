from django import template

from portal.claims.tables import age_in_days, claim_status_badge

register = template.Library()


@register.filter
def claim_badge(claim):
    """{{ claim|claim_badge }}: the status as a coloured badge."""
    return claim_status_badge(claim)


@register.filter
def claim_age(claim):
    """{{ claim|claim_age }}: how long ago the claim was filed, in days."""
    return age_in_days(claim.created_at)
