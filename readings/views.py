from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from readings import text
from readings.models import Reading


def reading_for_reader(request, slug: str) -> Reading:
    """The reading, if this person may read it; 404 otherwise."""
    return get_object_or_404(Reading.objects.visible_to(request.user), slug=slug)


def reading_layout(reading: Reading) -> dict:
    """Sections with their blocks, paragraph numbers and the table of contents: 2 queries."""
    sections = list(reading.sections.all())
    blocks = list(reading.blocks.all())
    by_section: dict[int, list] = {section.id: [] for section in sections}
    number = 0
    for segment in text.segments(sections, blocks):
        if segment.kind == "heading":
            segment.obj.start = segment.start
            continue
        block = segment.obj
        if block.kind != block.Kind.CAPTION:
            number += 1
            block.number = number
        else:
            block.number = None
        block.start = segment.start
        by_section[block.section_id].append(block)
    for section in sections:
        section.block_list = by_section[section.id]
    toc: list = []  # level-1 sections, each with .children (its subsections)
    for section in sections:
        section.children = []
        if not section.heading:
            continue
        if section.level > 1 and toc:
            toc[-1].children.append(section)
        else:
            toc.append(section)
    return {"sections": sections, "toc": toc, "paragraph_count": number}


@require_safe
@login_required
def library(request):
    readings = Reading.objects.public().order_by("title")
    return render(request, "readings/library.html", {"readings": readings})


@require_safe
@login_required
def detail(request, slug):
    reading = reading_for_reader(request, slug)
    context = {"reading": reading, **reading_layout(reading)}
    return render(request, "readings/detail.html", context)


@require_safe
@login_required
def plain_text(request, slug):
    reading = reading_for_reader(request, slug)
    response = HttpResponse(reading.canonical_text(), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{reading.slug}.txt"'
    return response
