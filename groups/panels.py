"""Panels that apps above `groups` add to a group's home page, without `groups` importing them.

An app registers a callable from its AppConfig.ready():

    register_group_panel(this_week_panel)

`groups.views.detail` calls each one with the request and the page's context (the group, the
person's membership, the group readings already fetched) and renders the `(template, context)`
it returns, in the order registered; a panel with nothing to show returns None. A panel's
context may name a `stylesheet` (a static path) for the page's head.
"""

from collections.abc import Callable

GroupPanel = Callable[[object, dict], tuple[str, dict] | None]

_panels: list[GroupPanel] = []


def register_group_panel(panel: GroupPanel) -> None:
    """Add a panel to every group's home page (registering one twice adds it once)."""
    if panel not in _panels:
        _panels.append(panel)


def group_panels(request, page: dict) -> list[tuple[str, dict]]:
    """What the registered panels show on this group home page."""
    return [shown for panel in _panels if (shown := panel(request, page)) is not None]
