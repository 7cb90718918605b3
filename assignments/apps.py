from django.apps import AppConfig


class AssignmentsConfig(AppConfig):
    name = "assignments"
    verbose_name = "Assignments"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from assignments.models import Assignment, peek_until_changed

        # The group's peek_until follows its assignments (groups.models.ReadingGroup).
        post_save.connect(peek_until_changed, sender=Assignment, dispatch_uid="peek-saved")
        post_delete.connect(peek_until_changed, sender=Assignment, dispatch_uid="peek-deleted")

        # What deleting a group or a reading says about assignments (commonplace/deletion.py).
        from assignments import deletion

        deletion.connect()
