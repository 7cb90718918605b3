"""The database cache table (CACHES in settings): the shared cache of every app server.

Created here, not by a separate `createcachetable` step, so a fresh database (and every test
database) has it after `migrate`. With CACHE_URL pointing at Redis this creates nothing.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("annotations", "0002_plus_count_and_container_index")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
