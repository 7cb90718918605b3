from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from accounts.sites import site_from_settings_after_migrate

        # The Site record follows SITE_NAME/SITE_DOMAIN after every migrate and flush.
        post_migrate.connect(site_from_settings_after_migrate, sender=self)
