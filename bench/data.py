"""The benchmark's data set, built reproducibly (one seed) with the project's own models.

Everyone reads the bundled essay. The groups, in the order they are created:

- **busy** (the measured group): MEASURED_MEMBERS members (two facilitators), MEASURED_ROOTS
  highlights, comments, questions and tag notes, MEASURED_REPLIES replies (some nested, some
  accepted answers), tags, +1s (Annotation.plus_count agrees with the PlusOne rows), private
  notes (the viewer has some), hidden items, a few deleted placeholders and orphans, open
  flags. The viewer is `bench-m01`, a plain member.
- **quiet**: the same people, the same reading, no annotations: the page's floor.
- BACKGROUND_GROUPS **background** groups over the same reading: BACKGROUND_ITEMS annotations
  and replies per unit of --scale, spread over the groups unevenly (a few big ones).
- **late**: a group made after the background, so its rows come last in every table (the
  case where an index that follows the id order of the whole table would have to walk past
  everybody else's).

The busy group's rows are created interleaved with the background's, as a live site's
would be (its 7,000 rows scattered over the table, not packed together); its content depends
on the seed alone, never on the scale. Rows go in with bulk_create in batches of BATCH.
Everything is decided by random.Random instances seeded from the seed, so the same seed and
scale give the same rows with the same ids in a fresh database.
"""

import bisect
import itertools
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

# Bump when what is generated changes: a database holding another version is rebuilt.
GENERATOR_VERSION = 1
DEFAULT_SEED = 7

MEASURED_MEMBERS = 30
MEASURED_ROOTS = 2_000
MEASURED_REPLIES = 5_000
# Of the replies, this share answers another reply rather than the thread's root.
NESTED_SHARE = 0.3
BACKGROUND_GROUPS = 1_000
BACKGROUND_ITEMS = 100_000  # annotations and replies, at --scale 1
BACKGROUND_REPLY_SHARE = 0.6
BACKGROUND_USERS = 2_000
LATE_MEMBERS = 12
LATE_ROOTS = 300
LATE_REPLIES = 700
BATCH = 5_000
PASSWORD = "!"  # unusable: people log in by a session made in-process (bench.run)

BUSY, QUIET, LATE = "bench-busy", "bench-quiet", "bench-late"
VIEWER = "bench-m01"
FACILITATORS = ("bench-m00", "bench-m02")

TAGS = [
    "strikes", "democracy", "state", "reform", "history", "marx", "unions", "power",
    "discussion", "question", "definition", "example", "to-read", "agree", "disagree",
    "economy", "revolution", "party", "workers", "organising", "theory", "practice",
    "socialism", "capitalism", "social-democracy", "stalinism", "self-activity", "class",
    "consciousness", "meeting", "quote", "key-point", "summary", "method", "strategy",
    "reforms", "elections", "movement", "labour", "solidarity",
]  # fmt: skip
SENTENCES = [
    "This is the crux of the whole essay.",
    "I am not sure the author's history holds up here.",
    "Compare this with what we read last month about the **Paris Commune**.",
    "Who decides what counts as *from below*?",
    "The distinction between reform and revolution is doing a lot of work in this paragraph.",
    "Strikes appear again: the argument keeps returning to collective action.",
    "See also [the mass strike pamphlet](https://example.org/mass-strike) for the background.",
    "I would like us to spend ten minutes on this on Tuesday.",
    "Is this a description of what happened, or of what should have happened?",
    "The word *democracy* means something different in each of these sentences.",
    "Good point: the state is not neutral here.",
    "My union went through exactly this in 2019.",
    "A definition would help: what is *self-activity*, concretely?",
    "Agreed.",
    "Not quite: the next section qualifies it.",
    "The quote from Draper is the centre of gravity of the piece.",
    "This sentence is carrying two claims at once, and only the first is argued.",
    "I read this as a criticism of both traditions, not just one.",
]
REPLY_SENTENCES = [
    "Agreed.",
    "I read it the other way.",
    "Yes, and the footnote says as much.",
    "Can you say more?",
    "Thanks, that helps.",
    "Not sure: see the next paragraph.",
    "That is what I meant, @bench-m03.",
    "The 1970s examples fit this well.",
    "**Exactly.**",
    "Let's bring this to the meeting.",
]


@dataclass
class Item:
    """An annotation about to be created, and what goes in with it once it has an id."""

    annotation: object
    tags: list[str] = field(default_factory=list)
    plus_users: list[int] = field(default_factory=list)


@dataclass
class Built:
    counts: dict
    seconds: float


def _bodies(rng: random.Random, sentences: list[str], n: int, most: int) -> list[tuple[str, str]]:
    """n Markdown bodies of 1..most sentences with their cleaned HTML, rendered once each."""
    from commonplace import markdown

    bodies = []
    for _ in range(n):
        text = " ".join(rng.sample(sentences, rng.randint(1, most)))
        bodies.append((text, markdown.render(text)))
    return bodies


class Passages:
    """Random passages of the canonical text that start and end on word boundaries."""

    def __init__(self, text: str):
        from annotations.anchoring import CONTEXT

        self.text = text
        self.context = CONTEXT
        self.starts = [m.start() for m in re.finditer(r"\b\w", text)]
        self.ends = [m.end() for m in re.finditer(r"\w\b", text)]

    def pick(self, rng: random.Random) -> dict:
        start = rng.choice(self.starts[:-1])
        length = min(int(rng.lognormvariate(3.8, 0.7)), 400)  # median ~45 code points
        at = min(bisect.bisect_left(self.ends, start + max(length, 3)), len(self.ends) - 1)
        end = self.ends[at]
        text = self.text
        return {
            "start": start,
            "end": end,
            "exact": text[start:end],
            "prefix": text[max(0, start - self.context) : start],
            "suffix": text[end : end + self.context],
        }


def _save(streams: dict[str, tuple[int, Iterator[Item]]], rng: random.Random) -> dict:
    """Create the items of several streams interleaved at random (each stream in its own
    order), in batches; return each stream's ids in its order."""
    from annotations.models import Annotation, PlusOne, Tag

    ids: dict[str, list[int]] = {name: [] for name in streams}
    remaining = {name: count for name, (count, _) in streams.items()}
    iterators = {name: iterator for name, (_, iterator) in streams.items()}
    batch: list[tuple[str, Item]] = []

    def flush():
        created = Annotation.objects.bulk_create([item.annotation for _, item in batch])
        tags, plus = [], []
        for (name, item), annotation in zip(batch, created, strict=True):
            ids[name].append(annotation.pk)
            tags += [Tag(annotation_id=annotation.pk, name=tag) for tag in item.tags]
            plus += [PlusOne(annotation_id=annotation.pk, user_id=u) for u in item.plus_users]
        Tag.objects.bulk_create(tags, batch_size=BATCH)
        PlusOne.objects.bulk_create(plus, batch_size=BATCH)
        batch.clear()

    names = list(streams)
    while any(remaining.values()):
        name = rng.choices(names, weights=[remaining[n] for n in names])[0]
        remaining[name] -= 1
        batch.append((name, next(iterators[name])))
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return ids


class Layer:
    """One group's annotations: the decisions (who, what, where), made by its own rng."""

    def __init__(self, *, rng, group, reading, members, passages, bodies, replies, hide_by):
        self.rng = rng
        self.group = group
        self.reading = reading
        self.members = members  # user ids
        self.passages = passages
        self.bodies = bodies
        self.reply_bodies = replies
        self.hide_by = hide_by
        # Some people write much more than others.
        self.weights = list(itertools.accumulate(1 / (k + 1) ** 0.8 for k in range(len(members))))

    def author(self) -> int:
        return self.rng.choices(self.members, cum_weights=self.weights)[0]

    def plus_users(self, author: int, share: float, most: int) -> list[int]:
        if self.rng.random() >= share:
            return []
        others = [m for m in self.members if m != author]
        return self.rng.sample(others, min(len(others), self.rng.randint(1, most)))

    def root(self, *, private_share=0.0, hidden_share=0.0, tag_share=0.3, plus_share=0.4):
        from annotations.models import Annotation

        rng = self.rng
        author = self.author()
        motivation = rng.choices(
            ["commenting", "questioning", "highlighting", "tagging"], weights=[45, 15, 35, 5]
        )[0]
        body, html = (
            ("", "") if motivation in {"highlighting", "tagging"} else rng.choice(self.bodies)
        )
        tags = []
        if motivation == "tagging" or rng.random() < tag_share:
            tags = rng.sample(TAGS, rng.randint(1, 3))
        private = rng.random() < private_share
        annotation = Annotation(
            group_id=self.group.pk,
            reading_id=self.reading.pk,
            author_id=author,
            motivation=motivation,
            visibility="private" if private else "group",
            body=body,
            body_html=html,
            **self.passages.pick(rng),
        )
        if not private and rng.random() < hidden_share:
            annotation.hidden_at = timezone.now()
            annotation.hidden_by_id = self.hide_by
            annotation.hidden_note = "Off topic for this group."
        plus = [] if private else self.plus_users(author, plus_share, 8)
        annotation.plus_count = len(plus)
        return Item(annotation, tags, plus)

    def reply(self, *, root_id: int, parent_id: int, hidden_share=0.0, plus_share=0.2):
        from annotations.models import Annotation

        rng = self.rng
        author = self.author()
        body, html = rng.choice(self.reply_bodies)
        annotation = Annotation(
            group_id=self.group.pk,
            reading_id=self.reading.pk,
            author_id=author,
            motivation="replying",
            parent_id=parent_id,
            root_id=root_id,
            body=body,
            body_html=html,
        )
        if rng.random() < hidden_share:
            annotation.hidden_at = timezone.now()
            annotation.hidden_by_id = self.hide_by
            annotation.hidden_note = "Please keep it civil."
        plus = self.plus_users(author, plus_share, 4)
        annotation.plus_count = len(plus)
        return Item(annotation, [], plus)


def _people(prefix: str, n: int) -> list:
    from accounts.models import User

    return User.objects.bulk_create(
        [
            User(
                username=f"{prefix}{i:0{len(str(n - 1))}d}",
                display_name=f"Reader {prefix[6:].upper()}{i}",
                password=PASSWORD,
                email=f"{prefix}{i}@bench.invalid",
            )
            for i in range(n)
        ],
        batch_size=BATCH,
    )


def _group(slug: str, name: str, reading, people, facilitators=()):
    from groups.models import GroupReading, Membership, ReadingGroup

    group = ReadingGroup.objects.create(name=name, slug=slug, created_by=people[0])
    Membership.objects.bulk_create(
        [
            Membership(
                group=group,
                user=person,
                role="facilitator" if person.username in facilitators else "member",
            )
            for person in people
        ]
    )
    GroupReading.objects.create(group=group, reading=reading, added_by=people[0])
    return group


def _thread_weights(rng, roots: list[Item]) -> list[float]:
    """How likely each root is to be replied to: a few long threads, many short ones, bare
    highlights seldom, private notes never."""
    order = list(range(len(roots)))
    rng.shuffle(order)
    weights = [0.0] * len(roots)
    for rank, index in enumerate(order):
        a = roots[index].annotation
        if a.visibility == "private" or a.hidden_at:
            continue
        weights[index] = (0.3 if a.motivation == "highlighting" else 1.0) / (rank + 1) ** 0.6
    return list(itertools.accumulate(weights))


def _measured_streams(seed, group, reading, people, passages):
    """The busy group's roots, and a function giving its first-level replies once the
    roots have ids."""
    rng = random.Random(f"{seed}-busy")
    viewer = next(p.pk for p in people if p.username == VIEWER)
    layer = Layer(
        rng=rng,
        group=group,
        reading=reading,
        members=[p.pk for p in people],
        passages=passages,
        bodies=_bodies(rng, SENTENCES, 120, 4),
        replies=_bodies(rng, REPLY_SENTENCES, 40, 2),
        hide_by=next(p.pk for p in people if p.username == FACILITATORS[0]),
    )
    roots = []
    for _ in range(MEASURED_ROOTS):
        item = layer.root(private_share=0.05, hidden_share=0.02)
        if item.annotation.author_id == viewer and rng.random() < 0.25:
            item.annotation.visibility = "private"  # the viewer's own notes
            item.plus_users, item.annotation.plus_count = [], 0
        roots.append(item)
    for index in rng.sample(range(MEASURED_ROOTS), 5):
        roots[index].annotation.anchoring = "orphan"
    for index in rng.sample(range(MEASURED_ROOTS), 20):
        if roots[index].annotation.anchoring == "anchored":
            roots[index].annotation.anchoring = "fuzzy"
    cumulative = _thread_weights(rng, roots)
    nested = int(MEASURED_REPLIES * NESTED_SHARE)
    first = [
        rng.choices(range(MEASURED_ROOTS), cum_weights=cumulative)[0]
        for _ in range(MEASURED_REPLIES - nested)
    ]
    # Ten threads lose their root to a delete: "[deleted]" placeholders above their replies.
    for index in rng.sample(sorted(set(first)), 10):
        a = roots[index].annotation
        a.deleted_at, a.body, a.body_html = timezone.now(), "", ""
        roots[index].tags, roots[index].plus_users, a.plus_count = [], [], 0

    def replies(root_ids: list[int]) -> Iterator[Item]:
        for index in first:
            yield layer.reply(root_id=root_ids[index], parent_id=root_ids[index], hidden_share=0.01)

    def nested_replies(root_ids: list[int], reply_ids: list[int]) -> Iterator[Item]:
        by_root: dict[int, list[int]] = {}
        for index, pk in zip(first, reply_ids, strict=True):
            by_root.setdefault(root_ids[index], []).append(pk)
        threads = sorted(by_root)
        for _ in range(nested):
            root_id = rng.choice(threads)
            parent = rng.choice(by_root[root_id])
            yield layer.reply(root_id=root_id, parent_id=parent, hidden_share=0.01)

    return layer, roots, first, replies, nested_replies, nested


def _background(seed, scale, reading, passages):
    """The background groups and people, and the generators of their roots and replies."""
    rng = random.Random(f"{seed}-background")
    pool = _people("bench-b", BACKGROUND_USERS)
    bodies = _bodies(rng, SENTENCES, 200, 4)
    replies = _bodies(rng, REPLY_SENTENCES, 60, 2)
    layers, sizes = [], []
    for i in range(BACKGROUND_GROUPS):
        members = rng.sample(pool, min(len(pool), 3 + int(rng.expovariate(1 / 10))))
        group = _group(f"bench-bg-{i:04d}", f"Background group {i}", reading, members)
        layers.append(
            Layer(
                rng=rng,
                group=group,
                reading=reading,
                members=[m.pk for m in members],
                passages=passages,
                bodies=bodies,
                replies=replies,
                hide_by=members[0].pk,
            )
        )
        sizes.append(min(rng.paretovariate(1.3), 200.0))  # a few groups are very busy
    cumulative = list(itertools.accumulate(sizes))
    total = int(BACKGROUND_ITEMS * scale)
    n_replies = int(total * BACKGROUND_REPLY_SHARE)
    n_roots = total - n_replies
    owners = [rng.choices(range(len(layers)), cum_weights=cumulative)[0] for _ in range(n_roots)]

    def roots() -> Iterator[Item]:
        for owner in owners:
            yield layers[owner].root(private_share=0.03, hidden_share=0.01, tag_share=0.15,
                                     plus_share=0.15)  # fmt: skip

    def reply_stream(root_ids: list[int]) -> Iterator[Item]:
        by_group: dict[int, list[int]] = {}
        for owner, pk in zip(owners, root_ids, strict=True):
            by_group.setdefault(owner, []).append(pk)
        groups = sorted(by_group)
        weights = list(itertools.accumulate(sizes[g] for g in groups))
        for _ in range(n_replies):
            owner = rng.choices(groups, cum_weights=weights)[0]
            root_id = rng.choice(by_group[owner])
            yield layers[owner].reply(root_id=root_id, parent_id=root_id, plus_share=0.1)

    return layers, n_roots, roots, n_replies, reply_stream


def build(*, seed: int, scale: float, log=print) -> Built:
    """Build everything into the (empty, migrated) database."""
    from annotations.models import Annotation, Flag
    from demo.management.commands.seed_demo import ESSAY_PATH, ESSAY_SLUG
    from groups.models import GroupReading
    from readings.services import reading_import

    began = time.perf_counter()
    rng = random.Random(f"{seed}-order")
    with transaction.atomic():
        essay = reading_import(
            data=ESSAY_PATH.read_bytes(), filename=ESSAY_PATH.name, slug=ESSAY_SLUG
        )
        passages = Passages(essay.canonical_text())
        people = _people("bench-m", MEASURED_MEMBERS)
        busy = _group(BUSY, "Busy Reading Group", essay, people, FACILITATORS)
        _group(QUIET, "Quiet Reading Group", essay, people, FACILITATORS)
        layer, roots, first, replies, nested_replies, nested = _measured_streams(
            seed, busy, essay, people, passages
        )
        background, n_bg_roots, bg_roots, n_bg_replies, bg_replies = _background(
            seed, scale, essay, passages
        )
    log(f"  people and {len(background) + 3:,} groups in {time.perf_counter() - began:.1f} s")
    with transaction.atomic():
        ids = _save(
            {"busy": (len(roots), iter(roots)), "background": (n_bg_roots, bg_roots())}, rng
        )
    log(f"  {len(roots) + n_bg_roots:,} roots in {time.perf_counter() - began:.1f} s")
    with transaction.atomic():
        reply_ids = _save(
            {
                "busy": (len(first), replies(ids["busy"])),
                "background": (n_bg_replies, bg_replies(ids["background"])),
            },
            rng,
        )
        _save({"busy": (nested, nested_replies(ids["busy"], reply_ids["busy"]))}, rng)
    log(f"  {len(first) + nested + n_bg_replies:,} replies in {time.perf_counter() - began:.1f} s")

    with transaction.atomic():
        # Accepted answers: half the answered-looking questions, a first-level reply each.
        questions = {
            pk for item, pk in zip(roots, ids["busy"], strict=True)
            if item.annotation.motivation == "questioning" and not item.annotation.deleted_at
        }  # fmt: skip
        answers = {}
        for index, pk in zip(first, reply_ids["busy"], strict=True):
            root_id = ids["busy"][index]
            if root_id in questions and root_id not in answers and layer.rng.random() < 0.5:
                answers[root_id] = pk
        Annotation.objects.filter(pk__in=answers.values(), hidden_at__isnull=True).update(
            is_answer=True
        )
        # Open flags for the facilitators' list.
        shared = list(
            Annotation.objects.filter(group=busy, visibility="group", deleted_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "author_id")[:2000]
        )
        flags = set()
        for pk, author in layer.rng.sample(shared, 20):
            flagger = layer.rng.choice([p.pk for p in people if p.pk != author])
            flags.add((pk, flagger))
        Flag.objects.bulk_create(
            [Flag(annotation_id=pk, user_id=user, reason="Is this on topic?") for pk, user in flags]
        )
        late_people = _people("bench-l", LATE_MEMBERS)
        late = _group(LATE, "Late Reading Group", essay, late_people, ("bench-l00",))
        late_layer = Layer(
            rng=random.Random(f"{seed}-late"),
            group=late,
            reading=essay,
            members=[p.pk for p in late_people],
            passages=passages,
            bodies=layer.bodies,
            replies=layer.reply_bodies,
            hide_by=late_people[0].pk,
        )
        late_roots = [late_layer.root() for _ in range(LATE_ROOTS)]
        late_ids = _save({"late": (LATE_ROOTS, iter(late_roots))}, rng)["late"]

        def late_replies():
            for _ in range(LATE_REPLIES):
                root_id = late_layer.rng.choice(late_ids)
                yield late_layer.reply(root_id=root_id, parent_id=root_id)

        _save({"late": (LATE_REPLIES, late_replies())}, rng)
        # Every write to a layer counts one change (annotations.services._layer_changed).
        for group_reading in GroupReading.objects.all():
            group_reading.layer_version = Annotation.objects.filter(
                group_id=group_reading.group_id, reading_id=group_reading.reading_id
            ).count()
            group_reading.save(update_fields=["layer_version"])
    seconds = time.perf_counter() - began
    counts = counts_now()
    log(f"  built in {seconds:.1f} s: {counts}")
    return Built(counts=counts, seconds=seconds)


def counts_now() -> dict:
    from accounts.models import User
    from annotations.models import Annotation, PlusOne, Tag
    from groups.models import ReadingGroup

    busy = Annotation.objects.filter(group__slug=BUSY)
    return {
        "annotations": Annotation.objects.count(),
        "busy_roots": busy.filter(parent__isnull=True).count(),
        "busy_replies": busy.filter(parent__isnull=False).count(),
        "tags": Tag.objects.count(),
        "plus_ones": PlusOne.objects.count(),
        "groups": ReadingGroup.objects.count(),
        "users": User.objects.count(),
    }
