"""Writes that touch groups, memberships and invitations. Each runs in one transaction."""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, When
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from commonplace.deletion import deletion_prepare
from groups.access import ensure_writable
from groups.models import (
    EMAIL_INVITATION_LIFETIME,
    EmailInvitation,
    GroupReading,
    InvitationEmailSent,
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
    "removed": "A facilitator removed you from this group, so no invitation lets you back in "
    "until a facilitator of the group lifts the removal.",
    "sent before removal": "This invitation was sent before a facilitator removed you from the "
    "group, so it no longer lets you in. Ask a facilitator for a new one.",
    "not addressee": "This invitation is for another email address: it lets in only the account "
    "with that address, confirmed.",
    "none": "No invitation is open in this browser: open the link from your invitation again.",
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


@transaction.atomic
def group_delete(*, group: ReadingGroup) -> None:
    """Delete the group and everything of it, at once or not at all: memberships, readings
    list and the texts it imported, invitations, and (by their foreign keys' cascades) every
    annotation, reply and private note in it, assignments, meetings, reading progress,
    notifications and search entries. Archived or not. What the confirmation page says goes
    is commonplace.deletion's summary of the same cascade.

    The group's readings are locked first: every write to a group's layer ends by counting
    on them (annotations.services._layer_changed) and holds them until it commits, so a note
    written meanwhile is either in before the cascade looks, or waits and then finds no
    group, rather than failing the deletion at its commit."""
    list(GroupReading.objects.select_for_update().filter(group=group).order_by("pk"))
    deletion_prepare("group", group)
    group.delete()


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


@transaction.atomic
def group_reading_delete(*, group_reading: GroupReading) -> None:
    """Delete a text the group imported (only it reads it) with everything on it: the
    group's annotations and private notes, assignments, agenda items pinning its threads,
    reading progress and notifications about it."""
    group = group_reading.group
    ensure_writable(group)
    reading = group_reading.reading
    if reading.owner_group_id != group.pk:
        raise GroupError("Only a text this group imported can be deleted by it.")
    # Locked first, as group_delete locks them: a note written meanwhile is in, or waits.
    list(GroupReading.objects.select_for_update().filter(pk=group_reading.pk))
    deletion_prepare("reading", group_reading)
    reading.delete()


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
        now = timezone.now()
        Removal.objects.update_or_create(
            group_id=membership.group_id,
            user_id=membership.user_id,
            defaults={"removed_by": removed_by, "removed_at": now, "lifted_at": None},
        )
        # Invitations waiting for their addresses are void from now on: say so in the list.
        EmailInvitation.objects.filter(group_id=membership.group_id).pending().for_emails(
            _addresses_of(membership.user)
        ).update(withdrawn_at=now)


def removal_lift(*, group: ReadingGroup, user_id: int, lifted_by: User) -> Removal:
    """A facilitator lets a removed person back: from now on a new invitation or a link lets
    them in (an email invitation sent before the removal still does not). The record stays."""
    with transaction.atomic():
        removal = Removal.objects.select_for_update().get(group=group, user_id=user_id)
        if removal.lifted_at is None:
            removal.lifted_at = timezone.now()
            removal.lifted_by = lifted_by
            removal.save(update_fields=["lifted_at", "lifted_by"])
    return removal


def _addresses_of(user: User) -> list[str]:
    """Every address the person has given: their account's and allauth's (verified or not)."""
    found = set(EmailAddress.objects.filter(user=user).values_list("email", flat=True))
    return sorted({email.lower() for email in (*found, user.email) if email})


def removal_stands(*, group: ReadingGroup, user: User) -> bool:
    return Removal.objects.standing().filter(group=group, user=user).exists()


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


def _one(queryset, *, token: str | None, pk: int | None):
    """The invitation a token (from a link) or an id (remembered in the session) names."""
    if token is not None:
        return queryset.for_token(token).first()
    return queryset.filter(pk=pk).first() if pk is not None else None


@transaction.atomic
def invite_link_accept(
    *, user: User, token: str | None = None, link_id: int | None = None
) -> tuple[Membership, bool]:
    """Join the group through a link. Returns (membership, joined_now)."""
    link = _one(
        InviteLink.objects.select_for_update().select_related("group"), token=token, pk=link_id
    )
    if link is None:
        raise InvitationError("unknown")
    existing = Membership.objects.filter(group=link.group, user=user).first()
    if existing:
        return existing, False
    problem = link.problem()
    if problem:
        raise InvitationError(problem)
    if removal_stands(group=link.group, user=user):
        raise InvitationError("removed")
    membership, created = _join(link.group, user, via=link)
    if created:
        InviteLink.objects.filter(pk=link.pk).update(use_count=F("use_count") + 1)
    return membership, created


# --- email invitations -----------------------------------------------------------------------


class InvitationQuotaError(GroupError):
    """More invitation email than the account may send in a day: the message says how many
    are left and when they free up, for the form."""

    def __init__(self, *, limit: int, used: int, wanted: int, frees_at: datetime | None):
        self.limit, self.used, self.wanted, self.frees_at = limit, used, wanted, frees_at
        super().__init__(f"At most {limit} invitation emails a day per account.")


INVITATION_QUOTA_WINDOW = timedelta(days=1)


def invitation_quota_left(*, user: User, now=None) -> int:
    """How many more invitation emails this account may send now (any 24 hours, all groups)."""
    now = now or timezone.now()
    used = InvitationEmailSent.objects.filter(
        sender=user, sent_at__gt=now - INVITATION_QUOTA_WINDOW
    ).count()
    return max(0, settings.INVITATION_EMAILS_PER_DAY - used)


def _check_invitation_quota(user: User, wanted: int, now) -> None:
    """Counted from the database, so it holds across app servers; the caller holds a lock on
    the inviter's row, so two batches at once cannot both slip under it."""
    limit = settings.INVITATION_EMAILS_PER_DAY
    # Counted from a log of its own (InvitationEmailSent), not the invitations: deleting a
    # group or withdrawing an invitation gives no quota back.
    sent = InvitationEmailSent.objects.filter(sender=user)
    sent.filter(sent_at__lte=now - INVITATION_QUOTA_WINDOW).delete()
    sent_at = list(sent.order_by("sent_at").values_list("sent_at", flat=True))
    if len(sent_at) + wanted <= limit:
        return
    must_age = len(sent_at) + wanted - limit  # the oldest this many must leave the window
    frees_at = sent_at[must_age - 1] + INVITATION_QUOTA_WINDOW if wanted <= limit else None
    raise InvitationQuotaError(limit=limit, used=len(sent_at), wanted=wanted, frees_at=frees_at)


SKIPPED_MEMBER = "member"
SKIPPED_INVITED = "invited"
SKIPPED_REMOVED = "removed"


def email_invitations_send(
    *, group: ReadingGroup, invited_by: User, emails: Iterable[str], request=None
) -> tuple[list[EmailInvitation], dict[str, str]]:
    """Invite each address not yet a member, already invited or removed from the group.

    Returns (sent, skipped: {address: why}). Raises InvitationQuotaError, sending and writing
    nothing, when the batch would take the inviter past INVITATION_EMAILS_PER_DAY."""
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
    removed_users = Removal.objects.standing().filter(group=group).values("user_id")
    removed = {
        email.lower()
        for email in [
            *User.objects.filter(pk__in=removed_users).values_list("email", flat=True),
            *EmailAddress.objects.filter(user_id__in=removed_users).values_list("email", flat=True),
        ]
    }
    skipped = {}
    for email in wanted:
        if email in members:
            skipped[email] = SKIPPED_MEMBER
        elif email in pending:
            skipped[email] = SKIPPED_INVITED
        elif email in removed:
            skipped[email] = SKIPPED_REMOVED
    to_send = [email for email in wanted if email not in skipped]
    now = timezone.now()
    expires_at = now + EMAIL_INVITATION_LIFETIME
    with transaction.atomic():
        list(User.objects.select_for_update().filter(pk=invited_by.pk).values_list("pk"))
        _check_invitation_quota(invited_by, len(to_send), now)
        invitations = [
            EmailInvitation(group=group, email=email, invited_by=invited_by, expires_at=expires_at)
            for email in to_send
        ]
        for invitation in invitations:
            invitation.issue_token()
        tokens = [invitation.token for invitation in invitations]
        invitations = EmailInvitation.objects.bulk_create(invitations)
        InvitationEmailSent.objects.bulk_create(
            InvitationEmailSent(sender=invited_by, sent_at=now) for _ in invitations
        )
        for invitation, token in zip(invitations, tokens, strict=True):
            invitation.token = token  # bulk_create may hand back other objects on some backends
        messages = [_invitation_message(invitation, request) for invitation in invitations]
        transaction.on_commit(lambda: get_connection().send_messages(messages))
    return invitations, skipped


def quoted(text: str) -> str:
    """User text in a plain-text mail: every line behind "> ", as mail quotes what others
    wrote, so that it cannot pass for the site's own words."""
    lines = text.splitlines() or [""]
    return "\n".join(f"> {line}".rstrip() for line in lines)


def header_text(text: str) -> str:
    """User text made fit for a mail header: one line, without control or format characters
    (a zero-width space hiding a word, a right-to-left override reordering what follows)."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def _invitation_message(invitation: EmailInvitation, request) -> EmailMultiAlternatives:
    """The invitation mail. Everything people typed (the group's name and description, the
    inviter's name) is quoted in the text part and escaped in the HTML part, with no links
    made from it: the one link is the invitation's own."""
    base = request.build_absolute_uri("/").rstrip("/") if request else settings.SITE_URL
    group, inviter = invitation.group, invitation.invited_by
    inviter_name = inviter.public_name if inviter else "A facilitator"
    context = {
        "invitation": invitation,
        "group": group,
        "inviter_name": inviter_name,
        "quoted_inviter": quoted(inviter_name),
        "quoted_name": quoted(group.name),
        "quoted_description": quoted(group.description) if group.description else "",
        "description_lines": group.description.splitlines() if group.description else [],
        "url": base + invitation.token_path(),
        "site_name": settings.SITE_NAME,
    }
    subject = header_text(f"{inviter_name} invites you to read with “{group.name}”")
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("groups/email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
    )
    message.attach_alternative(
        render_to_string("groups/email/invitation.html", context), "text/html"
    )
    return message


def email_invitation_withdraw(*, invitation: EmailInvitation) -> None:
    if invitation.withdrawn_at is None and invitation.accepted_at is None:
        invitation.withdrawn_at = timezone.now()
        invitation.save(update_fields=["withdrawn_at"])


def invitation_is_for(invitation: EmailInvitation, user: User) -> bool:
    """An email invitation is for its addressee: the account with that address, verified."""
    return EmailAddress.objects.filter(
        user=user, email__iexact=invitation.email, verified=True
    ).exists()


def email_invitation_refusal(invitation: EmailInvitation, user: User) -> str | None:
    """Why this person may not accept this (usable) invitation, or None if they may."""
    if not invitation_is_for(invitation, user):
        return "not addressee"
    removal = Removal.objects.filter(group_id=invitation.group_id, user=user).first()
    if removal and removal.is_standing:
        return "removed"
    if removal and invitation.created_at <= removal.removed_at:
        return "sent before removal"
    return None


@transaction.atomic
def email_invitation_accept(
    *, user: User, token: str | None = None, invitation_id: int | None = None
) -> tuple[Membership, bool]:
    """Join the group through a personal invitation: only its addressee (verified address),
    only if no removal stands, and never with an invitation sent before their last removal.
    A removal is never lifted here (only a facilitator lifts it: removal_lift)."""
    invitation = _one(
        EmailInvitation.objects.select_for_update().select_related("group"),
        token=token,
        pk=invitation_id,
    )
    if invitation is None:
        raise InvitationError("unknown")
    existing = Membership.objects.filter(group=invitation.group, user=user).first()
    if existing:
        return existing, False
    problem = invitation.problem() or email_invitation_refusal(invitation, user)
    if problem:
        raise InvitationError(problem)
    membership, created = _join(invitation.group, user)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership, created


def email_invitation_decline(*, invitation: EmailInvitation) -> None:
    if invitation.problem() is None:
        invitation.declined_at = timezone.now()
        invitation.save(update_fields=["declined_at"])


# --- an invitation remembered in the session ------------------------------------------------
#
# The token of a link or an email invitation lives in one request only: its view looks it
# up, remembers here which invitation it opened (its kind and id, never the token) and
# redirects to the token-free page (groups:pending_invitation), which asks the person,
# signed in (after log-in or sign-up if need be), to confirm joining. Nobody joins silently.

PENDING_INVITE = "pending_invite"
PENDING_INVITE_SECONDS = 2 * 60 * 60  # a remembered invitation is forgotten after two hours
INVITATION_KINDS = ("link", "email")


@dataclass(frozen=True)
class Remembered:
    kind: str  # "link" or "email"
    id: int


def invitation_remember(session, *, kind: str, invitation_id: int) -> None:
    """Someone opened an invitation: keep which one until they confirm, decline or forget."""
    session[PENDING_INVITE] = {"kind": kind, "id": int(invitation_id), "at": time.time()}


def invitation_forget(session) -> None:
    session.pop(PENDING_INVITE, None)


def invitation_remembered(session) -> Remembered | None:
    """The invitation opened in this session, if fresh (forgotten when stale or malformed)."""
    pending = session.get(PENDING_INVITE)
    try:
        fresh = time.time() - float(pending["at"]) <= PENDING_INVITE_SECONDS
        remembered = Remembered(kind=str(pending["kind"]), id=int(pending["id"]))
    except (TypeError, KeyError, ValueError):
        fresh, remembered = False, None
    if not fresh or remembered is None or remembered.kind not in INVITATION_KINDS:
        if pending is not None:
            invitation_forget(session)
        return None
    return remembered


def invitation_remembered_address(session) -> str | None:
    """The address of the email invitation opened in this session, while it can be used:
    its link came to that mailbox, so an account signed up with it here counts as verified
    (groups.adapter.AccountAdapter.is_email_verified)."""
    remembered = invitation_remembered(session)
    if remembered is None or remembered.kind != "email":
        return None
    invitation = EmailInvitation.objects.pending().filter(pk=remembered.id).first()
    return invitation.email if invitation else None


def invitation_accept_remembered(*, session, user: User) -> tuple[Membership | None, bool]:
    """The person confirmed joining through the invitation remembered in their session.

    Returns (membership, joined now); (None, False) when nothing (fresh) was remembered.
    Raises InvitationError when the invitation cannot be used (by them)."""
    remembered = invitation_remembered(session)
    if remembered is None:
        return None, False
    if remembered.kind == "link":
        result = invite_link_accept(link_id=remembered.id, user=user)
    else:
        result = email_invitation_accept(invitation_id=remembered.id, user=user)
    invitation_forget(session)  # used (a refusal leaves it to the caller)
    return result
