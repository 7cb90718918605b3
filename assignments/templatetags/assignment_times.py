"""Due dates in templates, worded by assignments.times:

{% load assignment_times %}
{% due_at assignment.due_at group %}   <time datetime="…Z">Tue 14 Jan, 19:00 your time · …</time>
{% due_relative assignment.due_at %}   due in 3 days

The viewer's zone is the one UserTimeZoneMiddleware activated; "now" is the context's `now`
when a view (or a test) put one there, else the clock.
"""

from django import template
from django.utils import timezone
from django.utils.html import format_html

from assignments import times

register = template.Library()


def _now(context):
    now = context.get("now")
    return now if now is not None and not isinstance(now, str) else timezone.now()


@register.simple_tag(takes_context=True)
def due_at(context, instant, group):
    """The due date in the viewer's time, with the group's alongside when it differs."""
    if instant is None:
        return ""
    group_zone = times.zone_named(group.time_zone)
    label = times.due_label(
        instant,
        viewer_zone=timezone.get_current_timezone(),
        group_zone=group_zone,
        now=_now(context),
    )
    return format_html(
        '<time datetime="{}" title="{} in the group\'s time zone ({})">{}</time>',
        times.utc_iso(instant),
        times.moment(instant, group_zone, _now(context)),
        group.time_zone,
        label,
    )


@register.simple_tag(takes_context=True)
def due_relative(context, instant):
    if instant is None:
        return ""
    return times.due_relative(instant, zone=timezone.get_current_timezone(), now=_now(context))
