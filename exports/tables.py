"""The discussion as a spreadsheet: CSV, a row per annotation and reply.

Columns: id, parent (the nearest note above it that the reader may see, as the W3C API
targets it), author (as the permission table names them), created (UTC, ISO 8601), section
and paragraph (where the thread's passage starts; a reply shares its thread's), quote (on a
thread's first note only), body (the raw Markdown), tags (comma-separated), motivation, and
visibility (group or private). "My notes" puts the group and the reading first.

Every text cell is safe from spreadsheet formulas (progress.participation.csv_cell: a cell
starting with = + - @, a tab or a carriage return gets a leading apostrophe), and the file
starts with a UTF-8 byte order mark so that spreadsheets read its accents right.
"""

import csv
import datetime
import io

from exports.discussion import Discussion, ReadingNotes, Thread
from progress.participation import csv_cell

BOM = "\ufeff"
COLUMNS = [
    "id",
    "parent",
    "author",
    "created",
    "section",
    "paragraph",
    "quote",
    "body",
    "tags",
    "motivation",
    "visibility",
]
MY_COLUMNS = ["group", "reading", *COLUMNS]


def utc(moment) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rows(thread: Thread) -> list[list]:
    rows = []
    for note in thread.notes:
        a = note.annotation
        rows.append(
            [
                a.pk,
                note.parent_id or "",
                note.author,
                utc(a.created_at),
                thread.section_title,
                thread.paragraph or "",
                a.exact if a.pk == thread.root.pk else "",
                "" if a.is_deleted else a.body,
                ", ".join(note.tags),
                a.motivation,
                a.visibility,
            ]
        )
    return rows


def _csv(table: list[list]) -> str:
    out = io.StringIO()
    out.write(BOM)
    csv.writer(out).writerows([[csv_cell(value) for value in row] for row in table])
    return out.getvalue()


def discussion_csv(discussion: Discussion) -> str:
    table = [COLUMNS]
    for thread in discussion.threads:
        table.extend(_rows(thread))
    return _csv(table)


def my_notes_csv(places: list[ReadingNotes]) -> str:
    table = [MY_COLUMNS]
    for place in places:
        for thread in place.threads:
            table.extend([place.group.name, place.reading.title, *row] for row in _rows(thread))
    return _csv(table)
