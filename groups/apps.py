from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "groups"

    def ready(self):
        # What deleting a group, a reading or an account says and does about groups
        # (commonplace/deletion.py).
        from groups import deletion
        from groups.redaction import install_log_filters

        deletion.connect()
        install_log_filters()  # invitation tokens out of the request logs (issue 13, finding 11)
