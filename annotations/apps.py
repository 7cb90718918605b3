from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"

    def ready(self):
        # What deleting a group, a reading or an account says and does about annotations
        # (commonplace/deletion.py).
        from annotations import deletion

        deletion.connect()
