"""A meeting's agenda as one member may see it.

Pinned threads go through annotations.access.visible_annotations of the viewer: a member never
sees on an agenda a thread they may not see (hidden since it was pinned, or waiting behind
"post before you peek" for them); a facilitator sees it, marked hidden. Free items are
everyone's. Three queries: the items, the threads the viewer may see with their visible
replies counted, and nothing more.
"""

from dataclasses import dataclass

from django.db.models import Count, Q

from annotations.access import author_label, visible_annotations
from annotations.models import Annotation
from groups.models import Membership
from meetings.models import AgendaItem, Meeting
from meetings.suggestions import plain


@dataclass
class Entry:
    item: AgendaItem
    thread: Annotation | None = None
    author: str = ""
    excerpt: str = ""
    replies: int = 0

    @property
    def discussed(self) -> bool:
        return self.item.discussed_at is not None


def agenda(meeting: Meeting, membership: Membership) -> list[Entry]:
    """The meeting's items in order, as `membership` may see them."""
    items = list(
        AgendaItem.objects.filter(meeting=meeting)
        .select_related("thread__reading", "thread__author")
        .order_by("position", "pk")
    )
    thread_ids = [item.thread_id for item in items if item.thread_id]
    seen = {}
    if thread_ids:
        visible = visible_annotations(membership)
        seen = {
            row.pk: row.replies
            for row in visible.filter(pk__in=thread_ids)
            .annotate(
                replies=Count(
                    "thread",
                    filter=Q(thread__in=visible.filter(root_id__in=thread_ids)),
                )
            )
            .only("pk")
        }
    entries = []
    for item in items:
        if item.thread_id is None:
            entries.append(Entry(item=item))
        elif item.thread_id in seen:
            thread = item.thread
            entries.append(
                Entry(
                    item=item,
                    thread=thread,
                    author=author_label(membership, thread),
                    excerpt="" if thread.deleted_at else plain(thread.body_html),
                    replies=seen[item.thread_id],
                )
            )
    return entries
