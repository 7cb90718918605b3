from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        # Hear the lower apps' events (annotations, assignments, meetings).
        from notifications import panels, receivers

        receivers.connect()
        panels.connect()

        # What deleting a group or an account says about notifications
        # (commonplace/deletion.py).
        from notifications import deletion

        deletion.connect()
