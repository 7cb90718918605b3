"""The lower apps' events, heard: each becomes notifications in the same transaction (the
events are sent inside the writes' transactions, see annotations/events.py)."""

from annotations import events as annotation_events
from assignments import events as assignment_events
from meetings import events as meeting_events
from notifications import services


def _annotation_created(sender, annotation, mentioned, **kwargs):
    services.annotation_notify(annotation=annotation, mentioned=mentioned)


def _mentions_added(sender, annotation, mentioned, **kwargs):
    services.mentions_notify(annotation=annotation, mentioned=mentioned)


def _answer_marked(sender, reply, by, **kwargs):
    services.answer_notify(reply=reply, by=by)


def _flag_raised(sender, flag, **kwargs):
    services.flag_notify(flag=flag)


def _assignment_created(sender, assignment, **kwargs):
    services.assignment_notify(assignment=assignment)


def _meeting(event):
    def receiver(sender, meeting, by=None, was_starts_at=None, **kwargs):
        services.meeting_notify(meeting=meeting, event=event, by=by, was_starts_at=was_starts_at)

    return receiver


_scheduled, _moved, _cancelled = _meeting("scheduled"), _meeting("moved"), _meeting("cancelled")


def _recap_posted(sender, meeting, by=None, **kwargs):
    services.recap_notify(meeting=meeting, by=by)


def connect() -> None:
    uid = "notifications"
    annotation_events.annotation_created.connect(_annotation_created, dispatch_uid=uid)
    annotation_events.mentions_added.connect(_mentions_added, dispatch_uid=uid)
    annotation_events.answer_marked.connect(_answer_marked, dispatch_uid=uid)
    annotation_events.flag_raised.connect(_flag_raised, dispatch_uid=uid)
    assignment_events.assignment_created.connect(_assignment_created, dispatch_uid=uid)
    meeting_events.meeting_scheduled.connect(_scheduled, dispatch_uid=uid)
    meeting_events.meeting_moved.connect(_moved, dispatch_uid=uid)
    meeting_events.meeting_cancelled.connect(_cancelled, dispatch_uid=uid)
    meeting_events.recap_posted.connect(_recap_posted, dispatch_uid=uid)
