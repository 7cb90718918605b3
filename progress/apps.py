from django.apps import AppConfig


class ProgressConfig(AppConfig):
    name = "progress"
    verbose_name = "Progress"

    def ready(self):
        from groups.panels import register_group_panel, register_reading_extras
        from progress.panels import group_home_panel, reading_page_extras

        # The group home shows "This week" and what is new, and the group reading page what is
        # new, what is read and (to facilitators) the heat, though neither can import us.
        register_group_panel(group_home_panel)
        register_reading_extras(reading_page_extras)
