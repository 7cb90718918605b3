from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from readings.article import reading_article
from readings.models import Reading


def reading_for_reader(request, slug: str) -> Reading:
    """The reading, if this person may read it; 404 otherwise."""
    return get_object_or_404(Reading.objects.visible_to(request.user), slug=slug)


@require_safe
@login_required
def library(request):
    readings = Reading.objects.public().order_by("title")
    return render(request, "readings/library.html", {"readings": readings})


@require_safe
@login_required
def detail(request, slug):
    reading = reading_for_reader(request, slug)
    article = reading_article(reading)
    return render(request, "readings/detail.html", {"reading": reading, "article": article.html()})


@require_safe
@login_required
def plain_text(request, slug):
    reading = reading_for_reader(request, slug)
    response = HttpResponse(reading.canonical_text(), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{reading.slug}.txt"'
    return response
