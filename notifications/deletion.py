"""What notifications say when a group or an account is deleted (commonplace/deletion.py):
notifications go with their group and with their recipient; those that others received about
what a deleted account did stay, naming a former member (notifications.describe)."""

from commonplace.deletion import Consequence, register_deletion_part


def connect() -> None:
    register_deletion_part("group", describe=describe_group)
    register_deletion_part("account", describe=describe_account)


def describe_group(group):
    yield Consequence("everyone's notifications about the group, including emails not yet sent")


def describe_account(user):
    yield Consequence("your notifications, email settings and muted threads")
    yield Consequence(
        "notifications others received about what you did stay, naming a former member",
        kept=True,
    )
