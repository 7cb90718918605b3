"""Writes that touch groups, memberships and invitations. Each runs in one transaction."""

import time
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, When
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from groups.access import ensure_writable
from groups.models import (
    EMAIL_INVITATION_LIFETIME,
    EmailInvitation,
    GroupReading,
    InviteLink,
    Membership,
    ReadingGroup,
    Removal,
)
from readings.models import Reading
from readings.services import reading_import


class GroupError(Exception):
    """A request that breaks a rule of groups; the message says which, for a person."""


INVITATION_PROBLEMS = {
    "unknown": "This invitation is not valid: check that you copied the whole link.",
    "revoked": "This invitation link has been turned off by the group's facilitator.",
    "expired": "This invitation has expired.",
    "used up": "This invitation link has been used as many times as it allows.",
    "withdrawn": "This invitation has been withdrawn.",
    "already accepted": "This invitation has already been used.",
    "declined": "This invitation was declined.",
    "archived": "This group is archived and is not taking new members.",
    "removed": "A facilitator removed you from this group, so this link does not let you back "
    "in. Ask a facilitator for a personal invitation.",
}


class InvitationError(GroupError):
    def __init__(self, reason: str):
        super().__init__(INVITATION_PROBLEMS[reason])
        self.reason = reason


# Words that are paths of their own beside a slug (groups/new/, readings/add/, …).
RESERVED_SLUGS = {"new", "add", "import"}


def unique_slug(model, base: str, *, field: str = "slug", max_length: int = 80) -> str:
    base = (slugify(base)[: max_length - 6].strip("-")) or "group"
    slug, n = base, 2
    while slug in RESERVED_SLUGS or model.objects.filter(**{field: slug}).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


# --- groups --------------------------------------------------------------------------------


@transaction.atomic
def group_create(*, name: str, created_by: User, description: str = "", time_zone: str = "UTC"):
    group = ReadingGroup.objects.create(
        name=name.strip(),
        slug=unique_slug(ReadingGroup, name),
        description=description.strip(),
        time_zone=time_zone,
        created_by=created_by,
    )
    Membership.objects.create(group=group, user=created_by, role=Membership.Role.FACILITATOR)
    return group


def group_update(*, group: ReadingGroup, name: str, description: str, time_zone: str) -> None:
    ensure_writable(group)
    group.name = name.strip()
    group.description = description.strip()
    group.time_zone = time_zone
    group.save(update_fields=["name", "description", "time_zone"])


def group_archive(*, group: ReadingGroup) -> None:
    if not group.is_archived:
        group.archived_at = timezone.now()
        group.save(update_fields=["archived_at"])


def group_unarchive(*, group: ReadingGroup) -> None:
    if group.is_archived:
        group.archived_at = None
        group.save(update_fields=["archived_at"])


# --- readings --------------------------------------------------------------------------------


def group_reading_add(*, group: ReadingGroup, reading: Reading, added_by: User) -> GroupReading:
    ensure_writable(group)
    if reading.owner_group_id not in (None, group.pk):
        raise GroupError("That reading belongs to another group.")
    group_reading, _ = GroupReading.objects.get_or_create(
        group=group, reading=reading, defaults={"added_by": added_by}
    )
    return group_reading


@transaction.atomic
def group_reading_import(
    *, group: ReadingGroup, added_by: User, data: bytes, filename: str, overrides: dict
) -> GroupReading:
    """Import a text for this group only: same importer and checks as `import_reading`."""
    ensure_writable(group)
    title = overrides.get("title") or ""
    slug = unique_slug(Reading, f"{group.slug}-{title}" if title else group.slug, max_length=120)
    reading = reading_import(
        data=data, filename=filename, slug=slug, overrides=overrides, added_by=added_by
    )
    if not title:  # the title came from the file: give it a slug of its own
        better = unique_slug(Reading, f"{group.slug}-{reading.title}", max_length=120)
        if better != reading.slug:
            reading.slug = better
    reading.owner_group = group
    reading.save(update_fields=["owner_group", "slug"])
    return GroupReading.objects.create(group=group, reading=reading, added_by=added_by)


def group_reading_revise(
    *,
    group: ReadingGroup,
    reading: Reading,
    data: bytes,
    filename: str,
    overrides: dict,
    reanchor: Callable[[Reading, str, str], object],
) -> Reading:
    """New text for a reading the group imported. `reanchor` moves the annotations onto it
    (annotations.services.group_reading_revise is the service that calls this)."""
    ensure_writable(group)
    if reading.owner_group_id != group.pk:
        raise GroupError("Only readings imported by this group can be revised by it.")
    return reading_import(
        data=data,
        filename=filename,
        slug=reading.slug,
        overrides=overrides,
        replace=True,
        reanchor=reanchor,
    )


def group_reading_remove(*, group: ReadingGroup, reading: Reading) -> None:
    ensure_writable(group)
    GroupReading.objects.filter(group=group, reading=reading).delete()


# --- memberships ------------------------------------------------------------------------------


def _facilitator_count(group: ReadingGroup) -> int:
    return Membership.objects.filter(group=group, role=Membership.Role.FACILITATOR).count()


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str) -> None:
    # Lock the group's memberships so two facilitators cannot both step down at once.
    list(Membership.objects.select_for_update().filter(group_id=membership.group_id))
    ensure_writable(membership.group)  # an archived group's people stay as they were
    membership.refresh_from_db(fields=["role"])
    if role not in Membership.Role.values:
        raise GroupError("Unknown role.")
    if membership.role == role:
        return
    if membership.is_facilitator and _facilitator_count(membership.group) <= 1:
        raise GroupError(
            "A group needs a facilitator: appoint another facilitator before stepping down."
        )
    membership.role = role
    membership.save(update_fields=["role"])


@transaction.atomic
def membership_remove(*, membership: Membership, removed_by: User | None = None) -> None:
    """Remove a person from the group (`removed_by` a facilitator), or let them leave.

    What they wrote stays. Someone removed cannot come back through an invitation link.
    """
    list(Membership.objects.select_for_update().filter(group_id=membership.group_id))
    if removed_by is not None and removed_by.pk != membership.user_id:
        ensure_writable(membership.group)  # leaving an archived group is allowed; removal not
    if membership.is_facilitator and _facilitator_count(membership.group) <= 1:
        raise GroupError(
            "You are the group's only facilitator: appoint another facilitator before leaving."
        )
    membership.delete()
    if removed_by is not None and removed_by.pk != membership.user_id:
        Removal.objects.update_or_create(
            group_id=membership.group_id,
            user_id=membership.user_id,
            defaults={"removed_by": removed_by},
        )


def _join(group: ReadingGroup, user: User, *, via: InviteLink | None = None):
    if group.is_archived:
        raise InvitationError("archived")
    try:
        with transaction.atomic():
            membership = Membership.objects.create(group=group, user=user, joined_via=via)
    except IntegrityError:
        return Membership.objects.get(group=group, user=user), False
    return membership, True


# --- visits ---------------------------------------------------------------------------------
#
# A visit is a run of activity in the group. `last_seen_at` is when the member was last seen
# there; when they come back after VISIT_GAP or more unseen, a new visit starts and the end of
# the one before becomes `previous_visit_at` ("since your last visit" counts from it, and it
# stays put for the whole of the present visit).

VISIT_GAP = timedelta(hours=2)
SEEN_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


def membership_seen(*, membership: Membership, now=None) -> None:
    """The member was seen in the group now. At most one UPDATE a minute and no read: the
    conditions are in the UPDATE itself, so two requests at once cannot both start a visit
    (the second finds last_seen_at already fresh and writes nothing). Keeps `membership`'s
    own fields in step with what it wrote."""
    now = now or timezone.now()
    last = membership.last_seen_at
    if last is not None and now - last < SEEN_EVERY:
        return  # seen a moment ago (as the row read with the membership says): no query
    new_visit = Q(last_seen_at__lte=now - VISIT_GAP)
    written = (
        Membership.objects.filter(pk=membership.pk)
        .filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lte=now - SEEN_EVERY))
        .update(
            # Both right-hand sides read the row as it was before this UPDATE.
            previous_visit_at=Case(
                When(new_visit, then=F("last_seen_at")), default=F("previous_visit_at")
            ),
            last_seen_at=now,
        )
    )
    if written:
        if last is not None and last <= now - VISIT_GAP:
            membership.previous_visit_at = last
        membership.last_seen_at = now


# --- invitation links ----------------------------------------------------------------------


def invite_link_create(
    *, group: ReadingGroup, created_by: User, label: str = "", expires_at=None, max_uses=None
) -> InviteLink:
    ensure_writable(group)
    return InviteLink.objects.create(
        group=group,
        created_by=created_by,
        label=label.strip(),
        expires_at=expires_at,
        max_uses=max_uses,
    )


def invite_link_revoke(*, link: InviteLink) -> None:
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])


@transaction.atomic
def invite_link_accept(*, token: str, user: User) -> tuple[Membership, bool]:
    """Join the group through a link. Returns (membership, joined_now)."""
    link = (
        InviteLink.objects.select_for_update().select_related("group").filter(token=token).first()
    )
    if link is None:
        raise InvitationError("unknown")
    existing = Membership.objects.filter(group=link.group, user=user).first()
    if existing:
        return existing, False
    problem = link.problem()
    if problem:
        raise InvitationError(problem)
    if Removal.objects.filter(group=link.group, user=user).exists():
        raise InvitationError("removed")
    membership, created = _join(link.group, user, via=link)
    if created:
        InviteLink.objects.filter(pk=link.pk).update(use_count=F("use_count") + 1)
    return membership, created


# --- email invitations -----------------------------------------------------------------------


def email_invitations_send(
    *, group: ReadingGroup, invited_by: User, emails: Iterable[str], request=None
) -> tuple[list[EmailInvitation], list[str]]:
    """Invite each address not yet a member or already invited. Returns (sent, skipped)."""
    ensure_writable(group)
    wanted = list(dict.fromkeys(email.strip().lower() for email in emails if email.strip()))
    members = {
        email.lower()
        for email in User.objects.filter(memberships__group=group).values_list("email", flat=True)
    }
    pending = {
        email.lower()
        for email in EmailInvitation.objects.filter(group=group)
        .pending()
        .values_list("email", flat=True)
    }
    skipped = [email for email in wanted if email in members or email in pending]
    expires_at = timezone.now() + EMAIL_INVITATION_LIFETIME
    with transaction.atomic():
        invitations = EmailInvitation.objects.bulk_create(
            [
                EmailInvitation(
                    group=group, email=email, invited_by=invited_by, expires_at=expires_at
                )
                for email in wanted
                if email not in skipped
            ]
        )
        messages = [_invitation_message(invitation, request) for invitation in invitations]
        transaction.on_commit(lambda: send_mass_mail(messages, fail_silently=False))
    return invitations, skipped


def _invitation_message(invitation: EmailInvitation, request) -> tuple[str, str, str, list[str]]:
    base = request.build_absolute_uri("/").rstrip("/") if request else settings.SITE_URL
    context = {
        "invitation": invitation,
        "group": invitation.group,
        "inviter": invitation.invited_by,
        "url": base + invitation.get_absolute_url(),
    }
    subject = f"{invitation.invited_by} invites you to read with {invitation.group.name}"
    body = render_to_string("groups/email/invitation.txt", context)
    return (" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, [invitation.email])


def email_invitation_withdraw(*, invitation: EmailInvitation) -> None:
    if invitation.withdrawn_at is None and invitation.accepted_at is None:
        invitation.withdrawn_at = timezone.now()
        invitation.save(update_fields=["withdrawn_at"])


@transaction.atomic
def email_invitation_accept(*, token: str, user: User) -> tuple[Membership, bool]:
    invitation = (
        EmailInvitation.objects.select_for_update()
        .select_related("group")
        .filter(token=token)
        .first()
    )
    if invitation is None:
        raise InvitationError("unknown")
    existing = Membership.objects.filter(group=invitation.group, user=user).first()
    if existing:
        return existing, False
    problem = invitation.problem()
    if problem:
        raise InvitationError(problem)
    membership, created = _join(invitation.group, user)
    Removal.objects.filter(group=invitation.group, user=user).delete()  # invited back on purpose
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership, created


def email_invitation_decline(*, invitation: EmailInvitation) -> None:
    if invitation.problem() is None:
        invitation.declined_at = timezone.now()
        invitation.save(update_fields=["declined_at"])


# --- an invitation remembered across log-in or sign-up --------------------------------------

PENDING_INVITE = "pending_invite"
PENDING_INVITE_SECONDS = 2 * 60 * 60  # a remembered invitation is forgotten after two hours


def invitation_remember(session, *, kind: str, token: str) -> None:
    """Someone signed out opened an invitation: keep it until they log in or sign up."""
    session[PENDING_INVITE] = {"kind": kind, "token": token, "at": time.time()}


def invitation_forget(session) -> None:
    session.pop(PENDING_INVITE, None)


def invitation_accept_remembered(*, session, user: User) -> tuple[Membership | None, bool]:
    """After log-in or sign-up: join the group whose invitation brought this person here.

    Returns (membership, joined now); (None, False) when nothing (fresh) was remembered.
    Raises InvitationError when the invitation can no longer be used.
    """
    pending = session.pop(PENDING_INVITE, None)
    if not isinstance(pending, dict):
        return None, False
    if time.time() - float(pending.get("at") or 0) > PENDING_INVITE_SECONDS:
        return None, False
    accept = {"link": invite_link_accept, "email": email_invitation_accept}.get(pending.get("kind"))
    if accept is None:
        return None, False
    return accept(token=str(pending.get("token", "")), user=user)
