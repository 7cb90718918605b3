"""Invitation tokens are kept only as their SHA-256 (issue 13, finding 11), and a removal is
lifted by a facilitator rather than deleted (finding 1).

Each existing token is hashed in place, so every link and email already sent keeps working;
the tokens themselves are then dropped. Going back cannot recover them: the reverse gives
every row a fresh token nobody holds (the links sent before stop working)."""

import hashlib
import secrets

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def digest(token: str) -> str:  # groups.models.token_digest, frozen here
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def hash_tokens(apps, schema_editor):
    for name in ("InviteLink", "EmailInvitation"):
        model = apps.get_model("groups", name)
        rows = list(model.objects.only("pk", "token"))
        for row in rows:
            row.token_hash = digest(row.token)
        model.objects.bulk_update(rows, ["token_hash"], batch_size=500)


def fresh_tokens(apps, schema_editor):
    for name in ("InviteLink", "EmailInvitation"):
        model = apps.get_model("groups", name)
        rows = list(model.objects.only("pk"))
        for row in rows:
            row.token = secrets.token_urlsafe(32)
        model.objects.bulk_update(rows, ["token"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("groups", "0006_groupreading_live_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="invitelink",
            name="token_hash",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="emailinvitation",
            name="token_hash",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        # the old column's default (a fresh token) is what a re-added column needs going back
        migrations.AlterField(
            model_name="invitelink",
            name="token",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name="emailinvitation",
            name="token",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(hash_tokens, fresh_tokens),
        migrations.RemoveField(model_name="invitelink", name="token"),
        migrations.RemoveField(model_name="emailinvitation", name="token"),
        migrations.AlterField(
            model_name="invitelink",
            name="token_hash",
            field=models.CharField(editable=False, max_length=64, unique=True),
        ),
        migrations.AlterField(
            model_name="emailinvitation",
            name="token_hash",
            field=models.CharField(editable=False, max_length=64, unique=True),
        ),
        migrations.AddField(
            model_name="removal",
            name="lifted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="removal",
            name="lifted_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
