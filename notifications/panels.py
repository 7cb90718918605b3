"""What this app adds to the pages of lower apps: "Mute this thread" under a thread's first
note (annotations.extras)."""

from django.db.models import Q
from django.template.loader import render_to_string

from annotations.extras import register_thread_extras
from annotations.models import Annotation
from notifications.models import Mute


def connect() -> None:
    register_thread_extras(thread_mute)


def thread_mute(*, membership, root, reading, request=None, **_) -> list[str]:
    """A toggle to stop (or resume) hearing of the thread's replies; when the whole group is
    muted, a line saying so. One query; none for a private thread (only its author writes in
    it) or a reply's view."""
    if root.visibility != Annotation.Visibility.GROUP or root.parent_id is not None:
        return []
    found = set(
        Mute.objects.filter(user_id=membership.user_id, group_id=membership.group_id)
        .filter(Q(thread__isnull=True) | Q(thread_id=root.pk))
        .values_list("thread_id", flat=True)
    )
    context = {
        "group": membership.group,
        "reading_slug": reading.slug,
        "root": root,
        "group_muted": None in found,
        "muted": root.pk in found,
        "next": request.path if request else "",
    }
    return [render_to_string("notifications/_thread_mute.html", context, request=request)]
