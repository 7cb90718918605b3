"""What meetings add to the pages of lower apps (the group home, the thread page)."""


def connect() -> None:
    """Register this app's panels and extras (called from MeetingsConfig.ready)."""
