from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = "Meetings"

    def ready(self):
        # Each part of the app connects its own hooks into the pages of lower apps
        # (groups.panels, annotations.extras): the meetings' pages (panels.py) and meeting
        # mode on the reading page (live.py).
        from meetings import live, panels

        panels.connect()
        live.connect()

        # What deleting a group, a reading or an account says about meetings
        # (commonplace/deletion.py).
        from meetings import deletion

        deletion.connect()
