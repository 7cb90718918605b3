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


def prompt_for(assignment, facilitator, body="What does this mean to you?", quote=QUOTE):
    """A facilitator's discussion prompt for `assignment`, on `quote` (inside its range)."""
    group_reading = assignment.group_reading
    return create(
        group_reading.group,
        group_reading.reading,
        facilitator,
        quote=quote,
        body=body,
        motivation="questioning",
        prompt_of=assignment,
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


def layer_at(client, page_url: str) -> list[dict]:
    """What the reading page at `page_url` (filters included) draws: its layer.json, each row
    as a dict with names resolved, orphans left out (they are listed, not drawn)."""
    path, _, query = page_url.partition("?")
    response = client.get(f"{path}layer.json" + (f"?{query}" if query else ""))
    assert response.status_code == 200, response.status_code
    data = response.json()
    entries = []
    for row in data["rows"]:
        entry = dict(zip(data["columns"], row, strict=True))
        if entry.pop("orphan"):
            continue
        person = data["people"][entry["author"]]
        entry["author"], entry["username"] = person["name"], person["username"]
        entry["tags"] = [data["tags"][i] for i in entry["tags"]]
        entries.append(entry)
    return entries
