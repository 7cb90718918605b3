"""Templates ask the permission tables through these, never restating a rule:

{% load group_access %}
{% if membership|may:"invite" %}…{% endif %}
"""

from django import template

from groups.access import group_permits

register = template.Library()


@register.filter
def may(membership, action: str) -> bool:
    """May this member do `action` (a groups.access.GroupAction value) in their group?"""
    return group_permits(membership, action)
