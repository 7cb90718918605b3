from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from commonplace.ratelimits import rate_limit
from groups.access import group_for_member
from search.forms import Choices, SearchForm
from search.query import PAGE_SIZE, search, tag_seen

STYLESHEET = "css/search.css"


def _page_number(request) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 6 else 1


@login_required
@require_safe
@rate_limit("search")
def results(request, group_slug):
    """Search the group's notes: the form, and a page of what it finds (search/query.py)."""
    group, membership = group_for_member(request, group_slug)
    form = SearchForm(request.GET or None, choices=Choices.for_group(group))
    found, unknown_tag = None, ""
    if form.is_valid():
        criteria = form.criteria()
        if criteria.active:
            found = search(membership, criteria, page=_page_number(request))
            if not found.total and criteria.tag and not tag_seen(membership, criteria.tag):
                unknown_tag = criteria.tag
    context = {
        "group": group,
        "membership": membership,
        "form": form,
        "found": found,
        "unknown_tag": unknown_tag,
        "page_size": PAGE_SIZE,
        "stylesheet": STYLESHEET,
    }
    return render(request, "search/results.html", context)
