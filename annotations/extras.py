"""What apps above `annotations` add to a thread's page, without this app importing them.

An app registers a provider from its AppConfig.ready():

    register_thread_extras(raise_and_discussed)

and the thread page (annotations.views.thread, whole or as the reading page's fragment) asks
`thread_extras(membership=..., root=..., request=...)` for HTML snippets to show under the
thread's first note, in the order registered. A provider returns a list of snippets it has
escaped itself (rendered templates, marked safe), or [] when it has nothing to show; it is
called only for a root the viewer may see, and should cost at most a query or two (the thread
page's query count is pinned in tests/test_annotation_pages.py).
"""

from collections.abc import Callable

ThreadExtras = Callable[..., list[str]]

_providers: list[ThreadExtras] = []


def register_thread_extras(provider: ThreadExtras) -> None:
    """Add to every thread page (registering one twice adds it once)."""
    if provider not in _providers:
        _providers.append(provider)


def thread_extras(*, membership, root, request=None, **options) -> list[str]:
    """The snippets the registered providers show under this thread's root, for this member."""
    found: list[str] = []
    for provider in _providers:
        found.extend(provider(membership=membership, root=root, request=request, **options))
    return found
