"""A group's meetings: the list every member reads, each meeting's page (its time and link, the
agenda, the recap), a facilitator's forms to schedule, move, cancel, build the agenda from the
suggestions, mark items discussed and write the recap; a member's "raise at the meeting" on a
thread; and each person's private calendar feed. Everything works without JavaScript."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from annotations.access import annotation_for_reader
from annotations.models import Annotation
from commonplace.confirm import confirmation_page, is_confirmed
from commonplace.ratelimits import (
    RateLimited,
    count_guess,
    rate_limit,
    secret_key,
    too_many_requests,
)
from groups.access import GroupAction, group_check, group_for, group_permits
from meetings import services
from meetings.access import agenda_item_for, meeting_for
from meetings.agenda import agenda
from meetings.calendar import feed_etag, feed_for
from meetings.forms import AgendaItemForm, MeetingForm, RecapForm
from meetings.models import Meeting
from meetings.suggestions import suggestions
from meetings.times import ends_at, phase

STYLESHEET = "css/meetings.css"


def _list_url(group) -> str:
    return reverse("meetings:list", args=[group.slug])


def _meeting_url(group, meeting, part: str = "") -> str:
    url = reverse("meetings:detail", args=[group.slug, meeting.pk])
    return f"{url}#{part}" if part else url


def _annotate(meetings, now):
    for meeting in meetings:
        meeting.phase = phase(meeting, now)
        meeting.ends_at = ends_at(meeting)
    return meetings


@login_required
@require_safe
def meeting_list(request, group_slug):
    group, membership = group_for(request, group_slug)
    now = timezone.now()
    meetings = _annotate(
        list(
            Meeting.objects.filter(group=group)
            .select_related("assignment")
            .order_by("starts_at", "pk")
        ),
        now,
    )
    context = {
        "group": group,
        "membership": membership,
        "upcoming": [m for m in meetings if not m.phase.is_past and m.ends_at > now],
        "past": [m for m in reversed(meetings) if m.ends_at <= now],
        "can_manage": group_permits(membership, GroupAction.MANAGE_MEETINGS),
        "now": now,
        "stylesheet": STYLESHEET,
    }
    return render(request, "meetings/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request, group_slug):
    group, membership = group_for(request, group_slug, GroupAction.MANAGE_MEETINGS)
    form = MeetingForm(request.POST or None, group=group)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_create(
                group=group, created_by=request.user, **form.service_arguments()
            )
        except services.MeetingError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"“{meeting.title}” is scheduled. Build its agenda below.")
            return redirect(_meeting_url(group, meeting, "agenda"))
    context = {"group": group, "membership": membership, "form": form, "stylesheet": STYLESHEET}
    status = 400 if request.method == "POST" else 200
    return render(request, "meetings/form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_edit(request, group_slug, meeting_id):
    group, membership, meeting = meeting_for(
        request, group_slug, meeting_id, GroupAction.MANAGE_MEETINGS
    )
    if meeting.cancelled_at is not None:
        messages.error(request, "This meeting is cancelled: it cannot be changed.")
        return redirect(_meeting_url(group, meeting))
    form = MeetingForm(request.POST or None, group=group, meeting=meeting)
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_update(meeting=meeting, by=request.user, **form.service_arguments())
        except services.MeetingError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"“{form.cleaned_data['title']}” is saved.")
            return redirect(_meeting_url(group, meeting))
    context = {
        "group": group,
        "membership": membership,
        "meeting": meeting,
        "form": form,
        "stylesheet": STYLESHEET,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "meetings/form.html", context, status=status)


@login_required
@require_POST
def meeting_cancel(request, group_slug, meeting_id):
    group, _, meeting = meeting_for(request, group_slug, meeting_id, GroupAction.MANAGE_MEETINGS)
    if not is_confirmed(request):
        return confirmation_page(
            request,
            title=f"Cancel “{meeting.title}”?",
            consequence=(
                "It stays listed, marked cancelled, and members' calendars show it cancelled. "
                "Its agenda and time can no longer be changed: schedule a new meeting instead."
            ),
            action="Cancel the meeting",
            cancel_url=_meeting_url(group, meeting),
        )
    try:
        services.meeting_cancel(meeting=meeting, by=request.user)
    except services.MeetingError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"“{meeting.title}” is cancelled.")
    return redirect(_meeting_url(group, meeting))


# --- the meeting's page: time, link, agenda, suggestions, recap ----------------------------------


def _detail_context(request, group, membership, meeting, **forms) -> dict:
    now = timezone.now()
    _annotate([meeting], now)
    can_manage = group_permits(membership, GroupAction.MANAGE_MEETINGS)
    live = can_manage and meeting.cancelled_at is None
    opened = now >= meeting.starts_at - services.OPENS_BEFORE
    return {
        "group": group,
        "membership": membership,
        "meeting": meeting,
        "agenda": agenda(meeting, membership),
        "can_manage": can_manage,
        "can_edit": live,
        "can_mark": live and opened,
        "can_recap": live and opened,
        "suggestions": suggestions(meeting, membership) if live else None,
        "item_form": forms.get("item_form") or AgendaItemForm(),
        "recap_form": forms.get("recap_form") or RecapForm(initial={"recap": meeting.recap}),
        "now": now,
        "stylesheet": STYLESHEET,
    }


@login_required
@require_safe
def meeting_detail(request, group_slug, meeting_id):
    group, membership, meeting = meeting_for(request, group_slug, meeting_id)
    context = _detail_context(request, group, membership, meeting)
    return render(request, "meetings/detail.html", context)


@login_required
@require_POST
def meeting_recap(request, group_slug, meeting_id):
    group, membership, meeting = meeting_for(
        request, group_slug, meeting_id, GroupAction.MANAGE_MEETINGS
    )
    form = RecapForm(request.POST)
    if form.is_valid():
        try:
            services.meeting_recap(
                group=group, meeting=meeting, recap=form.cleaned_data["recap"], by=request.user
            )
        except services.MeetingError as error:
            if error.field != "recap":  # not yet, or cancelled: the page shows no form then
                messages.error(request, str(error))
                return redirect(_meeting_url(group, meeting, "recap"))
            form.add_error("recap", str(error))
        else:
            messages.success(request, "The recap is saved: it shows on the group's home.")
            return redirect(_meeting_url(group, meeting, "recap"))
    context = _detail_context(request, group, membership, meeting, recap_form=form)
    return render(request, "meetings/detail.html", context, status=400)


@login_required
@require_POST
def agenda_pin(request, group_slug, meeting_id):
    group, membership, meeting = meeting_for(
        request, group_slug, meeting_id, GroupAction.MANAGE_MEETINGS
    )
    raw = request.POST.get("thread", "")
    thread = Annotation(pk=int(raw)) if raw.isdigit() and len(raw) < 12 else None
    if thread is None:
        messages.error(request, "Choose a thread to pin.")
    else:
        try:
            services.agenda_pin(meeting=meeting, by=membership, thread=thread)
        except services.MeetingError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Pinned to the agenda.")
    return redirect(_meeting_url(group, meeting, "agenda"))


@login_required
@require_POST
def agenda_add(request, group_slug, meeting_id):
    group, membership, meeting = meeting_for(
        request, group_slug, meeting_id, GroupAction.MANAGE_MEETINGS
    )
    form = AgendaItemForm(request.POST)
    if form.is_valid():
        try:
            services.agenda_add(meeting=meeting, text=form.cleaned_data["text"])
        except services.MeetingError as error:
            if error.field != "text":  # a cancelled meeting: the page shows no form then
                messages.error(request, str(error))
                return redirect(_meeting_url(group, meeting, "agenda"))
            form.add_error("text", str(error))
        else:
            messages.success(request, "Added to the agenda.")
            return redirect(_meeting_url(group, meeting, "agenda"))
    context = _detail_context(request, group, membership, meeting, item_form=form)
    return render(request, "meetings/detail.html", context, status=400)


@login_required
@require_POST
def agenda_move(request, group_slug, meeting_id, item_id):
    group, _, meeting, item = agenda_item_for(
        request, group_slug, meeting_id, item_id, GroupAction.MANAGE_MEETINGS
    )
    try:
        services.agenda_move(item=item, direction=request.POST.get("direction", ""))
    except services.MeetingError as error:
        messages.error(request, str(error))
    return redirect(_meeting_url(group, meeting, f"item-{item.pk}"))


@login_required
@require_POST
def agenda_remove(request, group_slug, meeting_id, item_id):
    """Take an item off the agenda. A free item's words are lost: that asks first; a pinned
    thread stays where it is (and in the suggestions), so it goes at once."""
    group, _, meeting, item = agenda_item_for(
        request, group_slug, meeting_id, item_id, GroupAction.MANAGE_MEETINGS
    )
    if item.thread_id is None and not is_confirmed(request):
        return confirmation_page(
            request,
            title=f"Remove “{item.text}” from the agenda?",
            consequence="The item's words are not kept anywhere else.",
            action="Remove the item",
            cancel_url=_meeting_url(group, meeting, "agenda"),
        )
    try:
        services.agenda_remove(item=item)
    except services.MeetingError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Removed from the agenda.")
    return redirect(_meeting_url(group, meeting, "agenda"))


@login_required
@require_POST
def agenda_discussed(request, group_slug, meeting_id, item_id):
    group, _, meeting, item = agenda_item_for(
        request, group_slug, meeting_id, item_id, GroupAction.MANAGE_MEETINGS
    )
    try:
        services.agenda_mark_discussed(item=item, discussed=request.POST.get("discussed") != "0")
    except services.MeetingError as error:
        messages.error(request, str(error))
    return redirect(_meeting_url(group, meeting, f"item-{item.pk}"))


# --- raise at the meeting ------------------------------------------------------------------------


@login_required
@require_POST
def raise_thread(request, group_slug, reading_slug, annotation_id):
    """A member's one click on a thread's page: raise it at the next meeting, or take that
    back (`raised=0`). 404 for a thread they may not see, 403 in an archived group."""
    group, membership, group_reading, annotation = annotation_for_reader(
        request, group_slug, reading_slug, annotation_id
    )
    group_check(membership, GroupAction.RAISE)
    try:
        raised = services.raise_toggle(
            membership=membership, thread=annotation, raised=request.POST.get("raised") != "0"
        )
    except services.MeetingError as error:
        messages.error(request, str(error))
    else:
        if not request.headers.get("X-Requested-With"):
            messages.success(
                request,
                "Raised: the facilitators see it when they plan the meeting."
                if raised
                else "No longer raised.",
            )
    return redirect(annotation.get_absolute_url())


# --- the calendar feed ---------------------------------------------------------------------------


def _feed_urls(request, raw: str) -> dict:
    https = request.build_absolute_uri(reverse("meetings:calendar_feed", args=[raw]))
    return {"https": https, "webcal": "webcal://" + https.split("://", 1)[1]}


@login_required
@require_safe
def calendar(request):
    """The person's calendar address: whether they have one, how to make, replace or turn it
    off. The address itself is shown only when made (it is kept as a hash)."""
    feed = request.user.calendar_feeds.filter(revoked_at__isnull=True).first()
    response = render(request, "meetings/calendar.html", {"feed": feed, "urls": None})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def calendar_create(request):
    """Make a calendar address (replacing the old one, which stops working) and show it once."""
    had = request.user.calendar_feeds.filter(revoked_at__isnull=True).exists()
    if had and not is_confirmed(request):
        return confirmation_page(
            request,
            title="Replace your calendar address?",
            consequence=(
                "The address you have now stops working at once: calendars subscribed to it "
                "stop updating until you subscribe them to the new one."
            ),
            action="Replace it",
            cancel_url=reverse("meetings:calendar"),
        )
    feed, raw = services.calendar_feed_create(user=request.user)
    context = {"feed": feed, "urls": _feed_urls(request, raw), "replaced": had}
    response = render(request, "meetings/calendar.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def calendar_revoke(request):
    if not is_confirmed(request):
        return confirmation_page(
            request,
            title="Turn off your calendar address?",
            consequence=(
                "Calendars subscribed to it stop showing your groups' meetings and due dates. "
                "You can make a new address at any time."
            ),
            action="Turn it off",
            cancel_url=reverse("meetings:calendar"),
        )
    services.calendar_feed_revoke(user=request.user)
    messages.success(request, "Your calendar address no longer works.")
    return redirect("meetings:calendar")


@require_safe
@rate_limit("calendar_feed", key=lambda request, key: secret_key("feed", key))
def calendar_feed(request, key):
    """The iCalendar feed of a live key: the meetings and due dates of its owner's groups.
    No session needed (calendar apps have none): the key is the credential. An unknown or
    revoked key answers 404."""
    user = services.calendar_feed_owner(key)
    if user is None:
        try:
            count_guess(request)
        except RateLimited as error:
            return too_many_requests(request, error)
        raise Http404("No such calendar.")
    body = feed_for(user, request=request)
    etag = feed_etag(body)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="commonplace.ics"'
    response["ETag"] = etag
    response["X-Robots-Tag"] = "noindex"
    patch_cache_control(response, private=True, no_cache=True)
    return get_conditional_response(request, etag=etag, response=response) or response
