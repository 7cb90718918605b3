from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from readings.models import Reading


@require_safe
def home(request):
    readings = Reading.objects.order_by("title")[:6] if request.user.is_authenticated else []
    return render(request, "home.html", {"readings": readings})


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
