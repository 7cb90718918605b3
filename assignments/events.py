"""What happened to assignments, for the apps above this one (notifications) to act on.

Sent by assignments.services inside the write's transaction (see annotations/events.py)."""

from django.dispatch import Signal

assignment_created = Signal()  # assignment
