"""The django.contrib.sites record that django-allauth's emails speak of.

Emails say "Hello from <site name>!" and name the site's domain, both read from Site
SITE_ID, which Django otherwise creates as "example.com". SITE_NAME and SITE_DOMAIN come from
the environment (commonplace/settings.py); a data migration writes them the first time and
every later `migrate` (or `flush`) writes them again, so the record follows the settings.
"""

from django.apps import apps as global_apps
from django.conf import settings
from django.contrib.sites.models import SITE_CACHE
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections


def site_from_settings(*, apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    Site = apps.get_model("sites", "Site")
    wanted = {"name": settings.SITE_NAME, "domain": settings.SITE_DOMAIN}
    _, created = Site.objects.using(using).update_or_create(id=settings.SITE_ID, defaults=wanted)
    SITE_CACHE.clear()  # get_current() caches records per process
    if created:
        # An explicit id leaves PostgreSQL's sequence behind (as in sites' create_default_site).
        connection = connections[using]
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Site]):
                cursor.execute(sql)


def site_from_settings_after_migrate(sender, *, using=DEFAULT_DB_ALIAS, apps=global_apps, **kw):
    """post_migrate receiver: runs after sites' own (which would create example.com)."""
    site_from_settings(apps=apps, using=using)
