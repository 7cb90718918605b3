"""“Since your last visit”: the threads and replies of a group that are new to a member.

New means written by someone else after the member's previous visit ended
(`Membership.previous_visit_at`, kept by groups.services.membership_seen), or, on a first
visit, within the last FIRST_VISIT_WINDOW. Only what the permission table lets the member see
counts (annotations.access.visible_annotations): never a private note of someone else's, a
hidden one (to a member), or what "post before you peek" withholds. Bare highlights are not
threads until someone replies; deleted placeholders have nothing new to say.

Call groups.services.membership_seen *before* asking: when a new visit starts it moves
previous_visit_at on, and that is the moment "new" counts from for the whole visit.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Max, QuerySet
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from annotations.access import Action, author_label, permits, visible_annotations
from annotations.models import Annotation
from groups.models import GroupReading, Membership
from progress.excerpt import excerpt

FIRST_VISIT_WINDOW = timedelta(days=14)
SHOWN = 200  # the newest items the page lists; the count above them is of all that is new


def since_cutoff(membership: Membership, *, now: datetime | None = None) -> datetime:
    """After when what others wrote is new to this member. No query."""
    if membership.previous_visit_at is not None:
        return membership.previous_visit_at
    return (now or timezone.now()) - FIRST_VISIT_WINDOW


def news(membership: Membership, *, now: datetime | None = None) -> QuerySet:
    """What is new to the member in their group: annotations and replies they may see."""
    return (
        visible_annotations(membership)
        .filter(created_at__gt=since_cutoff(membership, now=now), deleted_at__isnull=True)
        .exclude(author_id=membership.user_id)
        .exclude(parent__isnull=True, motivation=Annotation.Motivation.HIGHLIGHTING)
    )


def new_count(membership: Membership, *, now: datetime | None = None) -> int:
    """How much is new to the member in the group: one query."""
    return news(membership, now=now).count()


def new_since(membership: Membership, group_reading: GroupReading) -> datetime | None:
    """For "new" markers on a group reading's page: the moment after which a thread's activity
    is new to this member, or None when nothing on this reading is new to them (then no
    marker is needed). One query (an EXISTS)."""
    found = news(membership).filter(reading_id=group_reading.reading_id).exists()
    return since_cutoff(membership) if found else None


def new_threads(membership: Membership, group_reading: GroupReading) -> dict[int, datetime]:
    """The threads of a group reading with something new to this member: {root id: the time
    of the newest new thing in it}. One query."""
    rows = (
        news(membership)
        .filter(reading_id=group_reading.reading_id)
        .annotate(in_thread=Coalesce("root_id", "pk"))
        .order_by()
        .values("in_thread")
        .annotate(latest=Max("created_at"))
        .values_list("in_thread", "latest")
    )
    return dict(rows)


# --- the page -------------------------------------------------------------------------------------


@dataclass
class NewItem:
    annotation: Annotation
    author: str
    text: str
    url: str  # its place in the thread page


@dataclass
class Thread:
    root: Annotation | None  # None when the member may not see the opening note (hidden)
    root_author: str
    root_text: str
    root_is_new: bool
    reading_title: str
    passage_url: str  # the reading page with this thread open at its passage
    thread_url: str
    replies: list[NewItem] = field(default_factory=list)  # new replies, oldest first
    latest: datetime | None = None


@dataclass
class Since:
    cutoff: datetime
    first_visit: bool
    total: int
    threads: list[Thread]

    @property
    def shown(self) -> int:
        return sum(t.root_is_new + len(t.replies) for t in self.threads)


def since(membership: Membership, *, now: datetime | None = None) -> Since:
    """The page: the newest SHOWN new items grouped by thread, newest activity first.
    Two queries, however much is new."""
    found = news(membership, now=now)
    total = found.count()
    items = list(
        found.select_related("author", "reading", "root", "root__author").order_by(
            "-created_at", "-pk"
        )[:SHOWN]
    )
    group = membership.group
    threads: dict[int, Thread] = {}
    for item in items:  # newest first: a thread's first item here is its latest
        item.group = group
        root = item if item.parent_id is None else item.root
        root.group, root.reading = group, item.reading
        if item.parent_id is not None:
            # A reply the member may see holds its thread's placeholder up, if it was deleted.
            root.has_visible_replies = True
        thread = threads.get(root.pk)
        if thread is None:
            shown = permits(membership, Action.SEE, root)
            page = reverse("annotations:reading", args=[group.slug, item.reading.slug])
            thread = threads[root.pk] = Thread(
                root=root if shown else None,
                root_author=author_label(membership, root) if shown else "",
                root_text=excerpt(root.body_html) if shown and not root.is_deleted else "",
                root_is_new=False,
                reading_title=item.reading.title,
                passage_url=f"{page}#a-{(root if shown else item).pk}",
                thread_url=(root if shown else item).get_absolute_url(),
                latest=item.created_at,
            )
        if item.parent_id is None:
            thread.root_is_new = True
        else:
            thread.replies.append(
                NewItem(
                    annotation=item,
                    author=author_label(membership, item),
                    text=excerpt(item.body_html),
                    url=item.get_absolute_url(),
                )
            )
    for thread in threads.values():
        thread.replies.reverse()
    return Since(
        cutoff=since_cutoff(membership, now=now),
        first_visit=membership.previous_visit_at is None,
        total=total,
        threads=list(threads.values()),
    )
