"""Hostile input, everywhere: known attack payloads (tests/hostile.py) typed into every place a
person can type, then every page that shows them opened in Chromium.

The data is built through the project's own services, as the forms and the API would build it:
display names, group names and descriptions, a group's own reading (its title, headings and
paragraphs), comments, replies, tags, flag reasons, page notes, assignment titles and
instructions, prompts, meeting titles, links, agenda items and recaps, annotation files
imported in both formats (bodies, tags, authors' names, quotes), and search queries. A value
the site refuses (a javascript: meeting link, a tag too long) counts as tried: refusing is
one way of holding.

Each page is opened with the page's Content-Security-Policy switched off (`bypass_csp`), so
that only the escaping stands between a payload and a running script, with listeners for
dialogs, page errors and console errors. After each load the page's own DOM is searched for
what a payload would leave behind if it had become markup: an element no template makes
(img, svg, iframe, a script not from /static/...), an event-handler attribute, a
javascript:/data:/vbscript: address, `window.__xss`. The words must still be there, as words.

The emails the same data sends (HTML and text) and the downloads (Markdown, CSV, JSON-LD) are
checked the same way, without the browser. The counts printed at the end are the figures
SECURITY.md quotes.
"""

import csv
import io
import json
import re
import time
from datetime import timedelta
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from markdown_it import MarkdownIt

from annotations import services as annotation_services
from annotations.models import Annotation, Flag
from annotations.services import AnnotationError
from assignments import services as assignment_services
from assignments.contents import blocks_of
from assignments.services import AssignmentError
from groups.forms import EmailInviteForm
from groups.models import EmailInvitation, Membership
from groups.services import (
    email_invitations_send,
    group_create,
    group_reading_import,
    invite_link_accept,
    invite_link_create,
    invite_link_revoke,
    quoted,
)
from meetings import services as meeting_services
from meetings.services import MeetingError
from notifications.models import Delivery, Preferences
from readings.layout import reading_layout
from tests.conftest import ARTIFACTS
from tests.hostile import (
    ADDRESS_PAYLOADS,
    LINK_PAYLOADS,
    PAYLOADS,
    VISIBLE,
    live_markup,
    one_line,
)
from tests.invitations import emailed_path, verify_address

pytestmark = pytest.mark.browser

# What each page is searched for once loaded (see the module docstring). The site's own
# templates make none of these elements; its scripts all come from /static/ and its data
# reaches them in <script type="application/json"> (json_script).
DOM_CHECK = """() => {
  const found = [];
  const URLS = ["href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"];
  const tags = "img, svg, math, iframe, frame, object, embed, base, video, audio, marquee";
  for (const el of document.querySelectorAll(tags)) found.push("<" + el.localName + ">");
  for (const el of document.querySelectorAll("script")) {
    const src = el.getAttribute("src");
    const local = src && new URL(src, location.href).pathname.startsWith("/static/");
    if (src === null ? el.type !== "application/json" : !local)
      found.push("script " + (src || el.textContent.slice(0, 40)));
  }
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) found.push(el.localName + " " + name);
      const url = attr.value.replace(/[\\u0000-\\u0020]/g, "");
      if (URLS.includes(name) && /^(javascript|vbscript|data):/i.test(url))
        found.push(el.localName + " " + name + "=" + attr.value);
    }
  }
  if (window.__xss !== undefined) found.push("window.__xss = " + window.__xss);
  return {found, text: document.body ? document.body.textContent : ""};
}"""


class Tried:
    """Counts each payload fed into each field, and each value a field took."""

    def __init__(self):
        self.pairs: set[tuple[str, str]] = set()
        self.taken: dict[str, int] = {}

    def feed(self, field: str, payload: str, write) -> object | None:
        """Call `write()` with the payload in `field`; a refusal (the service's error) counts
        as tried, and returns None."""
        self.pairs.add((field, payload))
        try:
            result = write()
        except REFUSALS:
            return None
        self.taken[field] = self.taken.get(field, 0) + 1
        return result

    def fields(self) -> set[str]:
        return {field for field, _ in self.pairs}


# A service's own refusal, with a sentence for the person: the value was tried, and held.
REFUSALS = (AnnotationError, AssignmentError, MeetingError)


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _reading_markdown() -> str:
    """A group's own reading: its title, headings and paragraphs are the payloads."""
    parts = ["---", "title: Hostile " + PAYLOADS[1].replace("\n", " "), "---", ""]
    for n, payload in enumerate(PAYLOADS):
        parts += [f"# Part {n}: {payload}", "", f"Paragraph {n}: {payload}", ""]
    return "\n".join(parts)


@pytest.fixture
def world(transactional_db, group, essay, facilitator, member, make_user):
    """Everything a person can type, typed with payloads, through the services."""
    tried = Tried()
    now = timezone.now()
    group.description = "\n".join(PAYLOADS)[:2000]
    group.save(update_fields=["description"])
    tried.pairs |= {("group description", p) for p in PAYLOADS if p in group.description}
    Preferences.objects.create(user=member, **dict.fromkeys(PREFERENCE_KINDS, Delivery.IMMEDIATELY))
    blocks = blocks_of(reading_layout(essay))
    text = essay.canonical_text()

    # Assignments and meetings first: each tells every member, the payload people not yet.
    # Assignments titled with payloads, instructions of payloads; prompts in the first.
    assignments = []
    for payload in PAYLOADS:
        assignment = tried.feed(
            "assignment title",
            payload,
            lambda payload=payload: assignment_services.assignment_create(
                group=group,
                reading=essay,
                created_by=facilitator,
                title=payload,
                instructions=payload,
                first_block=blocks[0].anchor,
                last_block=blocks[-1].anchor,
                due_at=now + timedelta(days=3),
            ),
        )
        assignments.append(assignment)
    tried.pairs |= {("assignment instructions", p) for p in PAYLOADS}
    for n, payload in enumerate(PAYLOADS):
        block = blocks[(n + 3) % len(blocks)]
        tried.feed(
            "prompt",
            payload,
            lambda block=block, payload=payload: annotation_services.annotation_create(
                group=group,
                reading=essay,
                author=facilitator,
                motivation="questioning",
                body=payload,
                start=block.start,
                end=block.start + 12,
                prompt_of=assignments[0],
            ),
        )

    # Meetings: titles, links, a meeting on now (its link a button), agenda items, a recap.
    for n, payload in enumerate(PAYLOADS):
        tried.feed(
            "meeting title",
            payload,
            lambda n=n, payload=payload: meeting_services.meeting_create(
                group=group,
                created_by=facilitator,
                title=payload,
                starts_at=now + timedelta(days=2 + n),
                ends_at=now + timedelta(days=2 + n, hours=1),
            ),
        )
    calls = []
    for n, link in enumerate(LINK_PAYLOADS):
        call = tried.feed(
            "meeting link",
            link,
            lambda n=n, link=link: meeting_services.meeting_create(
                group=group,
                created_by=facilitator,
                title=f"Call {n}",
                starts_at=now - timedelta(minutes=5 + n),  # on now: the link is a button
                ends_at=now + timedelta(hours=1),
                link=link,
                in_the_past=True,
            ),
        )
        if call is not None:
            calls.append(call)
    held = meeting_services.meeting_create(
        group=group,
        created_by=facilitator,
        title=PAYLOADS[4],
        starts_at=now - timedelta(days=1),
        ends_at=now - timedelta(days=1) + timedelta(hours=1),
        in_the_past=True,
    )
    for payload in PAYLOADS:
        tried.feed(
            "agenda item",
            payload,
            lambda payload=payload: meeting_services.agenda_add(meeting=held, text=payload),
        )
    meeting_services.meeting_recap(group=group, meeting=held, recap="\n\n".join(PAYLOADS))
    tried.pairs |= {("recap", p) for p in PAYLOADS}

    # People named like payloads, each in the group, each running a group named like one
    # (of their own: a person in a few groups, as people are).
    people, groups = [], []
    for n, payload in enumerate(PAYLOADS):
        person = make_user(f"p{n}", display_name=payload[:80])
        tried.pairs.add(("display name", payload))
        Membership.objects.create(group=group, user=person, role=Membership.Role.MEMBER)
        people.append(person)
        named = group_create(name=payload[:120], description=payload, created_by=person)
        tried.pairs |= {("group name", payload), ("group description", payload)}
        groups.append(named)
    # Each invites someone by email: every payload as the group's name and description and
    # as the inviter's name, in an invitation mail.
    for person, named in zip(people, groups, strict=True):
        email_invitations_send(group=named, invited_by=person, emails=["new@example.com"])

    # Each person comments on a paragraph of their own; the member replies; the next person
    # flags it; each also writes a page note.
    notes = []
    for n, (payload, person) in enumerate(zip(PAYLOADS, people, strict=True)):
        block = blocks[n % len(blocks)]
        start = block.start
        note = tried.feed(
            "annotation body",
            payload,
            lambda person=person, start=start, payload=payload: (
                annotation_services.annotation_create(
                    group=group,
                    reading=essay,
                    author=person,
                    motivation="commenting",
                    body=payload,
                    start=start,
                    end=start + 20,
                )
            ),
        )
        notes.append(note)
        tried.feed(
            "tag",
            payload,
            lambda note=note, payload=payload: annotation_services.annotation_update(
                annotation=note, tags=[payload[:50]]
            ),
        )
        tried.feed(
            "reply body",
            payload,
            lambda note=note, payload=payload: annotation_services.annotation_create(
                group=group,
                reading=essay,
                author=member,
                motivation="replying",
                body=payload,
                parent=note,
            ),
        )
        tried.feed(
            "page note",
            payload,
            lambda person=person, payload=payload: annotation_services.annotation_create(
                group=group,
                reading=essay,
                author=person,
                motivation="commenting",
                body=payload,
                page_note=True,
            ),
        )
    for n, payload in enumerate(PAYLOADS):
        tried.feed(
            "flag reason",
            payload,
            lambda n=n, payload=payload: annotation_services.annotation_flag(
                annotation=notes[(n + 1) % len(notes)], user=people[n], reason=payload
            ),
        )

    # The group's own reading, made of payloads.
    own = group_reading_import(
        group=group,
        added_by=facilitator,
        data=_reading_markdown().encode(),
        filename="hostile.md",
        overrides={},
    ).reading
    tried.pairs |= {(f"reading {part}", p) for p in PAYLOADS for part in ("heading", "text")}
    tried.pairs.add(("reading title", PAYLOADS[1]))
    annotation_services.annotation_create(
        group=group,
        reading=own,
        author=member,
        motivation="commenting",
        body=PAYLOADS[0],
        page_note=True,
    )

    invited = _invitations(tried, people, make_user)

    return {
        "invited": invited,
        "tried": tried,
        "group": group,
        "essay": essay,
        "own": own,
        "text": text,
        "people": people,
        "groups": groups,
        "notes": [note for note in notes if note],
        "held": held,
        "calls": calls,
        "assignments": [a for a in assignments if a],
    }


def _invitations(tried: Tried, people, make_user) -> dict:
    """A group inviting people, named and described with payloads, run by a payload person:
    links labelled with payloads, email invitations to payload-shaped (valid) addresses, and
    someone whose verified address is the first of them."""
    inviter = people[4]  # <img src=x onerror=...>
    inviting = group_create(
        name=PAYLOADS[29], description="\n".join(PAYLOADS)[:2000], created_by=inviter
    )
    links = []
    for payload in PAYLOADS:
        link = tried.feed(
            "invitation link label",
            payload,
            lambda payload=payload: invite_link_create(
                group=inviting, created_by=inviter, label=payload[:80]
            ),
        )
        links.append(link)
    dead = invite_link_create(group=inviting, created_by=inviter, label=PAYLOADS[0])
    invite_link_revoke(link=dead)
    invite_link_accept(user=people[5], token=links[1].token)  # listed under its link
    for address in ADDRESS_PAYLOADS:  # the form takes them as they are: valid addresses
        assert EmailInviteForm({"emails": address}).is_valid(), address
        tried.pairs.add(("invitation email address", address))
    sent, skipped = email_invitations_send(
        group=inviting, invited_by=inviter, emails=ADDRESS_PAYLOADS
    )
    assert skipped == {} and len(sent) == len(ADDRESS_PAYLOADS)
    tried.taken["invitation email address"] = len(sent)
    invitee = make_user("invitee", display_name=PAYLOADS[31])
    verify_address(invitee, sent[0].email)
    return {
        "group": inviting,
        "inviter": inviter,
        "link": links[0],
        "dead": dead,
        "sent": sent,
        "invitee": invitee,
    }


PREFERENCE_KINDS = [
    "reply", "mention", "answer", "assignment", "due_soon", "meeting", "recap", "flag"
]  # fmt: skip


def _w3c_file(text: str) -> bytes:
    items = []
    for n, payload in enumerate(PAYLOADS):
        items.append(
            {
                "@context": "http://www.w3.org/ns/anno.jsonld",
                "id": f"urn:hostile:w3c:{n}",
                "type": "Annotation",
                "motivation": "commenting",
                "creator": {"type": "Person", "name": payload},
                "created": "2024-05-06T07:08:09Z",
                "body": [
                    {"type": "TextualBody", "value": payload, "format": "text/markdown"},
                    {"type": "TextualBody", "purpose": "tagging", "value": payload[:50]},
                ],
                "target": {
                    "source": "https://example.org/essay",
                    # every other quote is in the text (placed), the rest a payload (listed)
                    "selector": {
                        "type": "TextQuoteSelector",
                        "exact": text[200 + 40 * n : 230 + 40 * n] if n % 2 else payload,
                    },
                },
            }
        )
    return json.dumps({"type": "AnnotationPage", "items": items}).encode()


def _hypothesis_file(text: str) -> bytes:
    rows = []
    for n, payload in enumerate(PAYLOADS):
        rows.append(
            {
                "id": f"hostile{n}",
                "text": payload,
                "tags": [payload[:50]],
                "user": "acct:eve@hypothes.is",
                "user_info": {"display_name": payload},
                "created": "2024-05-06T07:08:09Z",
                "permissions": {"read": ["group:__world__"]},
                "target": [
                    {
                        "source": "https://example.org/essay",
                        "selector": [
                            {
                                "type": "TextQuoteSelector",
                                "exact": text[210 + 40 * n : 240 + 40 * n] if n % 2 else payload,
                            }
                        ],
                    }
                ],
            }
        )
    return json.dumps({"export_date": "2024-05-07T00:00:00Z", "annotations": rows}).encode()


def test_no_payload_runs_anywhere_and_every_one_reads_as_text(
    browser, live_server, world, facilitator, member
):
    began = time.monotonic()
    tried: Tried = world["tried"]
    group, essay, own = world["group"], world["essay"], world["own"]
    people, notes = world["people"], world["notes"]

    # --- the emails the data sent ------------------------------------------------------
    call_command("send_notifications", stdout=io.StringIO())
    emails = list(mail.outbox)
    assert len(emails) > len(PAYLOADS), "replies, flags, assignments and meetings were emailed"
    shown_in_mail = 0
    for message in emails:
        for content, mimetype in getattr(message, "alternatives", []):
            assert mimetype == "text/html"
            assert live_markup(content, allowed_tags={"meta", "style"}) == [], message.subject
        assert all(ch.isprintable() for ch in message.subject), message.subject
        shown_in_mail += any(word in message.body for word in VISIBLE)
    assert shown_in_mail >= len(PAYLOADS) // 2, "the emails quote the words as written"
    invitation_mails = [m for m in emails if " invites you to read with " in m.subject]
    assert len(invitation_mails) == len(PAYLOADS) + len(ADDRESS_PAYLOADS)
    for message in invitation_mails:
        _check_invitation_mail(message)

    # --- the downloads -----------------------------------------------------------------
    downloads = _check_downloads(group, essay, member, facilitator)

    # --- the pages, in Chromium --------------------------------------------------------
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    dialogs, errors = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: errors.append(f"console: {message.text}") if message.type == "error" else 0,
    )
    loads = []
    # SQLite's in-memory test database locks a table written by one request against another:
    # each page's own requests (the unread count, the layer) finish before the next page.
    in_flight = set()
    page.on("request", lambda request: in_flight.add(request))
    page.on("requestfinished", lambda request: in_flight.discard(request))
    page.on("requestfailed", lambda request: in_flight.discard(request))

    def settle():
        deadline = time.monotonic() + 10
        while in_flight and time.monotonic() < deadline:
            page.wait_for_timeout(10)

    def sign_in(user):
        context.clear_cookies()
        context.add_cookies(
            [{"name": "sessionid", "value": session_cookie(user), "url": live_server.url}]
        )

    def visit(path: str, *, wait_for: str | None = None, shows=VISIBLE, action=None, status=200):
        if action is None:
            response = page.goto(path)
            assert response is not None and response.status == status, (path, response)
        else:
            with page.expect_navigation():
                action()
        if wait_for:
            page.wait_for_selector(wait_for, state="attached")
        settle()
        if status != 200:  # the page's own status, which Chromium reports as a console error
            errors[:] = [error for error in errors if f"status of {status} " not in error]
        loads.append(path)
        result = page.evaluate(DOM_CHECK)
        assert result["found"] == [], (path, result["found"])
        assert dialogs == [], (path, dialogs)
        assert errors == [], (path, errors)
        words = one_line(result["text"])
        assert any(one_line(word) in words for word in shows), (path, "shows none of", shows)

    reading = reverse("annotations:reading", args=[group.slug, essay.slug])
    threads = reverse("annotations:threads", args=[group.slug, essay.slug])

    sign_in(facilitator)
    visit("/")
    visit(reverse("groups:detail", args=[group.slug]))
    visit(reverse("groups:settings", args=[group.slug]))  # the members, and the form
    visit(reading, wait_for=".mcard")  # the cards in the margin
    for note in notes[:: max(1, len(notes) // 8)]:  # the thread panel, opened by its address
        opened = f"{reading}?open={note.pk}#a-{note.pk}"  # a new address: the page loads again
        visit(opened, wait_for=f"[data-thread-root='{note.pk}']")
    visit(threads)
    for note in notes:  # replies, tags, names, the flag's reason (shown to facilitators)
        visit(
            reverse("annotations:thread", args=[group.slug, essay.slug, note.pk]),
            shows=[one_line(note.author.display_name)[:20]],
        )
    visit(reverse("notifications:inbox"))
    visit(reverse("assignments:list", args=[group.slug]))
    visit(reverse("assignments:edit", args=[group.slug, world["assignments"][0].pk]))
    visit(reverse("meetings:list", args=[group.slug]))
    visit(reverse("meetings:detail", args=[group.slug, world["held"].pk]))
    for call in world["calls"]:  # on now: its link is the Join button
        visit(reverse("meetings:detail", args=[group.slug, call.pk]), shows=[call.title])
        hrefs = page.evaluate("[...document.links].map((a) => a.getAttribute('href'))")
        assert call.link in hrefs  # the address as given, an attribute value and no more
    visit(reverse("meetings:edit", args=[group.slug, world["held"].pk]))
    visit(reverse("progress:participation", args=[group.slug, essay.slug]))
    visit(reverse("progress:contents", args=[group.slug, own.slug]))
    visit(reverse("annotations:reading", args=[group.slug, own.slug]))
    visit(reverse("exports:packet", args=[group.slug, essay.slug]))
    for payload in PAYLOADS:  # the query, reflected in the box and the results' marks
        tried.pairs.add(("search query", payload))
        visit(
            reverse("search:results", args=[group.slug]) + "?" + urlencode({"q": payload}),
            shows=[one_line(payload)[:30]],
        )

    # Import both formats: the preview lists every payload, the import writes them.
    start = reverse("imports:start", args=[group.slug, essay.slug])
    for name, data in (
        ("hostile.jsonld", _w3c_file(world["text"])),
        ("hostile.json", _hypothesis_file(world["text"])),
    ):
        visit(start, shows=["Import annotations"])
        upload = {"name": name, "mimeType": "application/json", "buffer": data}
        page.set_input_files("form.import-form input[type=file]", upload)
        visit(f"{start}#preview", action=lambda: page.click("form.import-form button"))
        visit(f"{reading}#imported", action=lambda: page.click("form[action$='confirm/'] button"))
    for field in ("W3C", "Hypothesis"):
        for part in ("body", "tag", "author's name", "quote"):
            tried.pairs |= {(f"imported {field} {part}", p) for p in PAYLOADS}
    imported = Annotation.objects.filter(group=group, reading=essay).exclude(import_key="")
    assert imported.count() >= len(PAYLOADS)
    for note in imported.filter(parent=None)[:4]:  # "originally by <payload>"
        visit(
            reverse("annotations:thread", args=[group.slug, essay.slug, note.pk]),
            shows=[one_line(note.original_author)[:20]],
        )
    visit(reading, wait_for=".mcard")

    # The member's view, and a payload person's own: their notes, their inbox, their profile.
    sign_in(member)
    visit("/")
    visit(reverse("notifications:inbox"))
    visit(reverse("exports:my_notes"), shows=[one_line(own.title)])
    visit(reverse("progress:since", args=[group.slug]))
    # Each payload person's own group, named and described with their payload.
    for person, named in zip(people, world["groups"], strict=True):
        sign_in(person)
        visit(reverse("groups:detail", args=[named.slug]), shows=[one_line(named.name)])
    sign_in(people[0])
    own_group = world["groups"][0]
    visit(reverse("groups:settings", args=[own_group.slug]), shows=[one_line(own_group.name)])
    visit(reverse("groups:invitations", args=[own_group.slug]), shows=["new@example.com"])
    visit(reverse("accounts:profile"), shows=[one_line(PAYLOADS[0])])
    visit(reverse("notifications:inbox"))
    note = notes[0]
    # (a flagged note's words are held until a facilitator has looked: look, then edit)
    Flag.objects.filter(annotation=note).update(resolved_at=timezone.now())
    visit(reverse("annotations:edit", args=[group.slug, essay.slug, note.pk]), shows=["<script>"])
    _walk_invitations(world, emails, visit, sign_in, page, member)
    context.close()

    elapsed = time.monotonic() - began
    fields = tried.fields()
    figures = (
        f"hostile input: {len(PAYLOADS)} payloads (+{len(LINK_PAYLOADS)} links) into "
        f"{len(fields)} fields: {len(tried.pairs)} payloads x fields tried; "
        f"{len(loads)} page loads in Chromium, {len(emails)} emails, {downloads} downloads, "
        f"no script ran, no dialog ({elapsed:.0f} s)"
    )
    print("\n" + figures)  # the figures SECURITY.md quotes; kept in test-artifacts/ too
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "hostile-input.txt").write_text(figures + "\n")
    assert len(fields) >= 25
    for field in (
        "annotation body", "reply body", "tag", "page note", "prompt", "flag reason",
        "assignment title", "meeting title", "agenda item",
    ):  # fmt: skip
        assert tried.taken.get(field, 0) >= len(PAYLOADS) - 3, (field, tried.taken.get(field))
    assert tried.taken["invitation link label"] == len(PAYLOADS)
    assert tried.taken.get("meeting link", 0) >= 5  # the http(s) ones, shown as links
    assert tried.taken["meeting link"] < len(LINK_PAYLOADS)  # javascript: and the like refused


def _walk_invitations(world, emails, visit, sign_in, page, member) -> None:
    """The invitations of a payload group from a payload inviter, opened by others, signed in:
    a link's token URL and an email invitation's, each followed to the token-free page; the
    home page's "Invitations for you"; the problem page; the facilitator's invitations page."""
    invited = world["invited"]
    inviting, invitee, inviter = invited["group"], invited["invitee"], invited["inviter"]
    first = invited["sent"][0]
    email_path = emailed_path(next(m for m in emails if m.to == [first.email]))
    pending = reverse("groups:pending_invitation")
    named = [one_line(inviting.name)]

    sign_in(member)  # not its addressee: told whose it is, and how to get in
    visit(email_path, shows=[first.email, one_line(member.public_name)])
    assert page.url.endswith(pending)
    sign_in(invitee)
    visit(invited["link"].token_path(), shows=named)  # the name, the description
    assert page.url.endswith(pending) and "<script>" in page.inner_text(".lede")
    # No thanks: home, saying so with the group's name, and listing the invitation for them
    visit("/", action=lambda: page.click("button[value=no]"), shows=[f"join “{named[0]}”"])
    assert one_line(inviter.public_name) in one_line(page.inner_text("#invitations-h + ul"))
    for_you = reverse("groups:invitation_for_you", args=[first.pk])
    visit(pending, action=lambda: page.click(f"a[href='{for_you}']"), shows=[first.email])
    assert one_line(inviter.public_name) in one_line(page.inner_text(".invite-card"))
    visit(email_path, shows=named)  # the email's own link
    # The problem page: a link turned off, a token nobody made (the invitation stays open).
    visit(invited["dead"].token_path(), status=410, shows=["turned off"])
    visit("/join/" + quote(PAYLOADS[4], safe="") + "/", status=404, shows=["not valid"])
    visit(pending, shows=named)
    detail = reverse("groups:detail", args=[inviting.slug])
    visit(detail, action=lambda: page.click("button[value=accept]"), shows=named)
    assert Membership.objects.filter(group=inviting, user=invitee).exists()
    # ... and a problem nobody names, with none open any more
    visit(pending + "?" + urlencode({"problem": PAYLOADS[0]}), status=404, shows=["No invitation"])

    # The facilitator: links by label (and who joined by each), pending addresses, a new link.
    sign_in(inviter)
    manage = reverse("groups:invitations", args=[inviting.slug])
    visit(manage, shows=[one_line(PAYLOADS[0]), invited["sent"][1].email])
    listed = one_line(page.inner_text("main"))
    assert all(one_line(payload[:80]) in listed for payload in PAYLOADS), "every label, as words"
    assert all(invitation.email in listed for invitation in invited["sent"][1:])
    assert one_line(world["people"][5].public_name) in listed  # joined by the second link
    page.fill("#id_label", PAYLOADS[30][:80])
    world["tried"].pairs.add(("invitation link label", PAYLOADS[30]))
    create = "form[action$='/invitations/links/'] button[type=submit]"
    visit(manage, action=lambda: page.click(create), shows=[one_line(PAYLOADS[30])])
    assert "/join/" in page.input_value(".copy-field__input")


def _check_invitation_mail(message) -> None:
    """An invitation mail: the HTML part inert, its one link the invitation's own; the text
    part quoting (behind "> ") every line people typed, as they typed it."""
    path = emailed_path(message)
    invitation = (
        EmailInvitation.objects.select_related("group", "invited_by")
        .for_token(path.split("/")[-2])
        .get()
    )
    group, inviter = invitation.group, invitation.invited_by
    assert "\n" not in message.subject and all(ch.isprintable() for ch in message.subject)
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    assert live_markup(html, allowed_tags={"meta"}) == [], message.subject
    assert re.findall(r"href=[\"']([^\"']*)", html) == [settings.SITE_URL + path]
    typed = [inviter.public_name, group.name, group.description, invitation.email]
    for text in typed:
        for line in text.splitlines():
            assert escape(line) in html, (message.subject, line)
    lines = message.body.splitlines()
    for text in typed[:3]:
        for line in quoted(text).splitlines():
            assert line in lines, (message.subject, line)
    theirs = {line.strip() for text in typed[:3] for line in text.splitlines() if line.strip()}
    assert not [line for line in lines if line.strip() in theirs and not line.startswith(">")]
    assert not re.search(r"&(lt|gt|quot|#x27|#39|amp);", message.body), "plain, not escaped"


def _check_downloads(group, essay, member, facilitator) -> int:
    """Markdown, CSV and JSON-LD: inert as Markdown rendered with raw HTML allowed, formula
    safe, served as attachments that no browser renders as a page."""
    count = 0
    renderer = MarkdownIt("commonmark", {"html": True})
    for user in (member, facilitator):
        client = signed_in(user)
        for name in ("markdown", "csv", "jsonld"):
            response = client.get(reverse(f"exports:{name}", args=[group.slug, essay.slug]))
            count += 1
            assert response.status_code == 200
            assert response["Content-Disposition"].startswith("attachment")
            assert "html" not in response["Content-Type"]
            body = b"".join(
                response.streaming_content if response.streaming else [response.content]
            )
            text = body.decode("utf-8-sig")
            if name == "markdown":
                # a viewer that renders raw HTML (many do) still shows only words
                assert live_markup(renderer.render(text)) == []
                assert "window.__xss=1" in text  # the words are there
            elif name == "csv":
                for row in csv.reader(io.StringIO(text, newline="")):
                    for cell in row:
                        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
            else:
                assert json.loads(text)["type"] == "AnnotationCollection"
        response = client.get(reverse("exports:my_notes_markdown"))
        count += 1
        text = b"".join(response.streaming_content if response.streaming else [response.content])
        assert live_markup(renderer.render(text.decode("utf-8-sig"))) == []
    return count
