from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "groups"

    def ready(self):
        # What deleting a group, a reading or an account says and does about groups
        # (commonplace/deletion.py).
        from groups import deletion

        deletion.connect()
