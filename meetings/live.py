"""Meeting mode on a group reading page."""


def connect() -> None:
    """Register meeting mode's extras on the reading page (called from MeetingsConfig.ready)."""
