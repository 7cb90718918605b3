import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from commonplace.confirm import confirmation_page, is_confirmed
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
from groups.forms import EmailInviteForm, GroupForm, InviteLinkForm, ReadingImportForm
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
    context = {
        "group": group,
        "membership": membership,
        "facilitators": [m for m in memberships if m.is_facilitator],
        "members": [m for m in memberships if not m.is_facilitator],
        "member_count": len(memberships),
        "group_readings": group_readings,
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
                "stays. They cannot rejoin through an invitation link, only through a personal "
                "invitation."
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
        return confirmation_page(
            request,
            title=f"Take “{group_reading.reading.title}” off the list?",
            consequence=(
                "Members will no longer find it among the group's readings. The group's "
                "annotations on it are kept, and come back if a facilitator adds it again."
            ),
            action="Take it off the list",
            cancel_url=group.get_absolute_url(),
        )
    services.group_reading_remove(group=group, reading=group_reading.reading)
    messages.success(request, f"“{group_reading.reading.title}” was taken off the group's list.")
    return redirect(group)


# --- invitations --------------------------------------------------------------------------------


@login_required
@require_safe
def invitations(request, group_slug):
    group, membership = group_for(request, group_slug, GroupAction.MANAGE_INVITATIONS)
    return _invitations_page(request, group, membership)


def _invitations_page(request, group, membership, *, link_form=None, email_form=None, status=200):
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
    }
    return render(request, "groups/invitations.html", context, status=status)


@login_required
@require_POST
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
    messages.success(
        request, "A new invitation link is ready: copy it and share it with your group."
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
def email_invite(request, group_slug):
    group, membership = group_for(request, group_slug, GroupAction.INVITE)
    form = EmailInviteForm(request.POST)
    if not form.is_valid():
        return _invitations_page(request, group, membership, email_form=form, status=400)
    sent, skipped = services.email_invitations_send(
        group=group, invited_by=request.user, emails=form.cleaned_data["emails"], request=request
    )
    if sent:
        messages.success(request, f"Sent {len(sent)} invitation{'s' if len(sent) != 1 else ''}.")
    if skipped:
        messages.info(request, "Already a member or already invited: " + ", ".join(skipped))
    return redirect("groups:invitations", group.slug)


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


@require_http_methods(["GET", "POST"])
def join(request, token):
    """An invitation link. Signed out: remember it and offer sign-up or log-in."""
    if not TOKEN.fullmatch(token):
        return _invitation_problem(request, "unknown")
    link = InviteLink.objects.select_related("group").filter(token=token).first()
    problem = "unknown" if link is None else link.problem()
    if link and link.group.is_archived:
        problem = "archived"
    if (
        link
        and request.user.is_authenticated
        and Membership.objects.filter(group=link.group, user=request.user).exists()
    ):
        return redirect(link.group)
    if problem:
        return _invitation_problem(request, problem)
    if not request.user.is_authenticated:
        services.invitation_remember(request.session, kind="link", token=token)
        return render(request, "groups/join.html", {"group": link.group, "next": request.path})
    if request.method == "POST":
        return _accept(request, services.invite_link_accept, token)
    return render(request, "groups/join.html", {"group": link.group, "next": request.path})


@require_http_methods(["GET", "POST"])
def invitation(request, token):
    """A personal email invitation: accept or decline."""
    if not TOKEN.fullmatch(token):
        return _invitation_problem(request, "unknown")
    invite = (
        EmailInvitation.objects.select_related("group", "invited_by").filter(token=token).first()
    )
    if (
        invite
        and request.user.is_authenticated
        and Membership.objects.filter(group=invite.group, user=request.user).exists()
    ):
        return redirect(invite.group)
    problem = "unknown" if invite is None else invite.problem()
    if invite and not problem and invite.group.is_archived:
        problem = "archived"
    if problem:
        return _invitation_problem(request, problem)
    if not request.user.is_authenticated:
        services.invitation_remember(request.session, kind="email", token=token)
    elif request.method == "POST":
        if request.POST.get("decision") == "decline":
            services.email_invitation_decline(invitation=invite)
            messages.info(request, f"You declined the invitation to “{invite.group.name}”.")
            return redirect("home")
        return _accept(request, services.email_invitation_accept, token)
    return render(
        request,
        "groups/join.html",
        {"group": invite.group, "invitation": invite, "next": request.path},
    )


def _accept(request, accept, token):
    try:
        membership, _ = accept(token=token, user=request.user)
    except services.InvitationError as error:
        return _invitation_problem(request, error.reason)
    services.invitation_forget(request.session)
    messages.success(request, f"Welcome to “{membership.group.name}”!")
    return redirect(membership.group)


def _invitation_problem(request, reason):
    status = 404 if reason == "unknown" else 410
    return render(
        request,
        "groups/invitation_problem.html",
        {"message": services.INVITATION_PROBLEMS[reason], "reason": reason},
        status=status,
    )
