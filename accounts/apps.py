from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from accounts.models import User
        from accounts.names import names_moved_on, names_saved
        from accounts.sites import site_from_settings_after_migrate

        # The Site record follows SITE_NAME/SITE_DOMAIN after every migrate and flush.
        post_migrate.connect(site_from_settings_after_migrate, sender=self)
        # Caches that keep names (accounts/names.py) learn of a rename or a removed account.
        post_save.connect(names_saved, sender=User, dispatch_uid="accounts-names-saved")
        post_delete.connect(names_moved_on, sender=User, dispatch_uid="accounts-names-deleted")

        # What deleting an account says about the account itself (commonplace/deletion.py).
        from accounts import deletion

        deletion.connect()
