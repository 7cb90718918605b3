"""The facilitator's view: participation per member, its CSV, and where the discussion gathered.

Only facilitators see it (a member gets 403, anyone outside the group 404); private notes never
count and never show; its queries are pinned with 10 and with 2,000 annotations.
"""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations import services as annotation_services
from annotations.models import Annotation
from assignments.models import SectionRead
from groups.models import GroupReading, Membership
from progress.participation import csv_cell, heat, sort_rows
from readings.article import reading_article
from tests.test_progress import assign, membership, prompt, sections_of


def url(group, reading, **query) -> str:
    address = reverse("progress:participation", args=[group.slug, reading.slug])
    return address + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def note(group, reading, author, block, *, motivation="commenting", body="A note", **fields):
    """An annotation on the first words of `block` (a laid-out block)."""
    return annotation_services.annotation_create(
        group=group,
        reading=reading,
        author=author,
        motivation=motivation,
        body=body,
        start=block.start,
        end=block.start + 12,
        **fields,
    )


def reply(parent, author, body="A reply"):
    return annotation_services.annotation_create(
        group=parent.group,
        reading=parent.reading,
        author=author,
        motivation="replying",
        body=body,
        parent=parent,
    )


def table(html: str) -> dict[str, list[str]]:
    """The participation table as {member's name: [cells]}."""
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        name = re.sub(r"<[^>]+>", "", re.search(r"<th[^>]*>(.*?)</th>", row, re.S).group(1))
        cells = [
            re.sub(r"<[^>]+>", "", c).split()[0]
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        rows[name.replace("facilitator", "").strip()] = cells
    return rows


@pytest.fixture
def world(group, essay, member, facilitator, make_user):
    """Week 2 covers the first two sections. Maria writes in it and beyond; Fran prompts."""
    sections = sections_of(essay)
    inside, outside = sections[0].block_list[0], sections[5].block_list[0]
    week = assign(group, essay, 0, 1, title="Week 2")
    classmate = make_user("cleo", display_name="Cleo Classmate")
    Membership.objects.create(group=group, user=classmate)

    note(group, essay, member, inside, body="In the range")
    note(group, essay, member, inside, motivation="highlighting", body="")
    asked = note(group, essay, member, inside, motivation="questioning", body="Why?")
    note(group, essay, member, inside, body="Maria's private thought", visibility="private")
    note(group, essay, member, outside, body="Beyond the range")
    question = prompt(week, facilitator, "What is the premise?")
    reply(question, member, "Democracy")
    answer = reply(asked, classmate, "Because")
    annotation_services.annotation_mark_answer(reply=answer, is_answer=True)
    note(group, essay, facilitator, inside, body="Fran's private aside", visibility="private")
    mine = membership(group, member)
    for section in sections[:2] + sections[5:6]:
        SectionRead.objects.create(membership=mine, reading=essay, section=section.anchor)
    return {"week": week, "classmate": classmate, "inside": inside, "outside": outside}


# --- the walls ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", [{}, {"format": "csv"}, {"assignment": "all", "sort": "-replies"}]
)
def test_a_member_gets_403(client, group, essay, member, world, query):
    client.force_login(member)

    response = client.get(url(group, essay, **query))

    assert response.status_code == 403
    assert "Cleo" not in response.content.decode()


@pytest.mark.parametrize("persona", ["outsider", "other_member"])
@pytest.mark.parametrize("query", [{}, {"format": "csv"}])
def test_anyone_outside_the_group_gets_404(
    request, client, group, other_group, essay, persona, query
):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(url(group, essay, **query)).status_code == 404


def test_it_takes_no_post(client, group, essay, facilitator):
    client.force_login(facilitator)

    assert client.post(url(group, essay)).status_code == 405


def test_a_facilitator_of_an_archived_group_still_sees_it(client, group, essay, facilitator):
    from groups.services import group_archive

    group_archive(group=group)
    client.force_login(facilitator)

    assert client.get(url(group, essay)).status_code == 200


# --- the counts -----------------------------------------------------------------------------------


def test_participation_in_an_assignment(client, group, essay, facilitator, world):
    client.force_login(facilitator)

    html = client.get(url(group, essay, assignment=world["week"].pk)).content.decode()

    rows = table(html)
    # annotations, replies, questions, answers, prompts, sections read, last active
    assert rows["Maria Member"][:6] == ["3", "1", "1", "0", "1", "2"]
    assert rows["Cleo Classmate"][:6] == ["0", "1", "0", "1", "0", "0"]
    assert rows["Fran Facilitator"][:6] == ["1", "0", "1", "0", "0", "0"]  # the prompt
    assert "of 2" in html  # two sections in the range


def test_participation_over_all_time(client, group, essay, facilitator, world):
    client.force_login(facilitator)

    html = client.get(url(group, essay, assignment="all")).content.decode()

    rows = table(html)
    assert rows["Maria Member"][:6] == ["4", "1", "1", "0", "1", "3"]


def test_the_current_assignment_is_shown_first(client, group, essay, facilitator, world):
    client.force_login(facilitator)

    html = client.get(url(group, essay)).content.decode()

    assert f'<option value="{world["week"].pk}" selected>' in html


def test_private_notes_never_count_nor_show(client, group, essay, facilitator, member, world):
    client.force_login(facilitator)

    for query in ({"assignment": "all"}, {"assignment": "all", "format": "csv"}):
        body = client.get(url(group, essay, **query)).content.decode()
        assert "private" not in body.replace("private notes are never counted", "")
        assert "Maria's private thought" not in body
        assert "Fran's private aside" not in body
    gr = GroupReading.objects.get(group=group, reading=essay)
    counts = heat(membership(group, facilitator), gr)
    assert sum(threads for threads, _ in counts.values()) == 4  # no private note among them


def test_last_active_is_the_latest_of_visits_notes_and_reads(group, essay, member, world):
    from progress.participation import participation

    fran = membership(group, Membership.objects.get(group=group, role="facilitator").user)
    gr = GroupReading.objects.get(group=group, reading=essay)
    later = timezone.now() + timedelta(hours=1)
    Membership.objects.filter(group=group, user=member).update(last_seen_at=later)

    rows = {row.username: row for row in participation(fran, gr, None, [])}

    assert rows["maria"].last_active == later
    assert (
        rows["cleo"].last_active
        == Annotation.objects.filter(author__username="cleo").get().created_at
    )


# --- sorting --------------------------------------------------------------------------------------


def test_the_table_sorts_by_a_column_with_aria_sort(client, group, essay, facilitator, world):
    client.force_login(facilitator)

    html = client.get(url(group, essay, assignment="all", sort="-annotations")).content.decode()

    assert list(table(html)) == ["Maria Member", "Fran Facilitator", "Cleo Classmate"]
    assert re.search(
        r'aria-sort="descending"[^>]*>\s*<a href="\?assignment=all&amp;sort=annotations"', html
    )
    assert html.count("aria-sort=") == 1


def test_sorting_by_name_both_ways_and_ties_go_by_name():
    from types import SimpleNamespace

    from progress.participation import Row

    rows = [
        Row(
            membership=SimpleNamespace(pk=n),
            name=name,
            username=name.lower(),
            is_facilitator=False,
            replies=r,
        )
        for n, (name, r) in enumerate([("Bo", 1), ("ada", 2), ("Cy", 1)])
    ]

    assert [r.name for r in sort_rows(rows, "name")[0]] == ["ada", "Bo", "Cy"]
    assert [r.name for r in sort_rows(rows, "-name")[0]] == ["Cy", "Bo", "ada"]
    assert [r.name for r in sort_rows(rows, "-replies")[0]] == ["ada", "Bo", "Cy"]
    assert [r.name for r in sort_rows(rows, "replies")[0]] == ["Bo", "Cy", "ada"]
    assert sort_rows(rows, "password")[1:] == ("name", False)


# --- CSV ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rReturn", "'\rReturn"),
        ("Ada = fine", "Ada = fine"),
        (7, 7),
    ],
)
def test_a_csv_cell_cannot_start_a_formula(value, cell):
    assert csv_cell(value) == cell


def test_the_csv_is_the_table_with_formulas_defused(
    client, group, essay, facilitator, member, world
):
    member.display_name = "=cmd|' /C calc'!A0"
    member.save(update_fields=["display_name"])
    client.force_login(facilitator)

    response = client.get(url(group, essay, assignment=world["week"].pk, format="csv"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0][:4] == ["Member", "Username", "Role", "Annotations"]
    assert lines[0][8] == "Sections read (of 2)"
    by_user = {line[1]: line for line in lines[1:]}
    assert by_user["maria"][0] == "'=cmd|' /C calc'!A0"
    assert by_user["maria"][3:9] == ["3", "1", "1", "0", "1", "2"]
    assert by_user["fran"][2] == "facilitator"


# --- where the discussion gathered ----------------------------------------------------------------


def test_heat_counts_threads_and_replies_where_they_start(group, essay, facilitator, world):
    fran = membership(group, facilitator)
    gr = GroupReading.objects.get(group=group, reading=essay)

    everything = heat(fran, gr)
    in_week = heat(fran, gr, world["week"])

    inside, outside = world["inside"].anchor, world["outside"].anchor
    # inside: Maria's comment and question, Fran's prompt (the highlight is no thread); replies:
    # Maria's to the prompt, Cleo's answer
    assert in_week == {inside: (3, 2)}
    assert everything == {inside: (3, 2), outside: (1, 0)}


def test_the_page_ranks_where_the_discussion_gathered(client, group, essay, facilitator, world):
    client.force_login(facilitator)

    html = client.get(url(group, essay, assignment="all")).content.decode()

    gathered = html[html.index("Where the discussion gathered") :]
    assert gathered.index(f"#{world['inside'].anchor}") < gathered.index(
        f"#{world['outside'].anchor}"
    )
    assert "3 threads · 2 replies" in gathered


# --- query counts ---------------------------------------------------------------------------------


def bulk(group, essay, authors, roots: int, replies: int) -> None:
    blocks = [b for s in sections_of(essay) for b in s.block_list]
    kinds = ["commenting", "questioning", "highlighting"]
    made = Annotation.objects.bulk_create(  # every tenth private (and its replies with it)
        [
            Annotation(
                group=group,
                reading=essay,
                author=authors[i % len(authors)],
                motivation=kinds[i % 3],
                visibility="private" if i % 10 == 9 else "group",
                body=f"Note {i}",
                body_html=f"<p>Note {i}</p>",
                start=blocks[i % len(blocks)].start,
                end=blocks[i % len(blocks)].start + 5,
            )
            for i in range(roots)
        ],
        batch_size=500,
    )
    Annotation.objects.bulk_create(
        [
            Annotation(
                group=group,
                reading=essay,
                author=authors[(i + 1) % len(authors)],
                motivation="replying",
                visibility=made[i % len(made)].visibility,
                body=f"Reply {i}",
                body_html=f"<p>Reply {i}</p>",
                parent=made[i % len(made)],
                root=made[i % len(made)],
                is_answer=i % 7 == 0,
            )
            for i in range(replies)
        ],
        batch_size=500,
    )


# session, user, the group reading with the membership, its assignments, the layout (sections,
# blocks), the people, their counts, their sections read, the heat (not for the CSV)
PARTICIPATION_QUERIES = 10


@pytest.mark.parametrize(("roots", "replies"), [(10, 0), (2_000, 3_000)])
@pytest.mark.parametrize(
    "query", [{}, {"assignment": "all"}, {"assignment": "all", "format": "csv"}]
)
def test_the_participation_page_takes_a_fixed_number_of_queries(
    client, group, essay, member, facilitator, roots, replies, query, django_assert_num_queries
):
    assign(group, essay, 0, 3)
    bulk(group, essay, [member, facilitator], roots, replies)
    client.force_login(facilitator)
    client.get(url(group, essay))  # notes the visit: the next requests this minute write nothing

    expected = PARTICIPATION_QUERIES - (1 if query.get("format") == "csv" else 0)
    with django_assert_num_queries(expected):
        response = client.get(url(group, essay, **query))

    assert response.status_code == 200


@pytest.mark.parametrize(("roots", "replies"), [(10, 0), (2_000, 3_000)])
def test_heat_takes_one_query_once_the_article_is_cached(
    group, essay, member, facilitator, roots, replies, django_assert_num_queries
):
    bulk(group, essay, [member, facilitator], roots, replies)
    gr = GroupReading.objects.select_related("reading").get(group=group, reading=essay)
    fran = membership(group, facilitator)
    reading_article(essay, slots=True)  # the reading page has just rendered it

    with django_assert_num_queries(1):
        counts = heat(fran, gr)

    shared_roots = roots - roots // 10
    assert sum(threads for threads, _ in counts.values()) <= shared_roots
    assert sum(replies_ for _, replies_ in counts.values()) > 0 or replies == 0
