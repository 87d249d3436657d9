from django import template

from portal.core.money import format_money

register = template.Library()


@register.filter
def money(amount, currency):
    """{{ policy.premium|money:policy.currency }} -> 'COP 1.234.567,89' in the user's locale."""
    return format_money(amount, currency)
