"""What deleting a group, a reading or an account takes with it, said before it is done.

Deleting is the cascade of foreign keys (each model's `on_delete` says what goes with its
owner, and none PROTECTs), run in one transaction by the owner's service. What a person must
be told first ("12 threads and 40 replies are deleted") and the few steps a cascade cannot
take (an account's private notes, the groups it leaves empty) belong to the apps that own
those things, most of them above the app whose page asks. So each app registers a part from
its AppConfig.ready():

    register_deletion_part("group", describe=meetings_of_the_group)
    register_deletion_part("account", describe=notes_of_the_account, prepare=erase_private_notes)

Kinds: "group" (a ReadingGroup), "reading" (a GroupReading whose text the group imported:
the text itself goes), "reading_removal" (a GroupReading taken off its group's list: the
text stays), "account" (a User). `describe(obj)` returns Consequence and Blocker items;
`prepare(obj)` runs inside the deleting transaction before the owner's row is deleted, in
the order the apps registered (lowest layer first); a blocker found there raises
DeletionBlocked, which rolls everything back.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

KINDS = ("group", "reading", "reading_removal", "account")


@dataclass(frozen=True)
class Consequence:
    """One line of what will happen: something deleted, or something kept (and how)."""

    text: str
    kept: bool = False


@dataclass(frozen=True)
class Blocker:
    """What must be done before the deletion may go ahead, and where to do it."""

    text: str
    url: str = ""
    link_text: str = ""


@dataclass
class Summary:
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)


class DeletionBlocked(Exception):
    """The deletion cannot go ahead (yet): `blockers` say why."""

    def __init__(self, blockers: list[Blocker]):
        super().__init__(" ".join(b.text for b in blockers))
        self.blockers = blockers


@dataclass(frozen=True)
class _Part:
    describe: Callable[[object], Iterable[Consequence | Blocker]] | None
    prepare: Callable[[object], None] | None


_parts: dict[str, list[_Part]] = {kind: [] for kind in KINDS}


def register_deletion_part(kind: str, *, describe=None, prepare=None) -> None:
    """Add an app's part to deleting `kind` (registering the same part twice adds it once)."""
    part = _Part(describe, prepare)
    if part not in _parts[kind]:
        _parts[kind].append(part)


def deletion_summary(kind: str, obj) -> Summary:
    """What deleting `obj` would do, as every registered part says it."""
    summary = Summary()
    for part in _parts[kind]:
        for item in part.describe(obj) if part.describe else ():
            if isinstance(item, Blocker):
                summary.blockers.append(item)
            elif item.kept:
                summary.kept.append(item.text)
            else:
                summary.deleted.append(item.text)
    return summary


def deletion_prepare(kind: str, obj) -> None:
    """The registered parts' own steps, before `obj`'s row is deleted (in its transaction)."""
    for part in _parts[kind]:
        if part.prepare:
            part.prepare(obj)


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """“1 reply”, “3 replies”, “no replies”."""
    plural = plural or f"{singular}s"
    if count == 0:
        return f"no {plural}"
    return f"{count:,} {singular if count == 1 else plural}"
