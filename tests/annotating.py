"""Helpers shared by the annotation tests: make annotations over the essay by quoting it."""

from annotations import services

QUOTE = "The premise of socialism is simple: full democracy."


def span(reading, quote: str) -> tuple[int, int]:
    text = reading.canonical_text()
    assert text.count(quote) == 1, f"{quote!r} is not unique in the text"
    start = text.index(quote)
    return start, start + len(quote)


def create(group, reading, author, quote=QUOTE, body="A fine point.", **fields):
    start, end = span(reading, quote)
    fields.setdefault("motivation", "commenting" if body else "highlighting")
    return services.annotation_create(
        group=group, reading=reading, author=author, body=body, start=start, end=end, **fields
    )


def reply_to(parent, author, body="I agree."):
    return services.annotation_create(
        group=parent.group,
        reading=parent.reading,
        author=author,
        motivation="replying",
        body=body,
        parent=parent,
    )
