"""What annotations say and do when a group, a reading or an account is deleted
(commonplace/deletion.py).

A group or a reading takes its annotations with it (their foreign keys cascade). An account
does not: its shared notes and replies are part of other people's threads, so they stay,
their author set to nobody by the foreign key (`on_delete=SET_NULL`), and the permission
table then names them “former member” everywhere it names authors (annotations.access
`author_label`: pages, threads, the layer, the W3C API, exports, search, agendas). Its
private notes reach no one else, so they go, first: once the author is gone nobody could
see them, and they would linger as nobody's rows.

Counts shown to a facilitator leave other people's private notes uncounted (a private note
reaches no one but its author, not even as a number); the page says that they go too.
"""

from django.db.models import Count, Q

from annotations.models import Annotation, Flag, PlusOne
from annotations.services import _layer_changed, _rendered, member_usernames
from commonplace.deletion import Consequence, counted, register_deletion_part
from groups.deletion import groups_only_member

SHARED = Annotation.Visibility.GROUP
PRIVATE = Annotation.Visibility.PRIVATE


def connect() -> None:
    register_deletion_part("group", describe=describe_group)
    register_deletion_part("reading", describe=describe_reading)
    register_deletion_part("reading_removal", describe=describe_reading_removal)
    register_deletion_part("account", describe=describe_account, prepare=prepare_account)


def _threads_and_replies(rows) -> tuple[int, int]:
    found = rows.filter(visibility=SHARED).aggregate(
        threads=Count("pk", filter=Q(parent__isnull=True)),
        replies=Count("pk", filter=Q(parent__isnull=False)),
    )
    return found["threads"], found["replies"]


def _shared_line(threads: int, replies: int) -> str:
    return (
        f"{counted(threads, 'shared note or highlight', 'shared notes and highlights')} "
        f"with {counted(replies, 'reply', 'replies')}"
    )


def describe_group(group):
    threads, replies = _threads_and_replies(Annotation.objects.filter(group=group))
    if threads:
        yield Consequence(_shared_line(threads, replies) + ", hidden ones included")
    yield Consequence("every member's private notes in the group")


def describe_reading(group_reading):
    rows = Annotation.objects.filter(group=group_reading.group, reading=group_reading.reading)
    threads, replies = _threads_and_replies(rows)
    if threads:
        yield Consequence("the group's " + _shared_line(threads, replies) + " on it")
    yield Consequence("every member's private notes on it")


def describe_reading_removal(group_reading):
    rows = Annotation.objects.filter(group=group_reading.group, reading=group_reading.reading)
    threads, replies = _threads_and_replies(rows)
    counts = f" ({_shared_line(threads, replies)}, and any private notes)" if threads else ""
    yield Consequence(
        f"the group's annotations on it are kept{counts}, and come back if a facilitator adds "
        "it again",
        kept=True,
    )


# --- an account --------------------------------------------------------------------------------


def _own(user):
    """The account's annotations in the groups that outlive it."""
    gone = [group.pk for group in groups_only_member(user)]
    return Annotation.objects.filter(author=user).exclude(group_id__in=gone)


def describe_account(user):
    own = _own(user)
    found = own.aggregate(
        shared=Count("pk", filter=Q(visibility=SHARED, deleted_at__isnull=True)),
        private=Count("pk", filter=Q(visibility=PRIVATE)),
    )
    if found["private"]:
        yield Consequence(f"your {counted(found['private'], 'private note')} (“only me”)")
    flags = Flag.objects.filter(user=user, resolved_at__isnull=True).count()
    if flags:
        yield Consequence(f"the {counted(flags, 'flag')} you raised and nobody has settled yet")
    shared = counted(
        found["shared"], "shared note, highlight or reply", "shared notes, highlights and replies"
    )
    if found["shared"]:
        where = (
            "stays where it is in its group"
            if found["shared"] == 1
            else "stay where they are in their groups"
        )
        yield Consequence(f"your {shared} {where}, shown as written by “former member”", kept=True)
    if PlusOne.objects.filter(user=user).exists():
        yield Consequence("your +1s still count, without your name", kept=True)


def prepare_account(user) -> None:
    """Delete the account's private notes (and so their replies, all of them its own: a
    private thread takes no one else's), telling each layer that changed."""
    private = Annotation.objects.filter(author=user, visibility=PRIVATE)
    layers = set(private.order_by().values_list("reading_id", "group_id").distinct())
    private.delete()
    # Others' words that @mention the account: drawn again without the link to it, so that a
    # later account taking the username does not inherit them.
    members_of: dict[int, dict] = {}
    for annotation in Annotation.objects.filter(mentions__user=user).select_related(
        "group", "reading"
    ):
        if annotation.group_id not in members_of:
            members = member_usernames(annotation.group)
            members_of[annotation.group_id] = {
                name: member for name, member in members.items() if member.pk != user.pk
            }
        annotation.body_html, _ = _rendered(annotation, members_of[annotation.group_id])
        annotation.save(update_fields=["body_html"])
        layers.add((annotation.reading_id, annotation.group_id))
    for reading_id, group_id in sorted(layers):
        _layer_changed(reading_id=reading_id, group_id=group_id)
