"""A search is one of many small queries a web request makes: on PostgreSQL, no parallel
workers for scans of the search table. Measured on the 2-core benchmark machine with a
common word in a group of 100,000 annotations, starting two workers and merging their sorted
matches cost more (22 ms) than one process sorting them all (14 ms)."""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE search_searchentry SET (parallel_workers = 0)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE search_searchentry RESET (parallel_workers)")


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
