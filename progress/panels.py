"""What progress adds to the pages of apps below it, through groups.panels (registered in
apps.py): the group home's panel, and the group reading page's extras."""

import re

from django.middleware.csrf import get_token
from django.template.loader import get_template
from django.urls import reverse
from django.utils.html import escape

from assignments.models import SectionRead
from groups.access import GroupAction, group_permits
from progress.participation import heat
from progress.since import new_count, new_since, new_threads
from progress.week import this_week

STYLESHEET = "css/progress.css"
# Stand-ins for a section's anchor and name in the section button rendered once per page
# (_section_buttons): a slug, as an anchor is, so the button's URL reverses with it.
ANCHOR_STAND_IN = "commonplace-section-anchor-stand-in"
LABEL_STAND_IN = "commonplace-section-label-stand-in"
PLAIN_ANCHOR = re.compile(r"[-a-zA-Z0-9_]+")


def group_home_panel(request, page: dict) -> tuple[str, dict]:
    """This week in the group, what is new since the last visit, and the ways on: each
    reading's contents (read state) and, for facilitators, its participation page. The group
    home has called membership_seen already, so "new" counts from the previous visit."""
    group, membership = page["group"], page["membership"]
    readings = [gr.reading for gr in page["group_readings"]]
    context = {
        "stylesheet": STYLESHEET,
        "week": this_week([membership]),
        "new_count": new_count(membership),
        "first_visit": membership.previous_visit_at is None,
        "since_url": reverse("progress:since", args=[group.slug]),
        "readings": readings,
        "participation": group_permits(membership, GroupAction.VIEW_PARTICIPATION),
        "next": reverse("groups:detail", args=[group.slug]),
    }
    return "progress/_group_panel.html", context


def reading_page_extras(
    *, membership, group_reading, request=None, assignment=None, new=True, **_
) -> dict:
    """For the group reading page (annotations.views.reading asks groups.panels.reading_extras,
    after groups.services.membership_seen):

    - `progress_stylesheet`: the static path of progress.css (the section button's read state);
    - `sections_read`: the anchors of the sections this member marked read (one query);
    - `section_button(anchor, label)`: the section's "Mark read" / "Read ✓ — unmark" form as
      HTML (needs `request`: its CSRF token and the way back);
    - with `new` (the default): `new_since`, after when others' activity is new to them, or
      None when nothing on this reading is (one query), and `new_threads`: {root id: the time
      of the newest new thing in it} (one query, only when something is new);
    - `heat`: {block anchor: (threads, replies)} over all time, or in `assignment`'s range, for
      those who may view participation (one query and the cached article), else {}.
    """
    read = set(
        SectionRead.objects.filter(
            membership=membership, reading_id=group_reading.reading_id
        ).values_list("section", flat=True)
    )
    may_see_heat = group_permits(membership, GroupAction.VIEW_PARTICIPATION)
    found = {
        "progress_stylesheet": STYLESHEET,
        "sections_read": read,
        "heat": heat(membership, group_reading, assignment) if may_see_heat else {},
    }
    if request is not None:
        found["section_button"] = _section_buttons(request, membership, group_reading, read)
    if new:
        since = new_since(membership, group_reading)
        found["new_since"] = since
        found["new_threads"] = new_threads(membership, group_reading) if since else {}
    return found


def _section_buttons(request, membership, group_reading, read: set[str]):
    """`section_button(anchor, label)` for the reading page: the button's template rendered
    once as read and once as not (a page has a dozen sections, and a render each was a tenth
    of the page's time), each section's anchor and escaped name then put in place of the
    stand-ins. Without the request's context processors: the CSRF token and the way back are
    given to it. An anchor that is not a plain slug (none is) is rendered on its own."""
    group, reading = membership.group, group_reading.reading
    button = get_template("progress/_section_read_button.html")
    token, here = get_token(request), request.get_full_path()

    def render(anchor: str, label: str, is_read: bool) -> str:
        return button.render(
            {
                "group": group,
                "reading": reading,
                "section_anchor": anchor,
                "is_read": is_read,
                "section_label": label,
                "csrf_token": token,
                "next": f"{here}#{anchor}",
            }
        )

    stamps: dict[bool, str] = {}

    def section_button(anchor: str, label: str) -> str:
        is_read = anchor in read
        if not PLAIN_ANCHOR.fullmatch(anchor):
            return render(anchor, label, is_read)
        if is_read not in stamps:
            stamps[is_read] = render(ANCHOR_STAND_IN, LABEL_STAND_IN, is_read)
        return (
            stamps[is_read].replace(ANCHOR_STAND_IN, anchor).replace(LABEL_STAND_IN, escape(label))
        )

    return section_button
