"""Meeting mode on a group reading page: a facilitator starts it ("Start meeting"),
spotlights a passage, a thread or an agenda item, and ends it ("End meeting"); every open
page of the group follows within seconds.

How open pages learn of it, with any number of app server processes behind one database and
any proxy in front (no in-process state, no sticky sessions, no streams held open):

- every change here (start, spotlight, end) moves `GroupReading.live_version` on in its
  transaction, as every write to the annotations moves `layer_version` on;
- the page polls annotations' `version` endpoint, which answers both figures from one
  indexed query (`{"version": ..., "live": ...}`, 304 while neither moved); about every
  second while meeting mode runs, every 30 s otherwise (static/js/reading/live.js);
- when `live` moved it asks `live.json` (below) for the state, when `version` moved it asks
  layer.json for the layer: both answer through the permission table, so a live update
  carries nothing the page could not show on a reload.

`live.json` names a spotlighted thread only to those who may see it (annotations.access):
to a member it is withheld from ("post before you peek") it is the passage alone, which is
the text every member reads anyway. Spotlighting refuses what not every member may see: a
private note, a hidden or deleted thread.

The rule of who may run meeting mode is a line of the group's table (groups.access,
RUN_MEETING: a facilitator of an active group); every member may read the state.
"""

import hashlib
import json
from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_POST, require_safe

from annotations.access import Action, permits
from annotations.models import Annotation
from commonplace.compiled import CompiledQuery
from groups.access import (
    GroupAction,
    ensure_writable,
    group_permits,
    group_reading_for,
    group_reading_for_member,
)
from groups.models import GroupReading, Membership
from groups.panels import register_reading_extras
from meetings.models import AgendaItem, LiveSession, Meeting

# A meeting "is on" from an hour before it starts until an hour after it ends: starting
# meeting mode then ties it to that meeting (its agenda can be spotlighted from the page).
MEETING_SLACK = timedelta(hours=1)
MEETING_LONGEST = timedelta(hours=3)  # for the page's hint that a meeting is on (one query)
AGENDA_LABEL_LENGTH = 120


class LiveError(Exception):
    """A request meeting mode refuses: `status` 400 (bad input) or 409 (not in this state)."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


# --- services ------------------------------------------------------------------------------


def _moved(group_reading: GroupReading) -> None:
    """Count one more change to meeting mode on this group reading. Called first in each
    change's transaction: the row's lock queues two facilitators' changes one after the
    other, and nobody reads the new figure without the change that made it."""
    GroupReading.objects.filter(pk=group_reading.pk).update(live_version=F("live_version") + 1)


def live_running(group_reading: GroupReading) -> LiveSession | None:
    return (
        LiveSession.objects.filter(group_reading=group_reading, ended_at__isnull=True)
        .order_by()
        .first()
    )


def current_meeting(group, now: datetime) -> Meeting | None:
    """The group's meeting that is on now (see MEETING_SLACK), the nearest if several."""
    near = Meeting.objects.filter(
        group=group,
        cancelled_at__isnull=True,
        starts_at__lte=now + MEETING_SLACK,
        starts_at__gte=now - timedelta(days=1),
    )
    on = [
        m
        for m in near
        if m.starts_at + timedelta(minutes=m.duration_minutes) + MEETING_SLACK >= now
    ]
    return min(on, key=lambda m: abs(m.starts_at - now), default=None)


@transaction.atomic
def live_start(
    *,
    group_reading: GroupReading,
    by: Membership,
    meeting: Meeting | None = None,
    now: datetime | None = None,
) -> LiveSession:
    """Start meeting mode, tied to `meeting` (or to the group's meeting on now, if any)."""
    ensure_writable(group_reading.group)
    now = now or timezone.now()
    if meeting is not None and (meeting.group_id != group_reading.group_id or meeting.is_cancelled):
        raise LiveError("That is not a meeting of this group.")
    _moved(group_reading)
    if live_running(group_reading) is not None:
        raise LiveError("Meeting mode is already running.", status=409)
    try:
        with transaction.atomic():
            return LiveSession.objects.create(
                group_reading=group_reading,
                started_by_id=by.user_id,
                meeting=meeting or current_meeting(group_reading.group, now),
            )
    except IntegrityError as error:  # another process started it in between
        raise LiveError("Meeting mode is already running.", status=409) from error


@transaction.atomic
def live_end(*, group_reading: GroupReading, now: datetime | None = None) -> LiveSession:
    _moved(group_reading)
    session = live_running(group_reading)
    if session is None:
        raise LiveError("Meeting mode is not running.", status=409)
    session.ended_at = now or timezone.now()
    session.save(update_fields=["ended_at"])
    return session


def _spotlit_thread(group_reading: GroupReading, by: Membership, thread_id) -> Annotation:
    """The root of the thread `thread_id`, if every member may be shown it."""
    found = (
        Annotation.objects.filter(
            pk=_whole(thread_id, "thread"),
            group_id=group_reading.group_id,
            reading_id=group_reading.reading_id,
        )
        .select_related("root", "group")
        .first()
    )
    root = found and (found.root or found)
    if root is None or not permits(by, Action.SEE, root):
        raise LiveError("There is no such thread in this group's reading.")
    if root.visibility == Annotation.Visibility.PRIVATE:
        raise LiveError("That is a private note: only its author sees it, so it cannot be shown.")
    if root.hidden_at is not None:
        raise LiveError("That thread is hidden from the group: show it again first.")
    if root.deleted_at is not None:
        raise LiveError("That thread's opening note was deleted: spotlight its passage instead.")
    if root.anchoring == Annotation.Anchoring.ORPHAN:
        raise LiveError("That thread's passage is no longer in the text.")
    return root


def _whole(value, field: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise LiveError(f"Give {field} as a whole number.") from None
    if number < 0:
        raise LiveError(f"Give {field} as a whole number.")
    return number


@transaction.atomic
def live_spotlight(
    *,
    group_reading: GroupReading,
    by: Membership,
    kind: str,
    start=None,
    end=None,
    thread=None,
    item=None,
    now: datetime | None = None,
) -> LiveSession:
    """Spotlight a passage [start, end) of the canonical text, a thread (its root, by id) or
    an agenda item (by id, of one of this group's meetings); kind "" takes the spotlight off."""
    Spotlight = LiveSession.Spotlight
    if kind not in Spotlight.values:
        raise LiveError("Spotlight a passage, a thread or an agenda item.")
    fields = {"spotlight_start": None, "spotlight_end": None}
    fields |= {"spotlight_thread": None, "spotlight_item": None}
    if kind == Spotlight.PASSAGE:
        start, end = _whole(start, "start"), _whole(end, "end")
        length = len(group_reading.reading.canonical_text())
        if not start < end <= length:
            raise LiveError(f"The passage must lie within the text (0 to {length}), start < end.")
        fields |= {"spotlight_start": start, "spotlight_end": end}
    elif kind == Spotlight.THREAD:
        fields["spotlight_thread"] = _spotlit_thread(group_reading, by, thread)
    elif kind == Spotlight.AGENDA:
        found = (
            AgendaItem.objects.filter(
                pk=_whole(item, "item"), meeting__group_id=group_reading.group_id
            )
            .select_related("meeting")
            .first()
        )
        if found is None:
            raise LiveError("There is no such item on this group's agendas.")
        fields["spotlight_item"] = found
    _moved(group_reading)
    session = live_running(group_reading)
    if session is None:
        raise LiveError("Meeting mode is not running: start it first.", status=409)
    for name, value in fields.items():
        setattr(session, name, value)
    session.spotlight = kind
    session.spotlight_at = now or timezone.now()
    session.save(update_fields=[*fields, "spotlight", "spotlight_at"])
    return session


# --- the state, as a page sees it -------------------------------------------------------------


def live_state(membership: Membership, group_reading: GroupReading) -> dict:
    """Meeting mode on this group reading as this member may see it (live.json)."""
    can_run = group_permits(membership, GroupAction.RUN_MEETING)
    session = (
        LiveSession.objects.filter(group_reading=group_reading, ended_at__isnull=True)
        .select_related("started_by", "meeting", "spotlight_thread", "spotlight_item__thread")
        .order_by()
        .first()
        if not membership.group.is_archived
        else None
    )
    state = {"running": session is not None, "can_run": can_run}
    if session is None:
        return state
    leader = session.started_by
    state |= {
        "leader": leader.public_name if leader else "A former member",
        "leading": session.started_by_id == membership.user_id,
        "started_at": session.started_at.isoformat(),
        "meeting": session.meeting.title if session.meeting else None,
        "spotlight": _spotlight(membership, group_reading, session),
    }
    if can_run and session.meeting:
        state["agenda"] = _agenda(membership, session.meeting)
    return state


def _thread_seen(membership, group_reading, thread) -> dict | None:
    """A thread as a spotlight may name it to this member: only if they may see it, and it is
    on this reading (an agenda item's thread may be on another)."""
    if thread is None or thread.reading_id != group_reading.reading_id:
        return None
    if not permits(membership, Action.SEE, thread) or thread.parent_id is not None:
        return None
    return {"thread": thread.pk, "start": thread.start, "end": thread.end}


def _spotlight(membership, group_reading, session) -> dict | None:
    kind = session.spotlight
    if not kind or session.spotlight_at is None:
        return None
    found = {"kind": kind, "at": session.spotlight_at.isoformat()}
    if kind == LiveSession.Spotlight.PASSAGE:
        return found | {"start": session.spotlight_start, "end": session.spotlight_end}
    if kind == LiveSession.Spotlight.THREAD:
        thread = session.spotlight_thread
        if thread is None:  # deleted since
            return None
        seen = _thread_seen(membership, group_reading, thread)
        if seen is None:  # withheld from this member, or hidden since: the passage alone
            if thread.anchoring == Annotation.Anchoring.ORPHAN or thread.start is None:
                return None
            return found | {"kind": "passage", "start": thread.start, "end": thread.end}
        return found | seen
    item = session.spotlight_item
    if item is None:
        return None
    seen = _thread_seen(membership, group_reading, item.thread) if item.thread_id else None
    # A pinned thread's words are its passage (the page quotes it): only to those who see it.
    text = item.text or ("" if seen else "An item of the agenda")
    return found | {"text": text} | (seen or {})


def _agenda(membership, meeting) -> list[dict]:
    """The meeting's agenda, for the facilitator's "Spotlight" buttons."""
    items = []
    for item in meeting.agenda.select_related("thread"):
        label = item.text
        if not label and item.thread is not None and permits(membership, Action.SEE, item.thread):
            label = item.thread.exact or item.thread.body
        if not label:
            continue
        if len(label) > AGENDA_LABEL_LENGTH:
            label = label[: AGENDA_LABEL_LENGTH - 1].rstrip() + "…"
        items.append({"id": item.pk, "label": label, "discussed": item.discussed_at is not None})
    return items


def _live_state(pk, latest, earliest):
    running = LiveSession.objects.filter(group_reading_id=OuterRef("pk"), ended_at__isnull=True)
    meeting_on = Meeting.objects.filter(
        group_id=OuterRef("group_id"),
        cancelled_at__isnull=True,
        starts_at__lte=latest,
        starts_at__gte=earliest,
    )
    return (
        GroupReading.objects.filter(pk=pk)
        .values_list(
            Subquery(running.values("pk")[:1]),
            Subquery(running.values("started_by_id")[:1]),
            Subquery(running.values("started_by__display_name")[:1]),
            Subquery(running.values("started_by__username")[:1]),
            Exists(meeting_on),
        )
        .order_by()
    )


# Every reading page asks: compiled to SQL once (commonplace/compiled.py).
_LIVE_STATE = CompiledQuery(_live_state, pk=int, latest=datetime, earliest=datetime)


def reading_page_extras(*, membership, group_reading, now: datetime | None = None, **_) -> dict:
    """For the group reading page (groups.panels.reading_extras), `live`: whether meeting
    mode runs and who leads it, whether one of the group's meetings is on (the page then asks
    for news more often, so that meeting mode reaches it within seconds once started), whether
    this member may run it, and the addresses the page needs. One query."""
    now = now or timezone.now()
    session, leader_id, name, username, on = _LIVE_STATE.first(
        pk=group_reading.pk,
        latest=now + MEETING_SLACK,
        earliest=now - MEETING_SLACK - MEETING_LONGEST,
    )
    archived = membership.group.is_archived
    args = [membership.group.slug, group_reading.reading.slug]
    return {
        "live": {
            "running": session is not None and not archived,
            "leader": name or username or "A former member",
            "leading": leader_id == membership.user_id,
            "meeting_on": on and not archived,
            "can_run": group_permits(membership, GroupAction.RUN_MEETING),
            "version": group_reading.live_version,
            "layer_version": group_reading.layer_version,  # what the page's layer.json is at
            "state_url": reverse("live:state", args=args),
            "start_url": reverse("live:start", args=args),
            "end_url": reverse("live:end", args=args),
            "spotlight_url": reverse("live:spotlight", args=args),
        }
    }


def connect() -> None:
    """Register meeting mode's extras on the reading page (called from MeetingsConfig.ready)."""
    register_reading_extras(reading_page_extras)


# --- views -----------------------------------------------------------------------------------


def _wants_json(request) -> bool:
    return request.headers.get("X-Requested-With") == "fetch" or "json" in request.headers.get(
        "Accept", ""
    )


def _answer(request, membership, group_reading, *, done: str = "", error: LiveError | None = None):
    """The state as JSON to the page's script (or the error, with its status); a plain form
    goes back to the reading page with a message."""
    if _wants_json(request):
        if error is not None:
            return JsonResponse({"error": str(error), "status": error.status}, status=error.status)
        return JsonResponse(live_state(membership, group_reading))
    if error is not None:
        messages.error(request, str(error))
    else:
        messages.success(request, done)
    return redirect(group_reading)


@login_required
@require_POST
def start(request, group_slug, reading_slug):
    group, membership, group_reading = group_reading_for(
        request, group_slug, reading_slug, GroupAction.RUN_MEETING
    )
    meeting = None
    try:
        if raw := request.POST.get("meeting"):
            meeting = Meeting.objects.filter(pk=_whole(raw, "meeting"), group=group).first()
            if meeting is None:
                raise LiveError("That is not a meeting of this group.")
        live_start(group_reading=group_reading, by=membership, meeting=meeting)
    except LiveError as error:
        return _answer(request, membership, group_reading, error=error)
    return _answer(request, membership, group_reading, done="Meeting mode is on.")


@login_required
@require_POST
def end(request, group_slug, reading_slug):
    group, membership, group_reading = group_reading_for(
        request, group_slug, reading_slug, GroupAction.RUN_MEETING
    )
    try:
        live_end(group_reading=group_reading)
    except LiveError as error:
        return _answer(request, membership, group_reading, error=error)
    return _answer(request, membership, group_reading, done="Meeting mode has ended.")


@login_required
@require_POST
def spotlight(request, group_slug, reading_slug):
    group, membership, group_reading = group_reading_for(
        request, group_slug, reading_slug, GroupAction.RUN_MEETING
    )
    data = request.POST
    try:
        live_spotlight(
            group_reading=group_reading,
            by=membership,
            kind=data.get("kind", ""),
            start=data.get("start"),
            end=data.get("end"),
            thread=data.get("thread"),
            item=data.get("item"),
        )
    except LiveError as error:
        return _answer(request, membership, group_reading, error=error)
    return _answer(request, membership, group_reading, done="Spotlighted for the group.")


@login_required
@require_safe
def state(request, group_slug, reading_slug):
    """live.json: meeting mode as this member may see it. Private, revalidated on every use;
    304 while it says the same."""
    group, membership, group_reading = group_reading_for_member(request, group_slug, reading_slug)
    body = json.dumps(live_state(membership, group_reading), separators=(",", ":")).encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, ["Cookie"])
    return get_conditional_response(request, etag=etag, response=response) or response
