"""What meetings say when a group, a reading or an account is deleted
(commonplace/deletion.py): a group's meetings go with it; an agenda item pinning a thread goes
with the thread; a person's calendar addresses go with their account."""

from commonplace.deletion import Consequence, counted, register_deletion_part
from meetings.models import AgendaItem, CalendarFeed, Meeting


def connect() -> None:
    register_deletion_part("group", describe=describe_group)
    register_deletion_part("reading", describe=describe_reading)
    register_deletion_part("account", describe=describe_account)


def describe_group(group):
    count = Meeting.objects.filter(group=group).count()
    if count:
        yield Consequence(
            f"{counted(count, 'meeting')}, with their agendas and recaps (they leave members' "
            "calendars too)"
        )


def describe_reading(group_reading):
    count = AgendaItem.objects.filter(
        meeting__group_id=group_reading.group_id,
        thread__reading_id=group_reading.reading_id,
    ).count()
    if count:
        yield Consequence(
            f"{counted(count, 'agenda item')} pinning its threads (the meetings stay)"
        )


def describe_account(user):
    if CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).exists():
        yield Consequence("your calendar address: calendar apps that follow it stop updating")
