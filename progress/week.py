"""“This week”: a member's current assignments and how far they are with each.

Current means not yet due, or due within the last OVERDUE_SHOWN (an assignment a week late is
still this week's business; older ones have had their meeting). For each: what to read (the
range, linked at its first paragraph), by when, the sections of the range marked read, the
notes the member wrote there (their own, shared or private: their count is theirs), the
notes from the group they can see there, and the prompts still waiting for their answer.

Everything others wrote is counted through annotations.access.visible_annotations, so the
permission table (private notes, hiding, "post before you peek") holds here as everywhere.

`this_week(memberships)` serves one group's home and the site's home (all the person's
groups) alike: one query when nothing is assigned, five when something is, however many
groups, assignments, sections and notes there are (plus what the permission table itself
asks: once per membership whose group has "post before you peek" running, and the count of
the notes waiting, once per reading where it holds).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from annotations.access import peek_locks, visible_annotations, withheld_counts
from annotations.models import Annotation
from assignments.models import Assignment, SectionRead
from groups.models import Membership
from progress.excerpt import excerpt
from progress.outline import IS_NOTE, Outline, Section, in_range, outlines

OVERDUE_SHOWN = timedelta(days=7)


@dataclass(frozen=True)
class Prompt:
    text: str
    url: str


@dataclass
class WeekItem:
    assignment: Assignment
    membership: Membership
    range_label: str
    url: str  # the reading page at the range's first paragraph
    sections: list[tuple[Section, bool]]  # each section of the range, and whether it is read
    notes: int  # the member's own, in the range
    group_notes: int  # the others' the member may see there
    prompts: list[Prompt]  # the prompts of the assignment they have not answered
    locked: bool  # "post before you peek" still hides the others' notes from them
    waiting: int  # how many notes it hides (annotations.access.withheld_counts)
    overdue: bool

    @property
    def group(self):
        return self.membership.group

    @property
    def reading(self):
        return self.assignment.group_reading.reading

    @property
    def dom_id(self) -> str:
        return f"week-{self.assignment.pk}"

    @property
    def sections_read(self) -> int:
        return sum(read for _, read in self.sections)

    @property
    def sections_total(self) -> int:
        return len(self.sections)


def current(now: datetime) -> Q:
    """The assignments a This week panel shows."""
    return Q(due_at__gt=now - OVERDUE_SHOWN)


def this_week(memberships, *, now: datetime | None = None) -> list[WeekItem]:
    """The current assignments of these memberships' groups (memberships with their group
    loaded), soonest due first, each with the member's progress."""
    now = now or timezone.now()
    by_group = {m.group_id: m for m in memberships}
    assignments = list(
        Assignment.objects.filter(current(now), group_reading__group_id__in=by_group)
        .select_related("group_reading__reading")
        .order_by("due_at", "position", "pk")
    )
    if not assignments:
        return []
    for assignment in assignments:  # the group is the membership's: no join for it
        assignment.group_reading.group = by_group[assignment.group_reading.group_id].group
    involved = [by_group[gid] for gid in {a.group_reading.group_id for a in assignments}]
    reading_ids = {a.group_reading.reading_id for a in assignments}
    user_id = involved[0].user_id

    shapes = outlines(reading_ids)
    read = set(
        SectionRead.objects.filter(
            membership_id__in=[m.pk for m in involved], reading_id__in=reading_ids
        ).values_list("membership_id", "reading_id", "section")
    )
    seen = reduce(or_, (visible_annotations(m) for m in involved))
    mine = Q(author_id=user_id)
    counts = seen.aggregate(
        **{
            f"{who}_{a.pk}": Count("pk", filter=in_range(a) & IS_NOTE & whose)
            for a in assignments
            for who, whose in (("mine", mine), ("theirs", ~mine))
        }
    )
    answered = Annotation.objects.filter(
        root_id=OuterRef("pk"), author_id=user_id, deleted_at__isnull=True
    )
    prompts: dict[int, list[tuple[int, str]]] = {}
    for pk, assignment_id, body_html in (
        seen.filter(
            prompt_of_id__in=[a.pk for a in assignments],
            parent__isnull=True,
            deleted_at__isnull=True,
        )
        .exclude(author_id=user_id)
        .exclude(Exists(answered))
        .order_by("start", "pk")
        .values_list("pk", "prompt_of_id", "body_html")
    ):
        prompts.setdefault(assignment_id, []).append((pk, excerpt(body_html)))

    waiting: dict[tuple[int, int], dict[int, int]] = {}  # asked only where a lock holds
    items = []
    for a in assignments:
        membership = by_group[a.group_reading.group_id]
        group, reading = membership.group, a.group_reading.reading
        shape = shapes.get(reading.pk, Outline([]))
        sections = shape.sections_between(a.first_block, a.last_block)
        locked_ids = {lock.assignment_id for lock in peek_locks(membership)}
        if a.pk in locked_ids and (membership.pk, reading.pk) not in waiting:
            waiting[membership.pk, reading.pk] = withheld_counts(membership, reading.pk)
        page = reverse("annotations:reading", args=[group.slug, reading.slug])
        items.append(
            WeekItem(
                assignment=a,
                membership=membership,
                range_label=shape.range_label(a.first_block, a.last_block),
                url=f"{page}#{a.first_block}",
                sections=[(s, (membership.pk, reading.pk, s.anchor) in read) for s in sections],
                notes=counts[f"mine_{a.pk}"],
                group_notes=counts[f"theirs_{a.pk}"],
                prompts=[
                    Prompt(text, reverse("annotations:thread", args=[group.slug, reading.slug, pk]))
                    for pk, text in prompts.get(a.pk, [])
                ],
                locked=a.pk in locked_ids,
                waiting=waiting.get((membership.pk, reading.pk), {}).get(a.pk, 0),
                overdue=a.due_at <= now,
            )
        )
    return items
