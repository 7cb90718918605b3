"""Markdown for user text: rendered with markdown-it (raw HTML off), then cleaned by bleach.

Only `render()`'s output is ever marked safe in a template. Links get
rel="nofollow noopener ugc"; bare URLs become links; `@name` mentions of known people
become links when a `mention_url` is given.
"""

import re
from collections.abc import Callable
from functools import partial

import bleach
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
CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.DOTALL)

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable("strikethrough")


def _set_rel(attrs, new=False):
    attrs[(None, "rel")] = "nofollow noopener ugc"
    if attrs.get((None, "title")) == "mention":
        del attrs[(None, "title")]
        attrs[(None, "class")] = "mention"
    else:
        attrs.pop((None, "class"), None)
    return attrs


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    filters=[partial(LinkifyFilter, callbacks=[_set_rel], skip_tags=["pre", "code"])],
)


def mentioned(text: str) -> set[str]:
    """The @names in a Markdown text, outside code."""
    names: set[str] = set()
    for index, part in enumerate(CODE.split(text)):
        if index % 2 == 0:
            names.update(match.rstrip(".") for match in MENTION.findall(part))
    return names


def render(text: str, *, mention_url: Callable[[str], str | None] | None = None) -> str:
    if mention_url is not None:
        parts = CODE.split(text)
        for index in range(0, len(parts), 2):
            parts[index] = MENTION.sub(partial(_mention_link, mention_url), parts[index])
        text = "".join(parts)
    return _cleaner.clean(_markdown.render(text)).strip()


def _mention_link(mention_url, match: re.Match) -> str:
    name = match.group(1).rstrip(".")
    trailing = match.group(1)[len(name) :]
    url = mention_url(name)
    if not url:
        return match.group(0)
    return f'[@{name}]({url} "mention"){trailing}'
