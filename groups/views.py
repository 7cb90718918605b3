import re

from allauth.account.models import EmailAddress
from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from commonplace.confirm import confirmation_page, is_confirmed
from commonplace.deletion import deletion_summary
from commonplace.ratelimits import rate_limit
from groups import services
from groups.access import (
    ARCHIVE_FREEZES,
    ARCHIVE_KEEPS,
    GroupAction,
    group_for,
    group_for_member,
    group_permits,
    group_reading_for_facilitator,
)
from groups.forms import (
    EmailInviteForm,
    GroupDeleteForm,
    GroupForm,
    InviteLinkForm,
    ReadingImportForm,
)
from groups.models import EmailInvitation, InviteLink, Membership
from groups.panels import group_panels
from readings.importer import ReadingImportError
from readings.models import Reading

SLUG = re.compile(r"[-a-zA-Z0-9_]{1,120}")
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what groups.models.new_token makes


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    form = GroupForm(request.POST or None, initial={"time_zone": request.user.time_zone})
    if request.method == "POST" and form.is_valid():
        group = services.group_create(created_by=request.user, **form.cleaned_data)
        messages.success(request, f"“{group.name}” is ready. Add a reading and invite your group.")
        return redirect(group)
    status = 400 if request.method == "POST" else 200
    return render(request, "groups/create.html", {"form": form}, status=status)


@login_required
@require_safe
def detail(request, group_slug):
    group, membership = group_for_member(request, group_slug)
    services.membership_seen(membership=membership)
    memberships = list(
        group.memberships.select_related("user").order_by(
            "role", "user__display_name", "user__username"
        )
    )
    group_readings = list(group.group_readings.select_related("reading", "added_by"))
    for group_reading in group_readings:
        group_reading.can_revise = group_permits(membership, GroupAction.REVISE_TEXT, group_reading)
        group_reading.can_delete = group_permits(
            membership, GroupAction.DELETE_READING, group_reading
        )
    context = {
        "group": group,
        "membership": membership,
        "facilitators": [m for m in memberships if m.is_facilitator],
        "members": [m for m in memberships if not m.is_facilitator],
        "member_count": len(memberships),
        "group_readings": group_readings,
        # people removed, for the facilitators to let back in (one query, theirs only)
        "removals": (
            list(group.removals.standing().select_related("user").order_by("-removed_at"))
            if group_permits(membership, GroupAction.MANAGE_MEMBERS)
            else []
        ),
    }
    context["panels"] = group_panels(request, context)  # what apps above groups add here
    return render(request, "groups/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def settings_view(request, group_slug):
    action = GroupAction.CHANGE_SETTINGS if request.method == "POST" else GroupAction.OPEN_SETTINGS
    group, membership = group_for(request, group_slug, action)
    form = GroupForm(request.POST or None, instance=group)
    if request.method == "POST" and form.is_valid():
        services.group_update(group=group, **form.cleaned_data)
        messages.success(request, "Group settings saved.")
        return redirect(group)
    context = {"group": group, "membership": membership, "form": form}
    status = 400 if request.method == "POST" else 200
    return render(request, "groups/settings.html", context, status=status)


@login_required
@require_POST
def archive(request, group_slug):
    group, membership = group_for(request, group_slug, GroupAction.ARCHIVE)
    if not is_confirmed(request):
        # What archiving freezes and keeps, as groups.access enforces it (always this page,
        # with or without JavaScript: the list is too long for a dialog's one line).
        context = {
            "group": group,
            "membership": membership,
            "freezes": ARCHIVE_FREEZES,
            "keeps": ARCHIVE_KEEPS,
        }
        return render(request, "groups/archive_confirm.html", context)
    services.group_archive(group=group)
    messages.success(
        request, "The group is archived: everything stays readable, nothing new can be written."
    )
    return redirect(group)


@login_required
@require_POST
def unarchive(request, group_slug):
    group, _ = group_for(request, group_slug, GroupAction.ARCHIVE)
    services.group_unarchive(group=group)
    messages.success(request, "The group is active again.")
    return redirect(group)


@login_required
@require_http_methods(["GET", "POST"])
def delete(request, group_slug):
    """Delete the group: GET says what goes (and what stays), POST with the name typed does it."""
    group, membership = group_for(request, group_slug, GroupAction.DELETE)
    form = GroupDeleteForm(request.POST or None, group=group)
    if request.method == "POST" and form.is_valid():
        name = group.name
        services.group_delete(group=group)
        messages.success(request, f"“{name}” is deleted, with everything in it.")
        return redirect("home")
    context = {
        "group": group,
        "membership": membership,
        "form": form,
        "summary": deletion_summary("group", group),
        "cancel_url": reverse("groups:settings", args=[group.slug]),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "groups/delete.html", context, status=status)


# --- members ----------------------------------------------------------------------------------


def _membership_in(group, user_id) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "group"), group=group, user_id=user_id
    )


@login_required
@require_POST
def member_role(request, group_slug, user_id):
    group, _ = group_for(request, group_slug, GroupAction.MANAGE_MEMBERS)
    target = _membership_in(group, user_id)
    role = request.POST.get("role", "")
    try:
        services.membership_set_role(membership=target, role=role)
    except services.GroupError as error:
        messages.error(request, str(error))
    else:
        label = "a facilitator" if role == Membership.Role.FACILITATOR else "a member"
        messages.success(request, f"{target.user.public_name} is now {label}.")
    if target.user_id == request.user.pk and role != Membership.Role.FACILITATOR:
        return redirect(group)
    return redirect(reverse("groups:detail", args=[group.slug]) + "#people")


@login_required
@require_POST
def member_remove(request, group_slug, user_id):
    group, _ = group_for(request, group_slug, GroupAction.MANAGE_MEMBERS)
    target = _membership_in(group, user_id)
    if target.user_id == request.user.pk:
        return leave(request, group_slug)
    if not is_confirmed(request):
        return confirmation_page(
            request,
            title=f"Remove {target.user.public_name} from the group?",
            consequence=(
                f"{target.user.public_name} will no longer see “{group.name}”. What they wrote "
                "stays. No invitation, link or email, lets them back in until a facilitator "
                "lets them back in under People; invitations waiting for them are withdrawn."
            ),
            action="Remove",
            cancel_url=reverse("groups:detail", args=[group.slug]) + "#people",
        )
    try:
        services.membership_remove(membership=target, removed_by=request.user)
    except services.GroupError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{target.user.public_name} has been removed from the group.")
    return redirect(reverse("groups:detail", args=[group.slug]) + "#people")


@login_required
@require_POST
def removal_lift(request, group_slug, user_id):
    """Let someone removed back: invitations (new ones) and links work for them again."""
    group, _ = group_for(request, group_slug, GroupAction.MANAGE_MEMBERS)
    removal = get_object_or_404(group.removals.standing().select_related("user"), user_id=user_id)
    name = removal.user.public_name
    if not is_confirmed(request):
        return confirmation_page(
            request,
            title=f"Let {name} back in?",
            consequence=(
                f"{name} will not be a member again at once: they can join through an "
                "invitation link or a new email invitation, like anyone invited. Email "
                "invitations sent before they were removed stay unusable."
            ),
            action="Let them back in",
            cancel_url=reverse("groups:detail", args=[group.slug]) + "#removed",
        )
    services.removal_lift(group=group, user_id=removal.user_id, lifted_by=request.user)
    messages.success(request, f"{name} can be invited again.")
    return redirect(reverse("groups:detail", args=[group.slug]) + "#people")


@login_required
@require_POST
def leave(request, group_slug):
    group, membership = group_for(request, group_slug, GroupAction.LEAVE)
    if not is_confirmed(request):
        return confirmation_page(
            request,
            title=f"Leave “{group.name}”?",
            consequence=(
                "You will no longer see the group or its annotations. What you wrote stays. "
                "To come back you need a new invitation."
            ),
            action="Leave the group",
            cancel_url=group.get_absolute_url(),
        )
    try:
        services.membership_remove(membership=membership)
    except services.GroupError as error:
        messages.error(request, str(error))
        return redirect(group)
    messages.success(request, f"You have left “{group.name}”.")
    return redirect("home")


# --- readings ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def reading_add(request, group_slug):
    action = GroupAction.ADD_READING if request.method == "POST" else GroupAction.OPEN_SETTINGS
    group, membership = group_for(request, group_slug, action)
    import_form = ReadingImportForm()
    if request.method == "POST":
        wanted = request.POST.get("reading", "")
        if not SLUG.fullmatch(wanted):
            raise Http404("No such reading.")
        reading = get_object_or_404(
            Reading.objects.filter(Q(owner_group__isnull=True) | Q(owner_group=group)), slug=wanted
        )
        services.group_reading_add(group=group, reading=reading, added_by=request.user)
        messages.success(request, f"The group now reads “{reading.title}”.")
        return redirect(group)
    return _reading_add_page(request, group, membership, import_form)


@login_required
@require_POST
@rate_limit("import")
def reading_import(request, group_slug):
    group, membership = group_for(request, group_slug, GroupAction.ADD_READING)
    form = ReadingImportForm(request.POST, request.FILES)
    if form.is_valid():
        data, filename = form.source()
        try:
            group_reading = services.group_reading_import(
                group=group,
                added_by=request.user,
                data=data,
                filename=filename,
                overrides=form.overrides(),
            )
        except ReadingImportError as error:
            form.add_error("file" if form.cleaned_data.get("file") else "text", str(error))
        else:
            messages.success(
                request, f"“{group_reading.reading.title}” is imported for this group."
            )
            return redirect(group_reading)
    return _reading_add_page(request, group, membership, form, status=400)


def _reading_add_page(request, group, membership, import_form, status=200):
    library = (
        Reading.objects.filter(Q(owner_group__isnull=True) | Q(owner_group=group))
        .exclude(group_readings__group=group)
        .order_by("title")
    )
    context = {
        "group": group,
        "membership": membership,
        "library": library,
        "import_form": import_form,
    }
    return render(request, "groups/reading_add.html", context, status=status)


@login_required
@require_POST
def reading_remove(request, group_slug, reading_slug):
    group, membership, group_reading = group_reading_for_facilitator(
        request, group_slug, reading_slug, GroupAction.REMOVE_READING
    )
    if not is_confirmed(request):
        summary = deletion_summary("reading_removal", group_reading)
        return confirmation_page(
            request,
            title=f"Take “{group_reading.reading.title}” off the list?",
            consequence=" ".join(
                [
                    "Members will no longer find it among the group's readings.",
                    *(f"{line[:1].upper()}{line[1:]}." for line in summary.kept),
                    *(f"Deleted: {line}." for line in summary.deleted),
                ]
            ),
            action="Take it off the list",
            cancel_url=group.get_absolute_url(),
        )
    services.group_reading_remove(group=group, reading=group_reading.reading)
    messages.success(request, f"“{group_reading.reading.title}” was taken off the group's list.")
    return redirect(group)


@login_required
@require_http_methods(["GET", "POST"])
def reading_delete(request, group_slug, reading_slug):
    """Delete a text the group imported, with everything on it: GET says what, POST does it."""
    group, membership, group_reading = group_reading_for_facilitator(
        request, group_slug, reading_slug, GroupAction.DELETE_READING
    )
    if request.method == "POST":
        title = group_reading.reading.title
        services.group_reading_delete(group_reading=group_reading)
        messages.success(request, f"“{title}” is deleted, with everything written on it.")
        return redirect(group)
    context = {
        "group": group,
        "membership": membership,
        "reading": group_reading.reading,
        "summary": deletion_summary("reading", group_reading),
        "cancel_url": group.get_absolute_url(),
    }
    return render(request, "groups/reading_delete.html", context)


# --- invitations --------------------------------------------------------------------------------


@login_required
@require_safe
def invitations(request, group_slug):
    group, membership = group_for(request, group_slug, GroupAction.MANAGE_INVITATIONS)
    return _invitations_page(request, group, membership)


NEW_LINK = "new_invite_link"


def _invitations_page(request, group, membership, *, link_form=None, email_form=None, status=200):
    new_link = request.session.pop(NEW_LINK, None)
    links = list(
        group.invite_links.select_related("created_by").prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.select_related("user"))
        )
    )
    pending = list(group.email_invitations.pending().select_related("invited_by"))
    context = {
        "group": group,
        "membership": membership,
        "links": links,
        "pending": pending,
        "link_form": link_form or InviteLinkForm(),
        "email_form": email_form or EmailInviteForm(),
        "new_link": new_link if isinstance(new_link, dict) else None,
        "quota_left": services.invitation_quota_left(user=request.user),
        "quota": django_settings.INVITATION_EMAILS_PER_DAY,
    }
    return render(request, "groups/invitations.html", context, status=status)


@login_required
@require_POST
@rate_limit("invitation_link")
def link_create(request, group_slug):
    group, membership = group_for(request, group_slug, GroupAction.INVITE)
    form = InviteLinkForm(request.POST)
    if not form.is_valid():
        return _invitations_page(request, group, membership, link_form=form, status=400)
    link = services.invite_link_create(
        group=group,
        created_by=request.user,
        label=form.cleaned_data["label"],
        expires_at=form.expires_at(),
        max_uses=form.cleaned_data["max_uses"],
    )
    # Only the link's hash is stored: its address is shown once, on the next page, from the
    # session (the token never travels in a URL but its own).
    request.session[NEW_LINK] = {"id": link.pk, "path": link.token_path()}
    messages.success(
        request, "A new invitation link is ready: copy it now and share it with your group."
    )
    return redirect(reverse("groups:invitations", args=[group.slug]) + f"#link-{link.pk}")


@login_required
@require_POST
def link_revoke(request, group_slug, link_id):
    group, _ = group_for(request, group_slug, GroupAction.MANAGE_INVITATIONS)
    link = get_object_or_404(InviteLink, group=group, pk=link_id)
    if not is_confirmed(request):
        return confirmation_page(
            request,
            title="Turn off this invitation link?",
            consequence=(
                "Nobody else will be able to join with it; people who already joined stay. "
                "This cannot be undone, but you can make a new link."
            ),
            action="Turn it off",
            cancel_url=reverse("groups:invitations", args=[group.slug]),
        )
    services.invite_link_revoke(link=link)
    messages.success(request, "The link is turned off: nobody else can join with it.")
    return redirect("groups:invitations", group.slug)


@login_required
@require_POST
@rate_limit("invitation_email")
def email_invite(request, group_slug):
    group, membership = group_for(request, group_slug, GroupAction.INVITE)
    form = EmailInviteForm(request.POST)
    if not form.is_valid():
        return _invitations_page(request, group, membership, email_form=form, status=400)
    try:
        sent, skipped = services.email_invitations_send(
            group=group,
            invited_by=request.user,
            emails=form.cleaned_data["emails"],
            request=request,
        )
    except services.InvitationQuotaError as error:
        form.add_error("emails", quota_message(error))
        return _invitations_page(request, group, membership, email_form=form, status=400)
    if sent:
        messages.success(request, f"Sent {len(sent)} invitation{'s' if len(sent) != 1 else ''}.")
    already = [email for email, why in skipped.items() if why != services.SKIPPED_REMOVED]
    if already:
        messages.info(request, "Already a member or already invited: " + ", ".join(already))
    removed = [email for email, why in skipped.items() if why == services.SKIPPED_REMOVED]
    if removed:
        messages.warning(
            request,
            "Not sent to someone removed from the group: "
            + ", ".join(removed)
            + ". Let them back in under People on the group's page first.",
        )
    return redirect("groups:invitations", group.slug)


def quota_message(error) -> str:
    """The form error for InvitationQuotaError: the limit, what is left, when it frees up."""
    left = max(0, error.limit - error.used)
    text = (
        f"You can send at most {error.limit} invitation emails a day (in any 24 hours, all "
        f"your groups together). You have sent {error.used} in the last 24 hours, so "
        f"{left or 'no'} more can go now; you entered {error.wanted}."
    )
    if error.frees_at is None:  # more than a whole day's worth at once
        return f"{text} Send at most {error.limit} at a time. Nothing was sent."
    when = timezone.localtime(error.frees_at)
    return (
        f"{text} All {error.wanted} can go from {date_format(when, 'j F Y, H:i')} "
        f"({when.tzname()}), or send fewer now. Nothing was sent."
    )


@login_required
@require_POST
def email_withdraw(request, group_slug, invitation_id):
    group, _ = group_for(request, group_slug, GroupAction.MANAGE_INVITATIONS)
    invitation = get_object_or_404(EmailInvitation, group=group, pk=invitation_id)
    if not is_confirmed(request):
        return confirmation_page(
            request,
            title=f"Withdraw the invitation to {invitation.email}?",
            consequence=("The link in their email stops working. You can invite them again later."),
            action="Withdraw",
            cancel_url=reverse("groups:invitations", args=[group.slug]),
        )
    services.email_invitation_withdraw(invitation=invitation)
    messages.success(request, f"The invitation to {invitation.email} is withdrawn.")
    return redirect("groups:invitations", group.slug)


# --- opening an invitation -----------------------------------------------------------------
#
# The token of a link or an email lives in one request only: `join` and `invitation` look it
# up, remember which invitation it opened in the session (not the token) and redirect to the
# token-free page, `pending_invitation`, so it stays out of the `?next=` of log-in and sign-up,
# out of the Referer of anything the page links to, and out of every later request's log.
# That page asks the person, signed in, to confirm: nobody ever joins without pressing Join.
#
# A token that opens nothing (unknown, or an invitation dead for good) is sent on to the same
# page with the reason in its query (`?problem=revoked`), which then says why: no page is ever
# rendered at a token's URL, and nothing is written for it (no session for a guessing bot).
# The redirects say `Referrer-Policy: no-referrer`, which browsers carry on to the page
# they lead to, so the token is not sent on as a Referer either; the token-free pages keep the
# site's `same-origin` policy (their URLs hold no token, and under `no-referrer` browsers send
# `Origin: null` with a form's POST, which Django's CSRF check refuses). The logs and error
# reports blank tokens out (groups.redaction).

DEAD_FOR_GOOD = {
    "unknown",
    "revoked",
    "expired",
    "used up",
    "withdrawn",
    "already accepted",
    "declined",
}


def _no_referrer(response):
    """For the answers at a token's URL: the browser sends no Referer from it, nor from the
    page it redirects to (whose forms then post with `Origin: null`: keep those off it)."""
    response["Referrer-Policy"] = "no-referrer"
    return response


def _open_token(request, kind: str, token: str):
    model = InviteLink if kind == "link" else EmailInvitation
    found = (
        model.objects.select_related("group").for_token(token).first()
        if TOKEN.fullmatch(token)
        else None
    )
    if (
        found is not None
        and request.user.is_authenticated
        and Membership.objects.filter(group=found.group, user=request.user).exists()
    ):
        services.invitation_forget(request.session)
        return _no_referrer(redirect(found.group))
    problem = "unknown" if found is None else found.problem()
    pending = reverse("groups:pending_invitation")
    if problem in DEAD_FOR_GOOD:
        return _no_referrer(redirect(f"{pending}?{urlencode({'problem': problem})}"))
    services.invitation_remember(request.session, kind=kind, invitation_id=found.pk)
    return _no_referrer(redirect(pending))


@require_safe
def join(request, token):
    """An invitation link's own address: remember it, then on to the token-free page."""
    return _open_token(request, "link", token)


@require_safe
def invitation(request, token):
    """A personal email invitation's address: remember it, then on to the token-free page."""
    return _open_token(request, "email", token)


@login_required
@require_safe
def invitation_for_you(request, invitation_id):
    """From the home page's "Invitations for you": the invitation of one of the person's own
    verified addresses, opened without its token. 404 to anyone else."""
    invite = get_object_or_404(EmailInvitation.objects.pending(), pk=invitation_id)
    if not services.invitation_is_for(invite, request.user):
        raise Http404("No such invitation.")
    services.invitation_remember(request.session, kind="email", invitation_id=invite.pk)
    return redirect("groups:pending_invitation")


@require_http_methods(["GET", "HEAD", "POST"])
def pending_invitation(request):
    """The invitation opened in this browser: who it is from and for, and, signed in, Join or
    No thanks. Signed out: sign up or log in first (they come back here to confirm)."""
    if request.method != "POST" and request.GET.get("problem") in DEAD_FOR_GOOD:
        return _invitation_problem(request, request.GET["problem"])
    remembered = services.invitation_remembered(request.session)
    if remembered is None:
        return _invitation_problem(request, "none")
    if remembered.kind == "link":
        found = InviteLink.objects.select_related("group").filter(pk=remembered.id).first()
    else:
        found = (
            EmailInvitation.objects.select_related("group", "invited_by")
            .filter(pk=remembered.id)
            .first()
        )
    problem = "unknown" if found is None else found.problem()
    if not problem and found.group.is_archived:
        problem = "archived"  # for now: kept, in case a facilitator unarchives
    if problem in DEAD_FOR_GOOD:
        services.invitation_forget(request.session)
    if problem:
        return _invitation_problem(request, problem)
    group, user = found.group, request.user
    email = found if remembered.kind == "email" else None
    refusal = None
    if user.is_authenticated:
        if Membership.objects.filter(group=group, user=user).exists():
            services.invitation_forget(request.session)
            return redirect(group)
        if email:
            refusal = services.email_invitation_refusal(email, user)
        elif services.removal_stands(group=group, user=user):
            refusal = "removed"
    if refusal and refusal != "not addressee":  # removed: the page says what to do otherwise
        return _invitation_problem(request, refusal)
    is_for_you = bool(email and user.is_authenticated and not refusal)
    if request.method == "POST":
        if not user.is_authenticated:
            return redirect_to_login(request.path)
        decision = request.POST.get("decision")
        if decision in ("decline", "no"):
            services.invitation_forget(request.session)
            if email and is_for_you:
                services.email_invitation_decline(invitation=email)
                messages.info(request, f"You declined the invitation to “{group.name}”.")
            else:
                messages.info(request, f"You did not join “{group.name}”.")
            return redirect("home")
        if decision == "accept":
            return _accept(request)
    context = {
        "group": group,
        "invitation": email,
        "is_for_you": is_for_you,
        "address_unverified": bool(
            email
            and user.is_authenticated
            and not is_for_you
            and EmailAddress.objects.filter(user=user, email__iexact=email.email).exists()
        ),
        "next": request.path,
    }
    status = 400 if request.method == "POST" else 200  # a POST without a known decision
    return render(request, "groups/join.html", context, status=status)


def _accept(request):
    try:
        membership, _ = services.invitation_accept_remembered(
            session=request.session, user=request.user
        )
    except services.InvitationError as error:
        if error.reason in DEAD_FOR_GOOD:
            services.invitation_forget(request.session)
        return _invitation_problem(request, error.reason)
    if membership is None:
        return _invitation_problem(request, "none")
    messages.success(request, f"Welcome to “{membership.group.name}”!")
    return redirect(membership.group)


INVITATION_PROBLEM_STATUS = {"unknown": 404, "none": 404, "not addressee": 403}


def _invitation_problem(request, reason):
    return render(
        request,
        "groups/invitation_problem.html",
        {"message": services.INVITATION_PROBLEMS[reason], "reason": reason},
        status=INVITATION_PROBLEM_STATUS.get(reason, 410),
    )
