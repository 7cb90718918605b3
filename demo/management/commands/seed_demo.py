from datetime import timedelta
from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from annotations.models import Annotation
from annotations.services import annotation_create, annotation_mark_answer
from assignments.models import Assignment, SectionRead
from assignments.services import assignment_create
from groups.models import GroupReading, Membership, ReadingGroup
from meetings.seeding import seed_meetings
from readings.models import Reading
from readings.services import reading_import

ESSAY_PATH = Path(settings.BASE_DIR) / "readings" / "data" / "what-is-socialism-from-below.md"
ESSAY_SLUG = "what-is-socialism-from-below"
DEMO_PASSWORD = "commonplace-demo"
DEMO_PEOPLE = [
    # username, display name, time zone
    ("fran", "Fran Okafor", "America/Chicago"),
    ("maria", "María Gómez", "America/Mexico_City"),
    ("sam", "Sam Lindqvist", "Europe/Stockholm"),
    ("lee", "Lee Chen", "America/New_York"),
    ("noor", "Noor Haddad", "Europe/London"),
    ("ade", "Adé Bankole", "Africa/Lagos"),
    ("olga", "Olga Petrova", "Europe/Berlin"),
]


class Command(BaseCommand):
    help = "Load the demo: the bundled essay and the demo people. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never in production)."
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts with a known password; refusing with DEBUG off."
            )
        with transaction.atomic():
            essay = seed_essay()
            people = seed_people()
            groups = seed_groups(people, essay)
            seed_annotations(people, groups, essay)
            seed_assignments(people, groups, essay)
            seed_demo_meetings(people, groups, essay)
        self.stdout.write(self.style.SUCCESS(f"Demo ready: “{essay.title}” is in the library."))
        self.stdout.write("")
        self.stdout.write(
            f"Demo logins at {settings.SITE_URL}{reverse('account_login')} "
            f"(password for all: {DEMO_PASSWORD}):"
        )
        for username, name, _ in DEMO_PEOPLE:
            self.stdout.write(f"  {username:<6} {name:<15} {DEMO_ROLES.get(username, '')}")
        self.stdout.write("  admin  (site administrator, /admin/)")
        self.stdout.write("")


def seed_essay() -> Reading:
    existing = Reading.objects.filter(slug=ESSAY_SLUG).first()
    if existing:
        return existing
    return reading_import(data=ESSAY_PATH.read_bytes(), filename=ESSAY_PATH.name, slug=ESSAY_SLUG)


DEMO_GROUPS = [
    {
        "slug": "tuesday-reading-circle",
        "name": "Tuesday Reading Circle",
        "description": "We read one essay a month and meet online on Tuesdays at 7 pm.",
        "time_zone": "America/Chicago",
        "facilitators": ["fran"],
        "members": ["maria", "sam", "lee"],
    },
    {
        "slug": "night-shift-readers",
        "name": "Night Shift Readers",
        "description": (
            "Hospital and warehouse workers reading between shifts. Meetings Sunday mornings."
        ),
        "time_zone": "Europe/London",
        "facilitators": ["noor"],
        "members": ["ade", "lee"],
    },
]
DEMO_ROLES = {
    "fran": "facilitator of Tuesday Reading Circle",
    "maria": "member of Tuesday Reading Circle",
    "sam": "member of Tuesday Reading Circle",
    "lee": "member of both groups",
    "noor": "facilitator of Night Shift Readers",
    "ade": "member of Night Shift Readers",
    "olga": "in no group",
}


def seed_groups(people: dict[str, User], essay: Reading) -> list[ReadingGroup]:
    groups = []
    for spec in DEMO_GROUPS:
        group, _ = ReadingGroup.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "description": spec["description"],
                "time_zone": spec["time_zone"],
                "created_by": people[spec["facilitators"][0]],
            },
        )
        for role, names in (
            (Membership.Role.FACILITATOR, spec["facilitators"]),
            (Membership.Role.MEMBER, spec["members"]),
        ):
            for name in names:
                Membership.objects.get_or_create(
                    group=group, user=people[name], defaults={"role": role}
                )
        GroupReading.objects.get_or_create(
            group=group, reading=essay, defaults={"added_by": people[spec["facilitators"][0]]}
        )
        groups.append(group)
    return groups


def seed_people() -> dict[str, User]:
    people = {}
    for username, display_name, time_zone in DEMO_PEOPLE:
        people[username] = _demo_user(username, display_name=display_name, time_zone=time_zone)
    people["admin"] = _demo_user(
        "admin", display_name="Site admin", is_staff=True, is_superuser=True
    )
    return people


def _demo_user(username: str, **fields) -> User:
    email = f"{username}@example.com"
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": email, **fields}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
    return user


# (group slug, key, author, motivation, quote, body, tags, visibility, reply-to key)
DEMO_ANNOTATIONS = [
    (
        "tuesday-reading-circle",
        "q1",
        "fran",
        "questioning",
        "Both of these can be characterized as socialism from above",
        "What do Stalinism and social democracy have in common, in the author's view? "
        "Bring one example to Tuesday.",
        ["discussion"],
        "group",
        None,
    ),
    (
        "tuesday-reading-circle",
        "q1a",
        "maria",
        "replying",
        None,
        "Both treat socialism as something **handed down** to workers by a party or the state, "
        "instead of something workers do themselves. See the section *Substitution or "
        "self-activity?*",
        [],
        "group",
        "q1",
    ),
    (
        "tuesday-reading-circle",
        "q1b",
        "sam",
        "replying",
        None,
        "And both end up managing capitalism rather than replacing it, @maria.",
        [],
        "group",
        "q1",
    ),
    (
        "tuesday-reading-circle",
        "c1",
        "sam",
        "commenting",
        "That is why strikes are so categorically powerful",
        "This matches what we saw in the 2018 teachers' strikes: the schools simply could not run.",
        ["strikes"],
        "group",
        None,
    ),
    (
        "tuesday-reading-circle",
        "c1a",
        "lee",
        "replying",
        None,
        "Agreed, though the strike wave also needed a lot of organising *before* the walkout.",
        [],
        "group",
        "c1",
    ),
    (
        "tuesday-reading-circle",
        "h1",
        "maria",
        "highlighting",
        "socialism from below, a world based on workers’ control and complete democracy",
        "",
        [],
        "group",
        None,
    ),
    (
        "tuesday-reading-circle",
        "p1",
        "lee",
        "commenting",
        "Every strike is a laboratory of changing consciousness.",
        "Private note: look up the Rosa Luxemburg pamphlet on the mass strike before the meeting.",
        ["to-read"],
        "private",
        None,
    ),
    (
        "night-shift-readers",
        "n1",
        "noor",
        "commenting",
        "Schools and hospitals and coffee shops cannot run without the collective mass of workers.",
        "For those of us on the wards this is literal. Which of us could the hospital run without?",
        ["work"],
        "group",
        None,
    ),
    (
        "night-shift-readers",
        "n1a",
        "ade",
        "replying",
        None,
        "Nobody, but management acts as if the opposite were true.",
        [],
        "group",
        "n1",
    ),
    (
        "night-shift-readers",
        "n2",
        "ade",
        "questioning",
        "Capitalist states depend for revenue on a growing and healthy national economy.",
        "Is this why reforms get rolled back whenever there is a recession?",
        ["economy"],
        "group",
        None,
    ),
    (
        "night-shift-readers",
        "n2a",
        "noor",
        "replying",
        None,
        "Yes: the next paragraph answers it. Governments that depend on profits have to restore "
        "them first.",
        [],
        "group",
        "n2",
    ),
    (
        "night-shift-readers",
        "n3",
        "lee",
        "highlighting",
        "The collective power of workers is the concrete reality",
        "",
        [],
        "group",
        None,
    ),
]


def seed_annotations(people, groups, essay) -> None:
    text = essay.canonical_text()
    by_slug = {group.slug: group for group in groups}
    for slug in {row[0] for row in DEMO_ANNOTATIONS}:
        if Annotation.objects.filter(group=by_slug[slug], reading=essay).exists():
            continue  # already seeded (or in use): leave it alone
        made = {}
        for group_slug, key, author, motivation, quote, body, tags, visibility, parent in (
            row for row in DEMO_ANNOTATIONS if row[0] == slug
        ):
            group = by_slug[group_slug]
            if parent:
                made[key] = annotation_create(
                    group=group,
                    reading=essay,
                    author=people[author],
                    motivation="replying",
                    body=body,
                    parent=made[parent],
                )
                continue
            start = text.index(quote)
            made[key] = annotation_create(
                group=group,
                reading=essay,
                author=people[author],
                motivation=motivation,
                body=body,
                tags=tags,
                visibility=visibility,
                start=start,
                end=start + len(quote),
                exact=quote,
                text=text,
            )
        if "q1a" in made:
            annotation_mark_answer(reply=made["q1a"], is_answer=True)
        if "n2a" in made:
            annotation_mark_answer(reply=made["n2a"], is_answer=True)


# --- assignments ------------------------------------------------------------------------------
#
# Tuesday Reading Circle: "Week 2: Why the working class", the first two sections of the text
# (its untitled introduction and "Why the working class"), due a week after the seed runs, with
# two prompts by Fran; post before you peek off. Night Shift Readers: the first section (the
# introduction), post before you peek ON, due a week out: Adé has posted a note there, Lee has
# not, and a note by Noor, the facilitator, sits there too. Sam has marked the first section read.

DEMO_PROMPTS = [
    (
        "The collective power of workers is the concrete reality",
        "Why does the author start from the working class rather than from “ordinary people”? "
        "Answer with an example from your own work.",
    ),
    (
        "The premise of socialism is simple: full democracy.",
        "What would “full democracy” change first in your workplace?",
    ),
]
NIGHT_SHIFT_NOTES = [
    (
        "noor",
        "The future of our generation of socialists is left largely undefined.",
        "Before Sunday: what kind of world are *we* fighting for? One sentence each.",
    ),
    (
        "ade",
        "a world without poverty, oppression, environmental devastation, and war",
        "On nights we talk about this more than about anything on the news.",
    ),
]


def seed_assignments(people, groups, essay) -> None:
    by_slug = {group.slug: group for group in groups}
    sections = list(essay.sections.order_by("position"))
    first_block = {s.pk: s.blocks.order_by("position").first() for s in sections[:2]}
    last_block = {s.pk: s.blocks.order_by("-position").first() for s in sections[:2]}
    due = timezone.now() + timedelta(days=7)
    text = essay.canonical_text()

    tuesday = by_slug["tuesday-reading-circle"]
    week2 = Assignment.objects.filter(
        group_reading__group=tuesday, title="Week 2: Why the working class"
    ).first()
    if week2 is None:
        week2 = assignment_create(
            group=tuesday,
            reading=essay,
            created_by=people["fran"],
            title="Week 2: Why the working class",
            first_block=first_block[sections[0].pk].anchor,
            last_block=last_block[sections[1].pk].anchor,
            due_at=due,
            instructions="Read both sections before Tuesday. Answer the two prompts in the "
            "margin, and bring **one example** from your own work.",
        )
        for quote, question in DEMO_PROMPTS:
            start = text.index(quote)
            annotation_create(
                group=tuesday,
                reading=essay,
                author=people["fran"],
                motivation="questioning",
                body=question,
                start=start,
                end=start + len(quote),
                exact=quote,
                text=text,
                prompt_of=week2,
            )

    night = by_slug["night-shift-readers"]
    if not Assignment.objects.filter(group_reading__group=night).exists():
        for author, quote, body in NIGHT_SHIFT_NOTES:
            start = text.index(quote)
            annotation_create(
                group=night,
                reading=essay,
                author=people[author],
                motivation="commenting",
                body=body,
                start=start,
                end=start + len(quote),
                exact=quote,
                text=text,
            )
        assignment_create(
            group=night,
            reading=essay,
            created_by=people["noor"],
            title="Before Sunday: the introduction",
            first_block=first_block[sections[0].pk].anchor,
            last_block=last_block[sections[0].pk].anchor,
            due_at=due,
            instructions="Post your own note on the introduction first: the others' notes "
            "open once you have.",
            post_before_peek=True,
        )

    sam = Membership.objects.get(group=tuesday, user=people["sam"])
    SectionRead.objects.get_or_create(membership=sam, reading=essay, section=sections[0].anchor)


# --- meetings ---------------------------------------------------------------------------------
#
# Tuesday Reading Circle: last week's meeting (a recap; Fran's question and Sam's strike comment
# marked discussed) and the one in six days on Week 2 (a free item, then Week 2's two prompts
# pinned). meetings.seeding makes them through the services; it leaves a group with meetings.


def seed_demo_meetings(people, groups, essay) -> None:
    tuesday = next(group for group in groups if group.slug == "tuesday-reading-circle")
    threads = Annotation.objects.filter(
        group=tuesday, reading=essay, parent__isnull=True, visibility="group"
    )
    discussed = [
        threads.filter(author=people["fran"], prompt_of__isnull=True).order_by("pk").first(),
        threads.filter(author=people["sam"]).order_by("pk").first(),
    ]
    week2 = Assignment.objects.filter(group_reading__group=tuesday).order_by("pk").first()
    pinned = list(threads.filter(prompt_of=week2).order_by("pk")) if week2 else []
    seed_meetings(
        group=tuesday,
        facilitator=people["fran"],
        assignment=week2,
        discussed=[thread for thread in discussed if thread is not None],
        pinned=pinned,
    )
