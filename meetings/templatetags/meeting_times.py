"""Meeting times in templates, worded by meetings.times (on top of assignments.times):

{% load meeting_times %}
{% meeting_when meeting group %}   <time datetime="…Z">Tue 14 Jan, 19:00–20:30 your time · …</time>
{% meeting_relative meeting %}     in 3 days · starts in 10 minutes · now, until 20:30
{% discussed_day instant group %}  14 Jan

The viewer's zone is the one UserTimeZoneMiddleware activated; "now" is the context's `now`
when a view (or a test) put one there, else the clock.
"""

from django import template
from django.utils import timezone
from django.utils.html import format_html

from assignments import times as due_times
from meetings import times

register = template.Library()


def _now(context):
    now = context.get("now")
    return now if now is not None and not isinstance(now, str) else timezone.now()


@register.simple_tag(takes_context=True)
def meeting_when(context, meeting, group):
    """The meeting's day and times in the viewer's time, the group's beside them when they
    differ; the group's own wording in the tooltip."""
    group_zone = due_times.zone_named(group.time_zone)
    now = _now(context)
    label = times.when_label(
        meeting, viewer_zone=timezone.get_current_timezone(), group_zone=group_zone, now=now
    )
    return format_html(
        '<time datetime="{}" title="{} in the group\'s time zone ({})">{}</time>',
        due_times.utc_iso(meeting.starts_at),
        times.when_label(meeting, viewer_zone=group_zone, group_zone=group_zone, now=now),
        group.time_zone,
        label,
    )


@register.simple_tag(takes_context=True)
def meeting_relative(context, meeting):
    return times.relative(meeting, zone=timezone.get_current_timezone(), now=_now(context))


@register.simple_tag(takes_context=True)
def discussed_day(context, instant, group):
    """The day a meeting was held, in the group's zone (where the meeting happened)."""
    if instant is None:
        return ""
    return times.day_label(instant, due_times.zone_named(group.time_zone), _now(context))
