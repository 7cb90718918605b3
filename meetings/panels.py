"""What meetings add to the pages of lower apps (connected from MeetingsConfig.ready): the
group home's "Next meeting" panel (with the last meeting's recap, through groups.panels), the
thread page's raise button and "discussed" mark (through annotations.extras), and, for the
site's home (commonplace.views), each group's next meeting.
"""

from django.db.models import Count, Exists, Q, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from annotations.extras import register_thread_extras
from annotations.models import Annotation
from assignments.times import zone_named
from groups.access import GroupAction, group_permits
from groups.models import Membership
from groups.panels import register_group_panel
from meetings.models import AgendaItem, Meeting, Raise
from meetings.services import LONGEST
from meetings.times import ends_at, phase

STYLESHEET = "css/meetings.css"
UPCOMING_SHOWN = 4  # the next meeting, and the cancelled ones before it


def connect() -> None:
    """Register the group home's panel and the thread page's extras."""
    register_group_panel(group_home_panel)
    register_thread_extras(thread_extras)


def _upcoming(meetings, now):
    """The meetings not yet over, in order, up to the first one not cancelled: (next, the
    cancelled before it)."""
    cancelled = []
    for meeting in meetings:
        meeting.phase = phase(meeting, now)
        meeting.ends_at = ends_at(meeting)
        if meeting.cancelled_at is None:
            return meeting, cancelled
        cancelled.append(meeting)
    return None, cancelled


def group_home_panel(request, page: dict) -> tuple[str, dict]:
    """The group's next meeting (its time, the call's link, made prominent from 15 minutes
    before the start until the end, its agenda), the cancelled ones before it, and the last
    one held, with its recap. One query: the meetings not over yet and the two latest started
    (the last one held is among them, when a meeting is running too)."""
    group, membership = page["group"], page["membership"]
    now = timezone.now()
    started = Meeting.objects.filter(
        group=group, cancelled_at__isnull=True, starts_at__lte=now
    ).order_by("-starts_at", "-pk")
    meetings = list(
        Meeting.objects.filter(group=group)
        .filter(Q(starts_at__gt=now - LONGEST) | Q(pk__in=started.values("pk")[:2]))
        .select_related("assignment", "group")
        .order_by("starts_at", "pk")[: UPCOMING_SHOWN + 8]
    )
    held = [m for m in meetings if m.cancelled_at is None and ends_at(m) <= now]
    next_meeting, cancelled = _upcoming([m for m in meetings if ends_at(m) > now], now)
    last = held[-1] if held else None
    if last is not None:
        last.phase = phase(last, now)
    context = {
        "stylesheet": STYLESHEET,
        "next": next_meeting,
        "cancelled": cancelled[:UPCOMING_SHOWN],
        "last": last,
        "can_manage": group_permits(membership, GroupAction.MANAGE_MEETINGS),
        "now": now,
    }
    return "meetings/_group_panel.html", context


def next_meetings(user, *, now=None) -> list[Meeting]:
    """For the site's home: each of the person's groups' next meeting not cancelled and not
    over, soonest first. One query."""
    now = now or timezone.now()
    groups = Membership.objects.filter(user=user).values("group_id")
    found = (
        Meeting.objects.filter(
            group_id__in=groups, cancelled_at__isnull=True, starts_at__gt=now - LONGEST
        )
        .select_related("group", "assignment")
        .order_by("starts_at", "pk")
    )
    shown, seen = [], set()
    for meeting in found[:200]:
        if meeting.group_id in seen or ends_at(meeting) <= now:
            continue
        seen.add(meeting.group_id)
        meeting.phase = phase(meeting, now)
        meeting.ends_at = ends_at(meeting)
        shown.append(meeting)
    return shown


# --- the thread page (annotations.extras) ------------------------------------------------------


def thread_extras(*, membership, root, reading, request=None, **_) -> list[str]:
    """Under a thread's first note: "Raise at the meeting" (a member's one-click toggle, with
    how many raised it) and "Discussed at the meeting of 14 Jan". One query, none for a thread
    that cannot be raised or discussed (private)."""
    if root.visibility != Annotation.Visibility.GROUP or root.parent_id is not None:
        return []
    members = Membership.objects.filter(group_id=membership.group_id).values("user_id")
    raises = Raise.objects.filter(annotation_id=root.pk, user_id__in=members)
    discussed = AgendaItem.objects.filter(
        thread_id=root.pk, discussed_at__isnull=False, meeting__cancelled_at__isnull=True
    ).order_by("-meeting__starts_at")
    row = (
        Annotation.objects.filter(pk=root.pk)
        .annotate(
            raised=Subquery(
                raises.order_by().values("annotation_id").annotate(n=Count("pk")).values("n")[:1]
            ),
            mine=Exists(raises.filter(user_id=membership.user_id)),
            discussed_meeting=Subquery(discussed.values("meeting_id")[:1]),
            discussed_on=Subquery(discussed.values("meeting__starts_at")[:1]),
        )
        .values("raised", "mine", "discussed_meeting", "discussed_on")
        .first()
    )
    if row is None:
        return []
    group = membership.group
    can_raise = (
        group_permits(membership, GroupAction.RAISE)
        and root.hidden_at is None
        and root.deleted_at is None
    )
    if not (can_raise or row["raised"] or row["discussed_meeting"]):
        return []
    context = {
        "group": group,
        "reading_slug": reading.slug,
        "root": root,
        "raised": row["raised"] or 0,
        "mine": row["mine"],
        "can_raise": can_raise,
        "discussed_url": reverse("meetings:detail", args=[group.slug, row["discussed_meeting"]])
        if row["discussed_meeting"]
        else "",
        "discussed_on": row["discussed_on"],
        "group_zone": zone_named(group.time_zone),
    }
    return [mark_safe(render_to_string("meetings/_thread_extras.html", context, request))]
