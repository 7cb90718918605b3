"""What apps above `groups` add to a group's pages, without the lower apps importing them.

The group home. An app registers a callable from its AppConfig.ready():

    register_group_panel(this_week_panel)

`groups.views.detail` calls each one with the request and the page's context (the group, the
person's membership, the group readings already fetched) and renders the `(template, context)`
it returns, in the order registered; a panel with nothing to show returns None. A panel's
context may name a `stylesheet` (a static path) for the page's head.

A group reading's page (annotations.views, below progress): an app registers a provider,

    register_reading_extras(progress_on_the_reading_page)

and the page asks `reading_extras(membership=..., group_reading=..., **options)` for one dict
merged from every provider's (what each key and option means is the provider's to document).
"""

from collections.abc import Callable

GroupPanel = Callable[[object, dict], tuple[str, dict] | None]
ReadingExtras = Callable[..., dict]

_panels: list[GroupPanel] = []
_reading_extras: list[ReadingExtras] = []


def register_group_panel(panel: GroupPanel) -> None:
    """Add a panel to every group's home page (registering one twice adds it once)."""
    if panel not in _panels:
        _panels.append(panel)


def group_panels(request, page: dict) -> list[tuple[str, dict]]:
    """What the registered panels show on this group home page."""
    return [shown for panel in _panels if (shown := panel(request, page)) is not None]


def register_reading_extras(provider: ReadingExtras) -> None:
    """Add to every group reading page: `provider(membership=, group_reading=, **options)`
    returning a dict."""
    if provider not in _reading_extras:
        _reading_extras.append(provider)


def reading_extras(*, membership, group_reading, **options) -> dict:
    """What the registered providers add to this person's page of this group reading."""
    found: dict = {}
    for provider in _reading_extras:
        found.update(provider(membership=membership, group_reading=group_reading, **options))
    return found
