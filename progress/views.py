"""Progress pages: what is new since the last visit, a group reading's contents with what the
member has read, marking a section read, and the facilitator's participation view.

Every view asks groups.access first (a non-member gets 404, a member without the role 403),
notes the visit (groups.services.membership_seen), and counts others' writing only through
annotations.access.
"""

import csv
from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from annotations.access import peek_locks
from assignments.models import SectionRead
from groups.access import GroupAction, group_for_member, group_reading_for
from groups.services import membership_seen
from progress import services
from progress.excerpt import excerpt
from progress.participation import (
    COLUMNS,
    binned,
    csv_table,
    header_links,
    heat_by_start,
    sort_rows,
)
from progress.participation import (
    participation as participation_rows,
)
from progress.since import since as since_page
from progress.week import OVERDUE_SHOWN
from readings.layout import reading_layout

GATHERED_SHOWN = 12  # paragraphs in "Where the discussion gathered"


@login_required
@require_safe
def since(request, group_slug):
    group, membership = group_for_member(request, group_slug)
    membership_seen(membership=membership)
    context = {"group": group, "membership": membership, "since": since_page(membership)}
    return render(request, "progress/since.html", context)


def _blocks(layout: dict) -> list:
    return [block for section in layout["sections"] for block in section.block_list]


def _in(assignment, block) -> bool:
    return block.start < assignment.end and block.start + len(block.text) > assignment.start


@login_required
@require_safe
def contents(request, group_slug, reading_slug):
    """The reading's sections, each with what is assigned in it and whether the member has
    marked it read (and a button to change that)."""
    group, membership, group_reading = group_reading_for(request, group_slug, reading_slug)
    membership_seen(membership=membership)
    reading = group_reading.reading
    layout = reading_layout(reading)
    assignments = list(group_reading.assignments.all())
    read = set(
        SectionRead.objects.filter(membership=membership, reading=reading).values_list(
            "section", flat=True
        )
    )
    locked = {lock.assignment_id for lock in peek_locks(membership)}
    sections = []
    for section in layout["sections"]:
        if not section.block_list:
            continue
        section.is_read = section.anchor in read
        section.label = section.heading or "Introduction"
        section.assigned = [
            a for a in assignments if any(_in(a, block) for block in section.block_list)
        ]
        numbers = [block.number for block in section.block_list if block.number]
        section.paragraphs = (
            ""
            if not numbers
            else f"¶ {numbers[0]}"
            if numbers[0] == numbers[-1]
            else f"¶ {numbers[0]}–{numbers[-1]}"
        )
        sections.append(section)
    now = timezone.now()
    for assignment in assignments:
        assignment.locked = assignment.pk in locked
        assignment.is_current = assignment.due_at > now - OVERDUE_SHOWN
    context = {
        "group": group,
        "membership": membership,
        "reading": reading,
        "group_reading": group_reading,
        "sections": sections,
        "read_count": sum(s.is_read for s in sections),
        "assignments": assignments,
    }
    return render(request, "progress/contents.html", context)


def _safe_next(request, fallback: str) -> str:
    """A local address to go back to (the page the button was on), else `fallback`."""
    wanted = request.POST.get("next", "")
    if (
        wanted.startswith("/")
        and not wanted.startswith("//")
        and "\\" not in wanted
        and url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        and not urlsplit(wanted).netloc
    ):
        return wanted
    return fallback


@login_required
@require_POST
def section_read(request, group_slug, reading_slug, section_anchor):
    """Mark a section read (`read=1`, the default) or unmark it (`read=0`), then go back to
    `next`. Allowed in an archived group: it is the member's own progress."""
    group, membership, group_reading = group_reading_for(
        request, group_slug, reading_slug, GroupAction.MARK_READ
    )
    reading = group_reading.reading
    if not reading.sections.filter(anchor=section_anchor).exists():
        raise Http404("No such section.")
    membership_seen(membership=membership)
    if request.POST.get("read") == "0":
        services.section_read_unmark(membership=membership, reading=reading, section=section_anchor)
    else:
        services.section_read_mark(membership=membership, reading=reading, section=section_anchor)
    fallback = reverse("progress:contents", args=[group.slug, reading.slug]) + f"#{section_anchor}"
    return redirect(_safe_next(request, fallback))


# --- the facilitator's view -----------------------------------------------------------------------


def _chosen(request, assignments, now):
    """The assignment asked for (?assignment=<id>, or "all" for all time); by default the
    current one due soonest, else the one due last, else all time."""
    wanted = request.GET.get("assignment", "")
    if wanted == "all":
        return None
    if wanted:
        return next((a for a in assignments if str(a.pk) == wanted), None)
    upcoming = sorted((a for a in assignments if a.due_at > now), key=lambda a: a.due_at)
    if upcoming:
        return upcoming[0]
    return max(assignments, key=lambda a: a.due_at, default=None)


@login_required
@require_safe
def participation(request, group_slug, reading_slug):
    group, membership, group_reading = group_reading_for(
        request, group_slug, reading_slug, GroupAction.VIEW_PARTICIPATION
    )
    membership_seen(membership=membership)
    reading = group_reading.reading
    assignments = list(group_reading.assignments.all())
    assignment = _chosen(request, assignments, timezone.now())
    layout = reading_layout(reading)
    blocks = _blocks(layout)
    chosen_blocks = [b for b in blocks if assignment is None or _in(assignment, b)]
    section_of = {s.id: s for s in layout["sections"]}
    sections = list(dict.fromkeys(section_of[b.section_id].anchor for b in chosen_blocks))

    rows = participation_rows(membership, group_reading, assignment, sections)
    rows, sort_key, descending = sort_rows(rows, request.GET.get("sort", ""))
    if request.GET.get("format") == "csv":
        return _csv(group, reading, assignment, rows, len(sections))

    heat = binned(
        heat_by_start(membership, group_reading, assignment),
        [(b.anchor, b.start) for b in blocks],
        assignment,
    )
    page = reverse("annotations:reading", args=[group.slug, reading.slug])
    gathered = []
    for order, block in enumerate(blocks):
        threads, replies = heat.get(block.anchor, (0, 0))
        if threads or replies:
            gathered.append(
                {
                    "order": order,
                    "block": block,
                    "section": section_of[block.section_id].heading or "Introduction",
                    "text": excerpt(block.text, 120),
                    "threads": threads,
                    "replies": replies,
                    "url": f"{page}#{block.anchor}",
                }
            )
    gathered.sort(key=lambda g: (-(g["threads"] + g["replies"]), -g["threads"], g["order"]))
    most = max((g["threads"] + g["replies"] for g in gathered), default=0)
    for g in gathered:
        g["tenth"] = round(10 * (g["threads"] + g["replies"]) / most) if most else 0
    query = request.GET.copy()
    query.pop("format", None)
    context = {
        "group": group,
        "membership": membership,
        "reading": reading,
        "assignments": assignments,
        "assignment": assignment,
        "selection": str(assignment.pk) if assignment else "all",
        "rows": rows,
        "headers": header_links(sort_key, descending),
        "sort": request.GET.get("sort", ""),
        "columns": COLUMNS,
        "sections_total": len(sections),
        "gathered": gathered[:GATHERED_SHOWN],
        "gathered_total": len(gathered),
        "csv_query": _query(
            query, format="csv", assignment=str(assignment.pk) if assignment else "all"
        ),
    }
    return render(request, "progress/participation.html", context)


def _query(query, **changes) -> str:
    query = query.copy()
    for key, value in changes.items():
        query[key] = value
    return query.urlencode()


def _csv(group, reading, assignment, rows, sections_total) -> HttpResponse:
    name = (
        f"{group.slug}-{reading.slug}-{f'assignment-{assignment.pk}' if assignment else 'all-time'}"
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-participation.csv"'
    csv.writer(response).writerows(csv_table(rows, sections_total))
    return response
