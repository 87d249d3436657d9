from django import template

from portal.audit.actions import action_label as label_for

register = template.Library()


@register.filter
def action_label(action):
    return label_for(action)
