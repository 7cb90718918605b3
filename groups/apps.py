from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "groups"

    def ready(self):
        from groups.redaction import install_log_filters

        install_log_filters()  # invitation tokens out of the request logs (finding 11)
