"""Access to annotations: the group's walls first, then who may see and change each item."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from annotations.models import Annotation
from groups.access import group_reading_for_member


def annotation_for_reader(request, group_slug, reading_slug, annotation_id):
    """(group, membership, group_reading, annotation) if the person may see it; else 404."""
    group, membership, group_reading = group_reading_for_member(request, group_slug, reading_slug)
    annotation = (
        Annotation.objects.visible_to(request.user, group, is_facilitator=membership.is_facilitator)
        .filter(reading=group_reading.reading, pk=annotation_id)
        .select_related("author", "group", "reading", "parent", "hidden_by")
        .first()
    )
    if annotation is None:
        raise Http404("No such annotation.")
    return group, membership, group_reading, annotation


def annotation_for_author(request, group_slug, reading_slug, annotation_id):
    """As annotation_for_reader, and 403 unless the person wrote it."""
    found = annotation_for_reader(request, group_slug, reading_slug, annotation_id)
    if found[3].author_id != request.user.pk:
        raise PermissionDenied("Only its author can change an annotation.")
    return found


def may_mark_answer(annotation: Annotation, membership) -> bool:
    """The asker (author of the thread's question) or a facilitator."""
    root = annotation.root
    return bool(
        root is not None
        and root.is_question
        and (membership.is_facilitator or root.author_id == membership.user_id)
    )
