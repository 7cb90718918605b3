"""{% url %}, answering from a memo: every template's `{% url %}` (installed as a builtin in
settings.TEMPLATES, so it replaces Django's tag of the same name).

A reading page reverses some forty addresses, most of them the same few with the same slugs,
and Django's `reverse()` costs 40–60 µs each on the benchmark's machine: 2 ms of a 24 ms page
(bench/README.md). Reversing is a pure function of the URLconf, the script prefix and the
arguments, so its answers are kept in a bounded per-process memo, as Django keeps its own
resolvers; nothing in it is shared state or differs between app servers.
"""

from functools import lru_cache

from django import template
from django.conf import settings
from django.template import defaulttags
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()


@lru_cache(maxsize=20_000)
def _reversed(root, urlconf, prefix, view_name, args, kwargs, current_app) -> str:
    return reverse(
        view_name, urlconf=urlconf, args=args, kwargs=dict(kwargs), current_app=current_app
    )


def reverse_kept(view_name, args=(), kwargs=None, current_app=None) -> str:
    """reverse(), from the memo when its arguments can be kept (strings and numbers)."""
    kwargs = kwargs or {}
    try:
        return _reversed(
            settings.ROOT_URLCONF,
            get_urlconf(),
            get_script_prefix(),
            view_name,
            tuple(args),
            tuple(sorted(kwargs.items())),
            current_app,
        )
    except TypeError:  # an argument that cannot be a key: reversed as Django would
        return reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)


class KeptURLNode(defaulttags.URLNode):
    """Django's URLNode, with reverse_kept for reverse."""

    def render(self, context):
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {k: v.resolve(context) for k, v in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = reverse_kept(view_name, args=args, kwargs=kwargs, current_app=current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    node = defaulttags.url(parser, token)  # Django's own parsing and errors
    node.__class__ = KeptURLNode
    return node
