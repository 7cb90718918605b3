"""What progress adds to a group's home page (registered in apps.py through groups.panels)."""

from django.urls import reverse

from groups.access import GroupAction, group_permits
from progress.since import new_count
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
