from django.db import DatabaseError, connection
from django.db.models import Count, Exists, OuterRef
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from assignments.models import Assignment
from groups.models import EmailInvitation, Membership
from meetings.panels import next_meetings
from progress.week import current, this_week
from readings.models import Reading


@require_safe
def home(request):
    if not request.user.is_authenticated:
        return render(request, "home.html")
    now = timezone.now()
    memberships = list(
        Membership.objects.filter(user=request.user)
        .select_related("group")
        .annotate(
            member_count=Count("group__memberships"),
            # This week asks no more unless something is assigned in one of the groups.
            has_current=Exists(
                Assignment.objects.filter(
                    current(now), group_reading__group_id=OuterRef("group_id")
                )
            ),
        )
        .order_by("group__archived_at", "group__name")
    )
    # Only addresses the person has proved are theirs may show them someone's invitation.
    emails = set(
        request.user.emailaddress_set.filter(verified=True).values_list("email", flat=True)
    )
    invitations = list(
        EmailInvitation.objects.pending()
        .for_emails([email for email in emails if email])
        .exclude(group__memberships__user=request.user)
        .select_related("group", "invited_by")
    )
    readings = Reading.objects.public().order_by("title")[:6]
    week = this_week([m for m in memberships if m.has_current], now=now)
    context = {
        "memberships": memberships,
        "invitations": invitations,
        "readings": readings,
        "week": week,
        "meetings": next_meetings(request.user, now=now),  # each group's next (one query)
        "now": now,
    }
    return render(request, "home.html", context)


@csrf_exempt  # it only reads (require_safe): any other method gets 405, not a CSRF 403
@never_cache
@require_safe
def healthz(request):
    """For load balancers: 200 after a database round trip, 503 if the database is down."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})
