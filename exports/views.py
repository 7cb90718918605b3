"""Downloads of a group's discussion of a reading (Markdown, CSV, W3C JSON-LD), the printable
discussion packet, and "My notes": everything the signed-in person wrote.

Every view asks groups.access first (a non-member gets 404, a signed-out visitor the log-in
page) and reads through exports.discussion, which asks the annotation permission table. None
writes anything, not even a visit.
"""

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from annotations import w3c
from commonplace.ratelimits import rate_limit
from exports.discussion import facilitator_ids, group_discussion, my_notes
from exports.jsonld import discussion_jsonld, my_notes_jsonld
from exports.markdown import my_study_notes, study_notes
from exports.tables import discussion_csv, my_notes_csv
from groups.access import group_reading_for_member

MARKDOWN = "text/markdown; charset=utf-8"
CSV = "text/csv; charset=utf-8"


def _download(content: str, content_type: str, filename: str) -> HttpResponse:
    """An attachment that no cache keeps (it may hold the person's private notes)."""
    response = HttpResponse(content.encode(), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    patch_cache_control(response, private=True, no_store=True)
    return response


def _today() -> str:
    return timezone.localdate().isoformat()


def _name(group, reading, extension: str) -> str:
    return f"{group.slug}-{reading.slug}-{_today()}.{extension}"


def _jsonld(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


@login_required
@require_safe
@rate_limit("export")
def markdown(request, group_slug, reading_slug):
    group, membership, group_reading = group_reading_for_member(request, group_slug, reading_slug)
    found = group_discussion(membership, group_reading)
    text = study_notes(found, viewer=request.user)
    return _download(text, MARKDOWN, _name(group, group_reading.reading, "md"))


@login_required
@require_safe
@rate_limit("export")
def csv(request, group_slug, reading_slug):
    group, membership, group_reading = group_reading_for_member(request, group_slug, reading_slug)
    found = group_discussion(membership, group_reading)
    return _download(discussion_csv(found), CSV, _name(group, group_reading.reading, "csv"))


@login_required
@require_safe
@rate_limit("export")
def jsonld(request, group_slug, reading_slug):
    group, membership, group_reading = group_reading_for_member(request, group_slug, reading_slug)
    found = group_discussion(membership, group_reading)
    data = discussion_jsonld(request, found, now=timezone.now())
    name = _name(group, group_reading.reading, "jsonld")
    return _download(_jsonld(data), w3c.CONTENT_TYPE, name)


@login_required
@require_safe
@rate_limit("export")
def packet(request, group_slug, reading_slug):
    """The reading with the group's threads beside their passages, laid out to print."""
    group, membership, group_reading = group_reading_for_member(request, group_slug, reading_slug)
    private = request.GET.get("private") != "0"
    found = group_discussion(membership, group_reading, private=private)
    # Threads, not marks: a highlight nobody replied to is left out of the packet.
    shown = [t for t in found.threads if not t.is_bare_highlight]
    for section in found.sections:
        for block in section.block_list:
            block.shown_threads = [t for t in block.threads if not t.is_bare_highlight]
    context = {
        "group": group,
        "membership": membership,
        "reading": group_reading.reading,
        "discussion": found,
        "sections": found.sections,
        "page_notes": [t for t in shown if t.is_page_note],
        "orphans": [t for t in shown if t.is_orphan],
        "thread_count": len(shown),
        "reply_count": sum(1 for t in shown for n in t.notes if n.annotation.is_reply),
        "facilitator_ids": facilitator_ids(group),
        "private": private,
        "has_private": any(n.annotation.is_private for n in found.notes) or not private,
        "now": timezone.now(),
        "zone": timezone.get_current_timezone_name(),
    }
    return render(request, "exports/packet.html", context)


# --- my notes ----------------------------------------------------------------------------------


@login_required
@require_safe
def my_notes_page(request):
    """What "My notes" holds, by group and reading, with the downloads."""
    places = my_notes(request.user)
    context = {"places": places, "total": sum(len(place.notes) for place in places)}
    return render(request, "exports/my_notes.html", context)


@login_required
@require_safe
@rate_limit("export")
def my_notes_markdown(request):
    text = my_study_notes(my_notes(request.user), viewer=request.user)
    return _download(text, MARKDOWN, _my_name(request.user, "md"))


@login_required
@require_safe
@rate_limit("export")
def my_notes_csv_download(request):
    return _download(my_notes_csv(my_notes(request.user)), CSV, _my_name(request.user, "csv"))


@login_required
@require_safe
@rate_limit("export")
def my_notes_jsonld_download(request):
    data = my_notes_jsonld(request, my_notes(request.user), now=timezone.now())
    return _download(_jsonld(data), w3c.CONTENT_TYPE, _my_name(request.user, "jsonld"))


def _my_name(user, extension: str) -> str:
    return f"my-notes-{user.username}-{_today()}.{extension}"
