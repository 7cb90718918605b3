"""Sessions made before accounts/backends.py named Django's and allauth's backend classes; the
settings now list this project's subclasses of them, and Django signs out a session whose
backend is not listed. This moves every live session to the class that replaced its own."""

from django.db import migrations
from django.utils import timezone

MOVED = {
    "django.contrib.auth.backends.ModelBackend": "accounts.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend": (
        "accounts.backends.AuthenticationBackend"
    ),
}
BACKEND_SESSION_KEY = "_auth_user_backend"


def move(apps, schema_editor, moves=MOVED):
    from django.contrib.sessions.backends.db import SessionStore

    Session = apps.get_model("sessions", "Session")
    store = SessionStore()
    live = Session.objects.filter(expire_date__gt=timezone.now()).order_by("pk")
    for session in live.iterator(chunk_size=2000):
        data = store.decode(session.session_data)
        backend = data.get(BACKEND_SESSION_KEY)
        if backend in moves:
            data[BACKEND_SESSION_KEY] = moves[backend]
            Session.objects.filter(pk=session.pk).update(session_data=store.encode(data))


def move_back(apps, schema_editor):
    move(apps, schema_editor, moves={new: old for old, new in MOVED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_site_from_settings"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(move, move_back)]
