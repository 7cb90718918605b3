"""Send the notification email that is due: run from cron every minute (see the README).

* * * * *  cd /srv/commonplace && .venv/bin/python manage.py send_notifications
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from notifications.delivery import Busy, send_notifications


class Command(BaseCommand):
    help = "Send notification emails and daily digests that are due (safe to run every minute)."

    def handle(self, *args, **options):
        try:
            report = send_notifications()
        except Busy as error:
            self.stdout.write(str(error))
            return
        except DatabaseError as error:
            raise CommandError(f"The database is not answering: {error}".splitlines()[0]) from None
        if options["verbosity"] >= 1:
            self.stdout.write(str(report))
