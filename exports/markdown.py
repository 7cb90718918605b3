"""Study notes as Markdown: the group's discussion of a reading, or everything one person wrote.

Everything people typed is hostile here (names, titles, tags, quotes, bodies), and a Markdown
file is read by programs that render it, some of them with raw HTML on. So:

- Plain text (names, titles, headings, tags, dates) becomes one line: newlines fold into
  spaces, and every character that starts Markdown inline syntax (`\\ ` * _ [ ] < > & ~ | #`)
  is backslash-escaped, so it shows as itself and opens nothing.
- A quoted passage becomes a blockquote, line by line, escaped the same way, and a line that
  would start a block of its own (`#`, `>`, `-`, `+`, `=`, `1.`) has that first character
  escaped.
- A body is the author's Markdown, kept so that emphasis, lists, code and links survive, but
  defused the way the site renders it (commonplace/markdown.py: raw HTML off, no headings):
  every `<` outside code is escaped unless it opens an http(s) or mailto autolink, a heading
  (`#`, or a setext underline) becomes a plain line, and a link to a `javascript:`,
  `vbscript:`, `data:` or `file:` address has its colon percent-encoded (so it goes nowhere).
  Code fences and code spans are left as they are (a renderer shows them literally); a fence
  left open is closed at the end of its note.
- Each note is a list item, replies nested under what they answer, and its body is indented
  to the item's content column, so whatever the body holds (an unclosed fence, a stray list)
  stays inside its note; the replies' bullet is one their parent's body does not use, so a
  body ending in a list is not continued by them.
"""

import re

from django.utils import timezone

from exports.discussion import UNTITLED_SECTION, Discussion, Note, ReadingNotes, Thread

INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>&~|#])")
# What starts a block when it opens a line (after the inline escapes have run).
BLOCK_START = re.compile(r"^([>+=-]|\\#)")
ORDERED_START = re.compile(r"^(\d{1,9})([.)])")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# Container markers before a line's content: block quotes and list items, nested.
CONTAINERS = re.compile(r"^((?:[ \t]*(?:>|[-+*](?=[ \t])|\d{1,9}[.)](?=[ \t])))*[ \t]*)")
SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
AUTOLINK = re.compile(r"<(?:https?|mailto):[^\s<>]*>|<[\w.+-]+@[\w-]+(?:\.[\w-]+)+>", re.I)
LINK_SCHEME = re.compile(
    r"(\]\(\s*<?\s*|^ {0,3}\[[^\]]*\]:\s*<?\s*)(javascript|vbscript|data|file):", re.I
)
BACKTICKS = re.compile(r"`+")
BODY_LIST = re.compile(r"^ {0,3}([-*+])[ \t]", re.M)


def inline(text: str) -> str:
    """Plain text as one line of Markdown that shows exactly these words."""
    return INLINE_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _line_start(line: str) -> str:
    if BLOCK_START.match(line):
        return "\\" + line if not line.startswith("\\#") else line
    return ORDERED_START.sub(r"\1\\\2", line, count=1)


def blockquote(text: str) -> str:
    """A passage of the text as a Markdown blockquote (blank lines kept as paragraph breaks)."""
    lines = []
    for raw in text.strip().split("\n"):
        line = inline(raw)
        lines.append(f"> {_line_start(line)}" if line else ">")
    return "\n".join(lines)


def _outside_code(line: str, change) -> str:
    """`change` applied to the parts of a line outside its code spans."""
    out, position = [], 0
    while True:
        opening = BACKTICKS.search(line, position)
        if opening is None:
            out.append(change(line[position:]))
            return "".join(out)
        closing = None
        for run in BACKTICKS.finditer(line, opening.end()):
            if len(run.group()) == len(opening.group()):
                closing = run
                break
        if closing is None:  # no span after all: the backticks are text
            out.append(change(line[position : opening.end()]))
            position = opening.end()
            continue
        out.append(change(line[position : opening.start()]))
        out.append(line[opening.start() : closing.end()])
        position = closing.end()


def _no_html(text: str) -> str:
    out, position = [], 0
    for match in re.finditer("<", text):
        if match.start() < position:
            continue
        out.append(text[position : match.start()])
        link = AUTOLINK.match(text, match.start())
        if link:
            out.append(link.group())
            position = link.end()
        else:
            out.append("\\<")
            position = match.end()
    out.append(text[position:])
    return "".join(out)


def body(markdown: str) -> list[str]:
    """An annotation's Markdown, defused (see the module's docstring), as lines."""
    lines: list[str] = []
    fence = None
    previous_blank = True
    for line in markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if fence is not None:
            lines.append(line)
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
            continue
        opening = FENCE.match(line)
        if opening:
            fence = opening.group(1)
            lines.append(line)
            previous_blank = False
            continue
        prefix = CONTAINERS.match(line).group(1)
        rest = line[len(prefix) :]
        if rest.startswith("#") or (not previous_blank and SETEXT.match(line)):
            rest = "\\" + rest  # no headings in a note, as on the site
        rest = LINK_SCHEME.sub(r"\1\2%3A", rest)
        line = prefix + _outside_code(rest, _no_html)
        lines.append(line)
        previous_blank = not line.strip()
    while lines and not lines[-1].strip():
        lines.pop()
    if fence is not None:  # closed here, so the notes after it are not swallowed as code
        lines.append(fence)
    return lines


def _is_plain(annotation) -> bool:
    """A body given as plain text (by another client, imported): shown as text, never as
    Markdown."""
    return getattr(annotation, "body_format", "markdown") == "plain"


def plain(text: str) -> list[str]:
    """Plain text as Markdown lines that show it as it is, its line breaks kept."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out = []
    for index, line in enumerate(lines):
        if not line:
            out.append("")
            continue
        shown = _line_start(inline(line))
        follows = index + 1 < len(lines) and lines[index + 1]
        out.append(shown + ("\\" if follows else ""))
    while out and not out[-1]:
        out.pop()
    return out


# --- dates ------------------------------------------------------------------------------------


def when(moment) -> str:
    """A moment in the viewer's time zone (the one activated for the request): 3 May 2025,
    14:02."""
    local = timezone.localtime(moment)
    return f"{local.day} {local:%b %Y, %H:%M}"


def zone_name() -> str:
    return str(timezone.get_current_timezone())


# --- notes and threads ------------------------------------------------------------------------

WHOLE_READING = "About the whole reading"
ORPHANS = "Orphaned passages"
KINDS = {
    "highlighting": "highlight",
    "commenting": "comment",
    "questioning": "question",
    "replying": "reply",
    "tagging": "tags",
}


def _marker(above: Note | None) -> str:
    """The bullet of a note: one that the note it hangs under does not use for a list of its
    own, so that a body ending in a list is not continued by the replies under it."""
    words = (above.annotation.body or "") if above is not None else ""
    used = {m.group(1) for m in BODY_LIST.finditer(words)}
    return next((m for m in "-*+" if m not in used), "-")


def _note(note: Note, *, indent: int, marker: str = "-", show_author: bool = True) -> list[str]:
    a = note.annotation
    pad = " " * indent
    facts = []
    if show_author:
        facts.append(f"**{inline(note.author)}**")
    if a.is_deleted:  # a placeholder: its author is "[deleted]", its words gone
        return [f"{pad}{marker} {facts[0] if facts else 'deleted'}"]
    kind = "prompt" if getattr(a, "prompt_of_id", None) else KINDS.get(a.motivation, a.motivation)
    facts.append(kind)
    facts.append(when(a.created_at))
    if a.edited_at:
        facts.append("edited")
    if a.is_answer:
        facts.append("the answer")
    if a.is_private:
        facts.append("only you")
    if a.is_hidden:
        facts.append("hidden by a facilitator" + (f": “{a.hidden_note}”" if a.hidden_note else ""))
    if note.tags:
        facts.append("tags: " + ", ".join(note.tags))
    head = " · ".join(inline(fact) if not fact.startswith("**") else fact for fact in facts)
    lines = [f"{pad}{marker} {head}"]
    words = (plain(a.body) if _is_plain(a) else body(a.body)) if a.body else []
    if words:
        lines.append("")
        lines.extend(f"{pad}  {line}" if line.strip() else "" for line in words)
    return lines


def thread(t: Thread, *, show_author: bool = True) -> list[str]:
    """A thread: where it is, its passage, then its notes, replies nested."""
    lines = []
    where = []
    if t.paragraph:
        where.append(f"¶ {t.paragraph}")
    elif t.block is not None:
        where.append("Figure caption")
    if where:
        lines += [f"**{' · '.join(where)}**", ""]
    if t.quote and not t.is_page_note:
        lines += [blockquote(t.quote), ""]
    if not t.root_visible and t.notes and t.notes[0].depth == 0 and show_author:
        lines += ["_The note this thread began with is not shown._", ""]
    path: list[Note] = []  # the notes this one is nested in, by depth
    for note in t.notes:
        del path[note.depth :]
        above = path[-1] if path else None
        marker = _marker(above)
        lines += _note(note, indent=2 * note.depth, marker=marker, show_author=show_author)
        lines.append("")
        path.append(note)
    return lines


def _heading(level: int, text: str) -> str:
    return f"{'#' * level} {inline(text)}"


def _byline(reading) -> str:
    parts = [f"by {reading.author}" if reading.author else "", reading.publication]
    return " · ".join(inline(p) for p in parts if p)


def _tops(sections) -> dict:
    """Each section's level-1 section above it (None for a level-1 section itself)."""
    found, top = {}, None
    for section in sections:
        if section.level <= 1:
            top = section
            found[section.pk] = None
        else:
            found[section.pk] = top
    return found


def study_notes(discussion: Discussion, *, viewer, now=None) -> str:
    """The group's discussion of the reading as Markdown study notes."""
    now = now or timezone.now()
    reading, group = discussion.reading, discussion.group
    threads = discussion.threads
    replies = sum(1 for t in threads for n in t.notes if n.annotation.is_reply)
    counted = f"{len(threads)} passage{'s' if len(threads) != 1 else ''}, {replies} repl" + (
        "y" if replies == 1 else "ies"
    )
    lines = [_heading(1, reading.title), ""]
    if byline := _byline(reading):
        lines += [byline, ""]
    lines += [
        f"Notes from **{inline(group.name)}**, as {inline(viewer.public_name)} sees them on "
        f"{when(now)} (times in {inline(zone_name())}): {counted}.",
        "",
    ]
    if page_notes := discussion.page_notes:
        lines += [_heading(2, WHOLE_READING), ""]
        for t in page_notes:
            lines += thread(t)
    shown: set[int] = set()
    tops = _tops(discussion.sections)
    for section in discussion.sections:
        placed = [t for block in section.block_list for t in block.threads]
        if not placed:
            continue
        top = tops[section.pk]
        if top is not None and top.pk not in shown and top.heading:
            lines += [_heading(2, top.heading), ""]
            shown.add(top.pk)
        level = 2 if top is None else 3
        lines += [_heading(level, section.heading or UNTITLED_SECTION), ""]
        shown.add(section.pk)
        for t in placed:
            lines += thread(t)
    if orphans := discussion.orphans:
        lines += [
            _heading(2, ORPHANS),
            "",
            "_The text was revised and these passages could not be found in it any more._",
            "",
        ]
        for t in orphans:
            lines += thread(t)
    return "\n".join(lines).rstrip() + "\n"


def my_study_notes(places: list[ReadingNotes], *, viewer, now=None) -> str:
    """Everything one person wrote, by group and reading, as Markdown."""
    now = now or timezone.now()
    count = sum(len(p.notes) for p in places)
    groups = {p.group.pk for p in places}
    lines = [
        "# My notes",
        "",
        f"Everything {inline(viewer.public_name)} wrote, as of {when(now)} (times in "
        f"{inline(zone_name())}): {count} note{'s' if count != 1 else ''} in {len(groups)} "
        f"group{'s' if len(groups) != 1 else ''}.",
        "",
    ]
    group_seen = None
    for place in places:
        if place.group.pk != group_seen:
            lines += [_heading(2, place.group.name), ""]
            group_seen = place.group.pk
        lines += [_heading(3, place.reading.title), ""]
        section_seen = None
        for t in place.threads:
            section = (
                WHOLE_READING if t.is_page_note else ORPHANS if t.is_orphan else t.section_title
            )
            if section and section != section_seen:
                lines += [_heading(4, section), ""]
                section_seen = section
            lines += thread(t, show_author=False)
    return "\n".join(lines).rstrip() + "\n"
