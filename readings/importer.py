"""Parse a Markdown or plain-text file into a reading's structure, refusing bad input.

Markdown: an optional front-matter block between `---` lines (title, subtitle, author,
publication, source_url, attribution, about_author, slug); `#` headings start sections
and `##` (or deeper) headings start subsections; `>` quotes become blockquotes; a
paragraph that is a single italic span beginning "Caption:" becomes a figure caption.
Inline emphasis, strong, code and links are kept; any raw HTML is shown as text.

Plain text: paragraphs split on blank lines, lines within a paragraph joined by spaces.

The work is bounded before it is done (settings, "Input limits"): besides the file's bytes,
its lines (READING_IMPORT_MAX_LINES) and in Markdown its punctuation (READING_IMPORT_MAX_MARKUP)
are counted before any parsing. Markdown's block structure is found next, with a fuse that
stops it past the limit on paragraphs and headings (READING_IMPORT_MAX_BLOCKS); their number
and the characters of each (READING_IMPORT_MAX_PARAGRAPH_CHARS) are checked before any inline
Markdown (emphasis, links, code: the part whose cost grows faster than its input) is parsed.
The HTML of a block is built here from escaped text and five fixed tags, so nothing needs
sanitising afterwards (bleach over a paragraph of `<` cost a second per 50 KB).

Nothing here touches the database; services.reading_import writes the result.
"""

import re
from dataclasses import dataclass, field
from html import escape
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.text import slugify
from markdown_it import MarkdownIt

MARKDOWN_SUFFIXES = {".md", ".markdown"}
TEXT_SUFFIXES = {".txt", ".text"}
META_KEYS = {
    "title": 300,
    "subtitle": 600,
    "author": 200,
    "publication": 200,
    "source_url": 500,
    "attribution": 2000,
    "about_author": 2000,
    "slug": 120,
}
CAPTION_PREFIX = re.compile(r"^\s*caption:\s*", re.IGNORECASE)
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LINK_PROTOCOLS = ["http", "https", "mailto"]
# The only markup _inline writes; anything else in its HTML would be a bug here (checked).
OWN_MARKUP = re.compile(
    r'</?(?:em|strong|code)>|</a>|<a href="[^"<>]*" rel="nofollow noopener ugc">'
)
# Markdown's block parser calls the fuse once per block it starts (quotes and lists, and each
# level of their nesting, count too): past this many times the block limit it gives up.
BLOCK_FUSE = 4
# The characters that start inline Markdown: each may make the parser look ahead through the
# rest of its paragraph, so their number in the file bounds the inline work (with the length
# of a paragraph).
MARKUP_CHARS = "*_[]()`<\\&!"


class ReadingImportError(Exception):
    """A file that cannot become a reading. The message is one readable sentence."""


@dataclass
class ParsedBlock:
    kind: str  # paragraph, blockquote, caption
    text: str
    html: str


@dataclass
class ParsedSection:
    heading: str
    level: int
    blocks: list[ParsedBlock] = field(default_factory=list)


@dataclass
class ParsedReading:
    meta: dict[str, str]
    sections: list[ParsedSection]

    @property
    def block_count(self) -> int:
        return sum(len(section.blocks) for section in self.sections)


def decode(data: bytes, *, max_bytes: int | None = None) -> str:
    """Bytes to text, or a ReadingImportError that says what is wrong with the file."""
    limit = max_bytes if max_bytes is not None else settings.READING_IMPORT_MAX_BYTES
    if len(data) > limit:
        raise ReadingImportError(too_large(len(data), limit))
    if not data.strip():
        raise ReadingImportError("The file is empty.")
    if b"\x00" in data:
        raise ReadingImportError(
            "The file looks binary (it contains NUL bytes); import a UTF-8 .md or .txt file."
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ReadingImportError(
            f"The file is not UTF-8 text (undecodable byte at position {error.start}); "
            "save it as UTF-8 and try again."
        ) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if CONTROL_CHARS.search(text):
        raise ReadingImportError(
            "The file contains control characters, so it is not plain text; "
            "import a UTF-8 .md or .txt file."
        )
    if not text.strip():
        raise ReadingImportError("The file is empty.")
    lines = text.count("\n") + 1
    if lines > settings.READING_IMPORT_MAX_LINES:
        raise ReadingImportError(
            f"The file has {lines:,} lines; the limit is "
            f"{settings.READING_IMPORT_MAX_LINES:,} lines."
        )
    return text


def too_many_blocks(limit: int) -> str:
    return (
        f"The file has more than {limit:,} paragraphs and headings; the limit is {limit:,} "
        "(split it into several readings)."
    )


def check_paragraph(text: str, line: int) -> None:
    """Refuse one paragraph or heading longer than the limit, naming the line it starts on."""
    limit = settings.READING_IMPORT_MAX_PARAGRAPH_CHARS
    if len(text) > limit:
        raise ReadingImportError(
            f"Line {line}: a paragraph of {len(text):,} characters; the limit is {limit:,} "
            "characters a paragraph (separate paragraphs with a blank line)."
        )


def parse_file(data: bytes, filename: str) -> ParsedReading:
    suffix = PurePath(filename).suffix.lower()
    if suffix not in MARKDOWN_SUFFIXES | TEXT_SUFFIXES:
        raise ReadingImportError(
            f"Unsupported file type {suffix or '(none)'!r}: import a .md or .txt file."
        )
    text = decode(data)
    if suffix in MARKDOWN_SUFFIXES:
        return parse_markdown(text)
    return parse_plain_text(text)


def parse_plain_text(text: str) -> ParsedReading:
    limit = settings.READING_IMPORT_MAX_BLOCKS
    section = ParsedSection(heading="", level=1)
    line = 1
    for chunk in re.split(r"(\n[ \t]*\n)", text):
        start, line = line, line + chunk.count("\n")
        words = " ".join(chunk.split())
        if words:
            if len(section.blocks) >= limit:
                raise ReadingImportError(too_many_blocks(limit))
            check_paragraph(words, start + chunk[: len(chunk) - len(chunk.lstrip())].count("\n"))
            section.blocks.append(ParsedBlock("paragraph", words, escape(words, quote=False)))
    if not section.blocks:
        raise ReadingImportError("The file has no paragraphs.")
    return ParsedReading(meta={}, sections=[section])


def parse_markdown(text: str) -> ParsedReading:
    meta, body, body_line = _front_matter(text)
    markup, most = sum(map(body.count, MARKUP_CHARS)), settings.READING_IMPORT_MAX_MARKUP
    if markup > most:
        raise ReadingImportError(
            f"The file has {markup:,} Markdown punctuation characters "
            f"({' '.join(MARKUP_CHARS)}); the limit is {most:,} "
            "(import it as a .txt file if its Markdown does not matter)."
        )
    limit = settings.READING_IMPORT_MAX_BLOCKS
    started = 0

    def fuse(state, start_line, end_line, silent) -> bool:
        nonlocal started
        started += 1
        if started > BLOCK_FUSE * limit:
            raise ReadingImportError(too_many_blocks(limit))
        return False  # a block rule that never matches: the real rules follow it

    def bounds(state) -> None:
        """A core rule between the block and inline rules: the limits, before any inline."""
        blocks = 0
        for token in state.tokens:
            if token.type in {"inline", "fence", "code_block"}:
                blocks += 1
                if blocks > limit:
                    raise ReadingImportError(too_many_blocks(limit))
                check_paragraph(token.content, body_line + (token.map[0] + 1 if token.map else 0))

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.block.ruler.before(md.block.ruler.get_all_rules()[0], "reading_fuse", fuse)
    md.core.ruler.before("inline", "reading_bounds", bounds)
    try:
        tokens = md.parse(body)
    except ReadingImportError:
        raise
    except Exception as error:  # markdown-it raises only on pathological input
        raise ReadingImportError(f"The Markdown could not be parsed: {error}.") from None

    sections: list[ParsedSection] = []
    shift = 0
    first_heading = next((t for t in tokens if t.type == "heading_open"), None)
    if (
        "title" not in meta
        and first_heading is not None
        and first_heading.tag == "h1"
        and tokens.index(first_heading) == 0
        and sum(1 for t in tokens if t.type == "heading_open" and t.tag == "h1") == 1
    ):
        shift = 1  # a lone leading "# Title" is the title, "##" are the sections

    quote_depth = 0
    pending_heading: int | None = None
    for index, token in enumerate(tokens):
        if token.type == "blockquote_open":
            quote_depth += 1
        elif token.type == "blockquote_close":
            quote_depth -= 1
        elif token.type == "heading_open":
            pending_heading = int(token.tag[1])
        elif token.type == "inline" and pending_heading is not None:
            level, pending_heading = pending_heading, None
            heading_text, _ = _inline(token)
            line = body_line + (token.map[0] + 1 if token.map else 0)
            if not heading_text:
                raise ReadingImportError(f"Line {line}: a heading has no text.")
            if shift and index == 1:
                meta["title"] = heading_text
                continue
            sections.append(
                ParsedSection(heading=heading_text, level=min(max(level - shift, 1), 2))
            )
        elif token.type == "inline":
            plain, html = _inline(token)
            if not plain:
                continue
            kind = "blockquote" if quote_depth else "paragraph"
            caption = _caption(token)
            if caption is not None and not quote_depth:
                kind, plain, html = "caption", caption, escape(caption, quote=False)
            if not sections:
                sections.append(ParsedSection(heading="", level=1))
            sections[-1].blocks.append(ParsedBlock(kind, plain, html))
        elif token.type in {"fence", "code_block"}:
            words = " ".join(token.content.split())
            if words:
                if not sections:
                    sections.append(ParsedSection(heading="", level=1))
                html = f"<code>{escape(words, quote=False)}</code>"
                sections[-1].blocks.append(ParsedBlock("paragraph", words, html))

    parsed = ParsedReading(meta=meta, sections=sections)
    if parsed.block_count == 0:
        raise ReadingImportError("The file has no paragraphs, only headings or front matter.")
    return parsed


def _front_matter(text: str) -> tuple[dict[str, str], str, int]:
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text, 0
    if not any(line.strip() in {"---", "..."} for line in lines[1:]):
        raise ReadingImportError(
            "The front matter that starts on line 1 is never closed with '---'."
        )
    meta: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() in {"---", "..."}:
            return meta, "\n".join(lines[number:]), number
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key = key.strip().lower().replace("-", "_")
        if not sep or not re.fullmatch(r"[a-z_]+", key):
            raise ReadingImportError(
                f"Line {number}: front matter lines look like 'title: The title', not {line!r}."
            )
        if key not in META_KEYS:
            raise ReadingImportError(
                f"Line {number}: unknown front matter key {key!r} "
                f"(known keys: {', '.join(sorted(META_KEYS))})."
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        meta[key] = value
    raise ReadingImportError("The front matter that starts on line 1 is never closed with '---'.")


def _caption(token) -> str | None:
    children = [c for c in token.children or [] if not (c.type == "text" and not c.content)]
    if (
        len(children) >= 3
        and children[0].type == "em_open"
        and children[-1].type == "em_close"
        and all(c.type in {"text", "softbreak"} for c in children[1:-1])
    ):
        inner = "".join(" " if c.type == "softbreak" else c.content for c in children[1:-1])
        if CAPTION_PREFIX.match(inner):
            return " ".join(CAPTION_PREFIX.sub("", inner, count=1).split())
    return None


def _inline(token) -> tuple[str, str]:
    """The plain text of an inline token and its HTML, whose text content equals the plain."""
    text_parts: list[str] = []
    html_parts: list[str] = []
    open_links: list[bool] = []
    simple = {
        "em_open": "<em>",
        "em_close": "</em>",
        "strong_open": "<strong>",
        "strong_close": "</strong>",
    }
    for child in token.children or []:
        if child.type in {"text", "code_inline"}:
            text_parts.append(child.content)
            content = escape(child.content, quote=False)
            html_parts.append(f"<code>{content}</code>" if child.type == "code_inline" else content)
        elif child.type in {"softbreak", "hardbreak"}:
            text_parts.append(" ")
            html_parts.append(" ")
        elif child.type in simple:
            html_parts.append(simple[child.type])
        elif child.type == "link_open":
            href = child.attrGet("href") or ""
            safe = href.split(":", 1)[0].lower() in LINK_PROTOCOLS and ":" in href
            safe = safe and not any(open_links)  # an autolink in a link's text: no <a> in <a>
            open_links.append(safe)
            if safe:
                html_parts.append(f'<a href="{escape(href)}" rel="nofollow noopener ugc">')
        elif child.type == "link_close" and open_links.pop():
            html_parts.append("</a>")
        # images and anything else carry no words of the reading: dropped
    plain = "".join(text_parts)
    html = "".join(html_parts)
    if "<" in OWN_MARKUP.sub("", html):  # text is escaped above: never, unless this code errs
        raise RuntimeError(f"The importer wrote markup of its own making wrongly: {html[:200]!r}")
    return plain, html


def validate_meta(meta: dict[str, str]) -> None:
    for key, limit in META_KEYS.items():
        value = meta.get(key, "")
        if len(value) > limit:
            raise ReadingImportError(
                f"The {key.replace('_', ' ')} is longer than {limit} characters."
            )
    url = meta.get("source_url")
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise ReadingImportError(f"The source_url {url!r} is not an http(s) address.") from None
    slug = meta.get("slug")
    if slug and slugify(slug) != slug:
        raise ReadingImportError(
            f"The slug {slug!r} may only hold lowercase letters, digits and hyphens."
        )


def too_large(size: int, limit: int) -> str:
    shown = f"{limit / 1048576:g} MB" if limit >= 1048576 else f"{limit:,} bytes"
    return f"The file is too large ({size:,} bytes); the limit is {shown}."
