"""Name the django.contrib.sites record after SITE_NAME and SITE_DOMAIN, not "example.com"."""

from django.db import migrations

from accounts.sites import site_from_settings


def forwards(apps, schema_editor):
    site_from_settings(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_apitoken"),
        ("sites", "0002_alter_domain_unique"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
