"""What the agenda page suggests a facilitator pins, in four lists of at most SHOWN each:

- **Most discussed since the last meeting**: threads by the number of replies written since the
  previous meeting's start (the latest earlier meeting not cancelled), or, before the group's
  first meeting, since the group's first activity (all its replies); at least one.
- **Unanswered questions**: questions (prompts aside) none of whose replies is marked the
  answer, oldest first: the longest waiting.
- **Prompts with the most replies**: the facilitators' prompts (Annotation.prompt_of), by all
  their replies; at least one.
- **Raised for the meeting**: threads members marked "raise at the meeting", by how many
  current members did (a member who left no longer counts; marking a thread discussed clears
  its raises, see meetings.services).

Every list starts from meetings.services.pinnable(facilitator): roots of the group the
facilitator may see through annotations.access.visible_annotations, shared with the group,
neither hidden nor deleted, on a reading the group reads. A facilitator sees hidden notes, so
the filter on `hidden_at` is what keeps them out; a private note is never anyone's but its
author's. Replies are counted likewise: shared, not hidden, not deleted. Threads already on
this meeting's agenda are left out. Five queries, however much the group has written.
"""

from dataclasses import dataclass, field
from datetime import datetime
from html import unescape

from django.db.models import Count, Exists, OuterRef, Q
from django.utils.html import strip_tags
from django.utils.text import Truncator

from annotations.access import author_label
from annotations.models import Annotation
from groups.models import Membership
from meetings.models import AgendaItem, Meeting
from meetings.services import pinnable

SHOWN = 5
EXCERPT_LENGTH = 160


@dataclass
class Suggestion:
    thread: Annotation
    count: int
    author: str
    excerpt: str

    @property
    def reading(self):
        return self.thread.reading


@dataclass
class Suggestions:
    since: datetime | None  # None: since the group's first activity
    discussed: list[Suggestion] = field(default_factory=list)
    unanswered: list[Suggestion] = field(default_factory=list)
    prompts: list[Suggestion] = field(default_factory=list)
    raised: list[Suggestion] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.discussed or self.unanswered or self.prompts or self.raised)


def previous_start(meeting: Meeting) -> datetime | None:
    """When the group's meeting before this one started (cancelled ones do not count)."""
    return (
        Meeting.objects.filter(
            group_id=meeting.group_id,
            cancelled_at__isnull=True,
            starts_at__lt=meeting.starts_at,
        )
        .order_by("-starts_at")
        .values_list("starts_at", flat=True)
        .first()
    )


def _shared_replies(since: datetime | None = None) -> Q:
    """The replies of a thread (Annotation.thread) that count: shared, not hidden or deleted."""
    found = Q(
        thread__visibility=Annotation.Visibility.GROUP,
        thread__hidden_at__isnull=True,
        thread__deleted_at__isnull=True,
    )
    if since is not None:
        found &= Q(thread__created_at__gte=since)
    return found


def plain(html: str) -> str:
    """Cleaned body HTML as one line of plain text, cut short."""
    return Truncator(" ".join(unescape(strip_tags(html)).split())).chars(EXCERPT_LENGTH)


def _made(membership: Membership, rows, count_of) -> list[Suggestion]:
    return [
        Suggestion(
            thread=row,
            count=count_of(row),
            author=author_label(membership, row),
            excerpt=plain(row.body_html),
        )
        for row in rows
    ]


def suggestions(meeting: Meeting, membership: Membership) -> Suggestions:
    """The four lists for this meeting's agenda page, as `membership` (a facilitator of the
    meeting's group) may see them."""
    assert membership.group_id == meeting.group_id
    since = previous_start(meeting)
    pinned = AgendaItem.objects.filter(meeting=meeting, thread__isnull=False).values("thread_id")
    roots = (
        pinnable(membership).exclude(pk__in=pinned).select_related("author", "reading").order_by()
    )
    discussed = (
        roots.annotate(recent=Count("thread", filter=_shared_replies(since)))
        .filter(recent__gt=0)
        .order_by("-recent", "-pk")[:SHOWN]
    )
    answers = Annotation.objects.filter(
        root_id=OuterRef("pk"),
        is_answer=True,
        deleted_at__isnull=True,
        hidden_at__isnull=True,
        visibility=Annotation.Visibility.GROUP,
    )
    unanswered = (
        roots.filter(motivation=Annotation.Motivation.QUESTIONING, prompt_of__isnull=True)
        .exclude(Exists(answers))
        .annotate(replies=Count("thread", filter=_shared_replies()))
        .order_by("created_at", "pk")[:SHOWN]
    )
    prompts = (
        roots.filter(prompt_of__isnull=False)
        .annotate(replies=Count("thread", filter=_shared_replies()))
        .filter(replies__gt=0)
        .order_by("-replies", "pk")[:SHOWN]
    )
    raised = (
        roots.annotate(
            raised=Count(
                "raises",
                filter=Q(raises__user__memberships__group_id=meeting.group_id),
                distinct=True,
            )
        )
        .filter(raised__gt=0)
        .order_by("-raised", "pk")[:SHOWN]
    )
    return Suggestions(
        since=since,
        discussed=_made(membership, discussed, lambda row: row.recent),
        unanswered=_made(membership, unanswered, lambda row: row.replies),
        prompts=_made(membership, prompts, lambda row: row.replies),
        raised=_made(membership, raised, lambda row: row.raised),
    )
