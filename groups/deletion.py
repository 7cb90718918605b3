"""What groups say and do when a group, a reading or an account is deleted
(commonplace/deletion.py): the people, the reading list and the invitations of a group; the
text a group imported; an account's memberships.

An account cannot be deleted while it is the only facilitator of a group that has other
members: a group needs a facilitator, and making someone one is a choice the group's people
make, not one the site makes for them (the same rule as leaving, groups.services). A group
whose only member is the account goes with it: nobody could ever open it again.
"""

from django.db.models import Count, Q
from django.urls import reverse

from commonplace.deletion import (
    Blocker,
    Consequence,
    DeletionBlocked,
    counted,
    register_deletion_part,
)
from groups.models import GroupReading, Membership, ReadingGroup
from groups.services import group_delete


def connect() -> None:
    register_deletion_part("group", describe=describe_group)
    register_deletion_part("reading", describe=describe_reading)
    register_deletion_part("reading_removal", describe=describe_reading_removal)
    register_deletion_part("account", describe=describe_account, prepare=prepare_account)


# --- a group -----------------------------------------------------------------------------------


def describe_group(group: ReadingGroup):
    roles = dict(group.memberships.values("role").annotate(n=Count("pk")).values_list("role", "n"))
    people = sum(roles.values())
    facilitators = roles.get(Membership.Role.FACILITATOR, 0)
    yield Consequence(
        f"the group's list of {counted(people, 'person', 'people')} "
        f"({counted(facilitators, 'facilitator')}): nobody can open the group again"
    )
    readings = list(group.group_readings.values_list("reading__owner_group_id", flat=True))
    own = sum(1 for owner in readings if owner == group.pk)
    yield Consequence(f"its reading list of {counted(len(readings), 'reading')}")
    if own:
        yield Consequence(
            f"{counted(own, 'text')} the group imported for itself "
            f"({'it is' if own == 1 else 'they are'} in no other group)"
        )
    if len(readings) > own:
        yield Consequence(
            f"{counted(len(readings) - own, 'reading')} from the library "
            f"{'stays' if len(readings) - own == 1 else 'stay'} in the library for other groups",
            kept=True,
        )
    links = group.invite_links.filter(revoked_at__isnull=True).count()
    pending = group.email_invitations.pending().count()
    if links or pending:
        invitations = counted(pending, "pending email invitation")
        yield Consequence(
            f"{counted(links, 'invitation link')} and {invitations}: they stop working"
        )


# --- a reading ---------------------------------------------------------------------------------


def describe_reading(group_reading: GroupReading):
    reading = group_reading.reading
    sections = reading.sections.count()
    yield Consequence(
        f"the text “{reading.title}” itself ({counted(sections, 'section')}), which only this "
        "group reads"
    )


def describe_reading_removal(group_reading: GroupReading):
    reading = group_reading.reading
    where = (
        "“Add a reading”, as a text this group imported"
        if reading.owner_group_id == group_reading.group_id
        else "the library"
    )
    yield Consequence(f"The text stays: a facilitator can add it again from {where}", kept=True)


# --- an account --------------------------------------------------------------------------------


def _memberships(user):
    """The account's memberships, each with its group's counts of people and facilitators."""
    return list(
        Membership.objects.filter(user=user)
        .select_related("group")
        .annotate(
            people=Count("group__memberships"),
            facilitators=Count(
                "group__memberships",
                filter=Q(group__memberships__role=Membership.Role.FACILITATOR),
            ),
        )
        .order_by("group__name")
    )


def groups_only_member(user) -> list[ReadingGroup]:
    """The groups of which the account is the only member: deleted with it."""
    return [m.group for m in _memberships(user) if m.people == 1]


def _blockers(memberships) -> list[Blocker]:
    return [
        Blocker(
            f"You are the only facilitator of “{m.group.name}”, which has "
            f"{counted(m.people - 1, 'other member')}: make "
            f"{'them' if m.people == 2 else 'one of them'} a facilitator, or delete the group, "
            "first.",
            url=reverse("groups:detail", args=[m.group.slug]) + "#people",
            link_text=f"The people of “{m.group.name}”",
        )
        for m in memberships
        if m.is_facilitator and m.facilitators == 1 and m.people > 1
    ]


def describe_account(user):
    memberships = _memberships(user)
    yield from _blockers(memberships)
    alone = [m.group for m in memberships if m.people == 1]
    shared = [m.group for m in memberships if m.people > 1]
    if shared:
        names = ", ".join(f"“{g.name}”" for g in shared)
        yield Consequence(f"your membership of {counted(len(shared), 'group')} ({names})")
    for group in alone:
        yield Consequence(
            f"the group “{group.name}”, of which you are the only member, with everything in it"
        )


def prepare_account(user) -> None:
    """Inside the deleting transaction: the account's groups' memberships locked (as stepping
    down locks them, so that nobody steps down meanwhile), the rule checked again, and the
    groups left with nobody deleted."""
    group_ids = Membership.objects.filter(user=user).values_list("group_id", flat=True)
    list(Membership.objects.select_for_update().filter(group_id__in=list(group_ids)))
    memberships = _memberships(user)
    if blockers := _blockers(memberships):
        raise DeletionBlocked(blockers)
    for membership in memberships:
        if membership.people == 1:
            group_delete(group=membership.group)
