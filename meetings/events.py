"""What happened to meetings, for the apps above this one (notifications) to act on.

Sent by meetings.services inside the write's transaction (see annotations/events.py).
`by`: who did it, when the caller says (they are not told of their own change)."""

from django.dispatch import Signal

meeting_scheduled = Signal()  # meeting, by
meeting_moved = Signal()  # meeting, by, was_starts_at
meeting_cancelled = Signal()  # meeting, by
recap_posted = Signal()  # meeting, by
