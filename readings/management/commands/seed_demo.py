from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from groups.models import GroupReading, Membership, ReadingGroup
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
            seed_groups(people, essay)
        self.stdout.write(self.style.SUCCESS(f"Demo ready: “{essay.title}” is in the library."))
        self.stdout.write("")
        self.stdout.write(
            "Demo logins at http://127.0.0.1:8000/accounts/login/ "
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
