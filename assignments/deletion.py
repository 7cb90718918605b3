"""What assignments say when a group or a reading is deleted, or a reading taken off a group's
list (commonplace/deletion.py): an assignment belongs to its group reading (its foreign key
cascades), so all three take the reading's assignments with them. A prompt (a facilitator's
question for an assignment) stays, as an ordinary question, where the reading stays."""

from assignments.models import Assignment, SectionRead
from commonplace.deletion import Consequence, counted, register_deletion_part


def connect() -> None:
    register_deletion_part("group", describe=describe_group)
    register_deletion_part("reading", describe=describe_reading)
    register_deletion_part("reading_removal", describe=describe_reading_removal)


def describe_group(group):
    count = Assignment.objects.filter(group_reading__group=group).count()
    if count:
        yield Consequence(counted(count, "assignment"))
    if SectionRead.objects.filter(membership__group=group).exists():
        yield Consequence("what each member marked read")


def describe_reading(group_reading):
    count = Assignment.objects.filter(group_reading=group_reading).count()
    if count:
        yield Consequence(f"{counted(count, 'assignment')} of it")
    marks = SectionRead.objects.filter(
        membership__group_id=group_reading.group_id, reading_id=group_reading.reading_id
    ).count()
    if marks:
        yield Consequence("what each member marked read in it")


def describe_reading_removal(group_reading):
    count = Assignment.objects.filter(group_reading=group_reading).count()
    if count:
        yield Consequence(
            f"its {counted(count, 'assignment')} (their discussion prompts stay, as ordinary "
            "questions)"
        )
