from django.apps import AppConfig


class ProgressConfig(AppConfig):
    name = "progress"
    verbose_name = "Progress"

    def ready(self):
        from groups.panels import register_group_panel
        from progress.panels import group_home_panel

        # The group home shows "This week" and what is new, though groups cannot import us.
        register_group_panel(group_home_panel)
