from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotModified, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from annotations.access import annotation_for_reader
from commonplace.ratelimits import (
    RateLimited,
    count_guess,
    rate_limit,
    secret_key,
    too_many_requests,
)
from groups.access import group_for_member
from groups.models import Membership
from notifications import services
from notifications.access import visible_notifications
from notifications.delivery import RELATED
from notifications.describe import describe
from notifications.forms import PreferencesForm
from notifications.models import Kind, Mute, Notification, Preferences
from notifications.tokens import read_unsubscribe_token

PAGE_SIZE = 30
STYLESHEET = "css/notifications.css"


def _back(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    # A path on this site only: anything else ("1", a view's name) is no address to go back to.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
@require_safe
def inbox(request):
    memberships = list(Membership.objects.filter(user=request.user).select_related("group"))
    found = visible_notifications(request.user, memberships)
    found = services.inbox(found, request.user)
    unread_only = request.GET.get("show") == "unread"
    shown = found.filter(read_at__isnull=True) if unread_only else found
    page = Paginator(shown.select_related(*RELATED).order_by("-created_at", "-pk"), PAGE_SIZE)
    page = page.get_page(request.GET.get("page"))
    now = timezone.now()
    items = [
        {"n": n, "d": describe(n, zone_name=request.user.time_zone, now=now), "ago": _ago(n, now)}
        for n in page.object_list
    ]
    unread = found.filter(read_at__isnull=True).count()
    context = {
        "page": page,
        "items": items,
        "unread": unread,
        "unread_only": unread_only,
        "stylesheet": STYLESHEET,
    }
    return render(request, "notifications/inbox.html", context)


def _ago(notification, now) -> str:
    """ "just now", "5 minutes ago", "2 days ago"."""
    if now - notification.created_at < timedelta(minutes=1):
        return "just now"
    return f"{timesince(notification.created_at, now)} ago"


def _notification_for(request, notification_id: int):
    found = visible_notifications(request.user).filter(pk=notification_id)
    notification = found.select_related(*RELATED).first()
    if notification is None:
        raise Http404("No such notification.")
    return notification


@login_required
@require_safe
def open_notification(request, notification_id):
    """Follow a notification (from the inbox or an email): it is read, and you are taken to
    what it is about, with its thread open."""
    notification = _notification_for(request, notification_id)
    if notification.read_at is None:
        services.notification_mark_read(notification=notification)
    described = describe(notification, zone_name=request.user.time_zone, now=timezone.now())
    return redirect(described.path)


@login_required
@require_POST
def mark(request, notification_id):
    notification = _notification_for(request, notification_id)
    services.notification_mark_read(
        notification=notification, read=request.POST.get("read", "1") != "0"
    )
    return redirect(_back(request, reverse("notifications:inbox")))


@login_required
@require_POST
def mark_all(request):
    count = services.notifications_mark_all_read(user=request.user)
    if count:
        messages.success(request, f"Marked {count} notification{'' if count == 1 else 's'} read.")
    return redirect(_back(request, reverse("notifications:inbox")))


@login_required
@require_safe
def unread_count(request):
    """The header's unread count, for the page's live checks: {"unread": 3}. Asked every
    minute on every page: the permission table is asked only for the groups with something
    unread (none, usually: then one query), not all of a person's groups (37 made it 0.3 s of
    query building)."""
    user = request.user
    unread_in = Notification.objects.filter(recipient=user, read_at__isnull=True)
    groups = set(unread_in.order_by().values_list("group_id", flat=True).distinct())
    count = 0
    if groups:
        memberships = list(
            Membership.objects.filter(user=user, group_id__in=groups).select_related("group")
        )
        found = visible_notifications(user, memberships)
        count = services.inbox(found, user).filter(read_at__isnull=True).count()
    etag = f'"unread-{count}"'
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        response = JsonResponse({"unread": count, "url": reverse("notifications:inbox")})
    response["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    if request.method == "POST":
        saved, _ = Preferences.objects.get_or_create(user=request.user)
    else:
        saved = Preferences.for_user(request.user)
    form = PreferencesForm(request.POST if request.method == "POST" else None, instance=saved)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your notification settings are saved.")
        return redirect("notifications:settings")
    memberships = list(
        Membership.objects.filter(user=request.user).select_related("group").order_by("group__name")
    )
    mutes = Mute.objects.filter(user=request.user)
    muted_groups = {m.group_id for m in mutes if m.thread_id is None}
    threads = list(
        mutes.filter(thread__isnull=False, group__memberships__user=request.user)
        .select_related("group", "thread__reading")
        .order_by("-created_at")
    )
    context = {
        "form": form,
        "memberships": memberships,
        "muted_groups": muted_groups,
        "muted_threads": threads,
        "is_facilitator": any(m.is_facilitator for m in memberships),
        "zone_label": request.user.time_zone.replace("_", " "),
        "stylesheet": STYLESHEET,
    }
    return render(
        request,
        "notifications/settings.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def mute_group(request, group_slug):
    group, _ = group_for_member(request, group_slug)
    muted = request.POST.get("muted", "1") != "0"
    services.mute_set(user=request.user, group=group, muted=muted)
    messages.success(
        request,
        f"“{group.name}” is muted: you will not be told of anything in it."
        if muted
        else f"You will hear from “{group.name}” again.",
    )
    return redirect(_back(request, reverse("notifications:settings")))


@login_required
@require_POST
def mute_thread(request, group_slug, reading_slug, annotation_id):
    muted = request.POST.get("muted", "1") != "0"
    if not muted:  # unmuting asks only for a mute of one's own (the thread may be hidden since)
        group, _ = group_for_member(request, group_slug)
        gone = Mute.objects.filter(user=request.user, group=group, thread_id=annotation_id)
        if not gone.delete()[0]:  # a reply's id: its thread's root holds the mute
            _, _, _, annotation = annotation_for_reader(
                request, group_slug, reading_slug, annotation_id
            )
            services.mute_set(user=request.user, group=group, thread=annotation, muted=False)
    else:
        group, _, _, annotation = annotation_for_reader(
            request, group_slug, reading_slug, annotation_id
        )
        services.mute_set(user=request.user, group=group, thread=annotation, muted=muted)
    if request.headers.get("X-Requested-With"):  # the reading page's panel redraws the thread
        return redirect(_back(request, reverse("notifications:settings")))
    messages.success(
        request,
        "This thread is muted: you will not be told of new replies."
        if muted
        else "You will be told of this thread's replies again.",
    )
    return redirect(_back(request, reverse("notifications:settings")))


@csrf_exempt  # RFC 8058: the mail client POSTs without a session, so without a CSRF token
@require_http_methods(["GET", "POST"])
@rate_limit("unsubscribe", key=lambda request, token: secret_key("unsubscribe", token))
def unsubscribe(request, token):
    """One-click unsubscribe: a POST (the mail client's, or the page's button) turns that
    kind of email off, with no log-in; a GET shows what the button will do. A token not made
    here answers 400 and changes nothing."""
    found = read_unsubscribe_token(token)
    user = None
    if found is not None:
        user = User.objects.filter(pk=found[0], is_active=True).first()
    if user is None or (found[1] != "digest" and found[1] not in Kind.values):
        try:
            count_guess(request)
        except RateLimited as error:
            return too_many_requests(request, error)
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=400)
    kind = found[1]
    # "Stop emailing maria@… about replies to you?" / "… the daily digest?"
    what = "the daily digest" if kind == "digest" else f"about {Kind(kind).label.lower()}"
    context = {"what": what, "kind": kind, "token": token, "email": user.email}
    if request.method == "POST":
        turned_off = services.preferences_unsubscribe(user=user, kind=kind)
        context["done"] = bool(turned_off)
        context["already"] = not turned_off
        if kind == "digest":
            context["turned_off"] = [Kind(k).label.lower() for k in turned_off]
    else:
        context["already"] = services.unsubscribed(user=user, kind=kind)
    response = render(request, "notifications/unsubscribe.html", context)
    response["Referrer-Policy"] = "no-referrer"
    return response
