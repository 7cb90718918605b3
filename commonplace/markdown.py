"""Markdown for user text: rendered with markdown-it (raw HTML off), then cleaned by bleach.

Only `render()`'s output is ever marked safe in a template. Links get
rel="nofollow noopener ugc"; bare URLs become links; `@name` mentions of known people
become links when a `mention_url` is given.
"""

import re
import threading
from collections.abc import Callable
from contextvars import ContextVar
from functools import partial

import bleach
from bleach.html5lib_shim import Filter
from bleach.linkifier import LinkifyFilter
from markdown_it import MarkdownIt

ALLOWED_TAGS = [
    "p",
    "br",
    "em",
    "strong",
    "del",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "a",
    "hr",
]
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel", "class"], "ol": ["start"]}
ALLOWED_PROTOCOLS = ["http", "https", "mailto"]
MENTION = re.compile(r"(?<![\w@/.])@([A-Za-z0-9_][A-Za-z0-9_.+-]{0,149})")

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable("strikethrough")


def _set_rel(attrs, new=False):
    href = attrs.get((None, "href"), "")
    scheme = href.split(":", 1)[0].lower() if ":" in href.split("/", 1)[0] else ""
    if scheme and scheme not in ALLOWED_PROTOCOLS:
        return None  # e.g. a bare ftp:// or data: that linkify found: leave it as text
    attrs[(None, "rel")] = "nofollow noopener ugc"
    if attrs.get((None, "class")) != "mention":
        attrs.pop((None, "class"), None)
    return attrs


class MentionFilter(Filter):
    """Turn @name into a link to the member, outside links, code and preformatted text."""

    SKIP = {"a", "code", "pre"}

    def __init__(self, source, mention_url, found: set[str]):
        super().__init__(source)
        self.mention_url = mention_url
        self.found = found

    def __iter__(self):
        depth = 0
        for token in super().__iter__():
            kind = token["type"]
            if kind == "StartTag" and token["name"] in self.SKIP:
                depth += 1
            elif kind == "EndTag" and token["name"] in self.SKIP:
                depth = max(0, depth - 1)
            if kind == "Characters" and not depth and "@" in token["data"]:
                yield from self._split(token["data"])
            else:
                yield token

    def _split(self, text: str):
        position = 0
        for match in MENTION.finditer(text):
            name = match.group(1).rstrip(".")
            url = self.mention_url(name) if self.mention_url else None
            if not url:
                continue
            self.found.add(name.lower())
            if match.start() > position:
                yield {"type": "Characters", "data": text[position : match.start()]}
            attrs = {(None, "href"): url, (None, "class"): "mention"}
            yield {"type": "StartTag", "name": "a", "data": attrs}
            yield {"type": "Characters", "data": f"@{name}"}
            yield {"type": "EndTag", "name": "a"}
            position = match.start() + 1 + len(name)
        if position < len(text):
            yield {"type": "Characters", "data": text[position:]}


# What the call under way asks of the mention filter: how to link a name, and where to put the
# names it linked. The cleaner below is made once per thread (building one, with its parser,
# costs more than cleaning a short note) and reads the call's own from here.
_MENTIONS: ContextVar[tuple[Callable[[str], str | None] | None, set[str]]] = ContextVar(
    "commonplace_markdown_mentions"
)


def _mention_filter(source) -> MentionFilter:
    mention_url, found = _MENTIONS.get()
    return MentionFilter(source, mention_url=mention_url, found=found)


_local = threading.local()  # bleach's Cleaner is not thread-safe: one per thread


def _cleaner() -> bleach.Cleaner:
    cleaner = getattr(_local, "cleaner", None)
    if cleaner is None:
        cleaner = _local.cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            protocols=ALLOWED_PROTOCOLS,
            strip=True,
            filters=[
                _mention_filter,
                partial(LinkifyFilter, callbacks=[_set_rel], skip_tags=["pre", "code"]),
            ],
        )
    return cleaner


def render_with_mentions(
    text: str, *, mention_url: Callable[[str], str | None] | None = None
) -> tuple[str, set[str]]:
    """The cleaned HTML, and the (lowercased) names it links as mentions."""
    found: set[str] = set()
    # A form feed (pasted from a PDF) is whitespace to html5lib beside a tag but a control
    # character, shown as "?", inside words: as a space it reads the same on every pass.
    text = text.replace("\x0c", " ")
    token = _MENTIONS.set((mention_url, found))
    try:
        return _cleaner().clean(_markdown.render(text)).strip(), found
    finally:
        _MENTIONS.reset(token)


def render(text: str, *, mention_url: Callable[[str], str | None] | None = None) -> str:
    return render_with_mentions(text, mention_url=mention_url)[0]


def render_plain(text: str) -> str:
    """Plain text (a `text/plain` body from another client) as HTML: escaped, its blank lines
    paragraphs and its line breaks kept; never read as Markdown."""
    from django.utils.html import linebreaks

    return linebreaks(text, autoescape=True)
