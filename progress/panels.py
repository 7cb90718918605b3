"""What progress adds to the pages of apps below it, through groups.panels (registered in
apps.py): the group home's panel, and the group reading page's extras."""

from django.middleware.csrf import get_token
from django.template.loader import get_template
from django.urls import reverse

from assignments.models import SectionRead
from groups.access import GroupAction, group_permits
from progress.participation import heat
from progress.since import new_count, new_since, new_threads
from progress.week import this_week

STYLESHEET = "css/progress.css"


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
        group, reading = membership.group, group_reading.reading
        # One template, rendered without the request's context processors (a page has a dozen
        # sections): the CSRF token and the way back are given to it.
        button = get_template("progress/_section_read_button.html")
        token, here = get_token(request), request.get_full_path()

        def section_button(anchor: str, label: str) -> str:
            context = {
                "group": group,
                "reading": reading,
                "section_anchor": anchor,
                "is_read": anchor in read,
                "section_label": label,
                "csrf_token": token,
                "next": f"{here}#{anchor}",
            }
            return button.render(context)

        found["section_button"] = section_button
    if new:
        since = new_since(membership, group_reading)
        found["new_since"] = since
        found["new_threads"] = new_threads(membership, group_reading) if since else {}
    return found
