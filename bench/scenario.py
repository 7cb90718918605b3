"""What is measured: the figures, as requests, for the in-process query counts and for the
timed client alike, and the people who make them.

The viewer is a plain member of the busy group (`bench-m01`); the late group's container is
read by one of its own members. Both log in by a session made in-process; the API is called
with a personal token (accounts.tokens). Endpoints still to come (the layer data, the
version check) are measured as soon as their URL names resolve.

Reads are timed in one phase and writes in another, so a write does not turn every read
after it into a cache miss; the writes' phase also times the busy page right after a change.
Everything the run writes (annotations, +1s, sessions, the tokens) is undone in clean_up.
"""

import gzip
import json
import random
import re
from pathlib import Path
from urllib.parse import urlsplit

from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import close_old_connections
from django.db.models import Count
from django.test import Client as DjangoClient
from django.urls import NoReverseMatch, reverse

from accounts.models import ApiToken, User
from accounts.tokens import api_token_create
from annotations import services
from annotations.access import visible_annotations
from annotations.models import Annotation, PlusOne
from bench import data
from bench.queries import Captured, capture
from bench.timing import Client, Response, Target
from groups.models import GroupReading, Membership, ReadingGroup

JSONLD = "application/ld+json"
API_COMMENT = "A note from the benchmark."
API_REPLY = "A reply from the benchmark."
CHANGER = "bench-changer"
DEEP_MAX_HOPS = 500  # `next` links followed from the container's first page, at most
# A common word of the data set's notes (data.SENTENCES, data.TAGS): "strike", "strikes".
SEARCH_WORD = "strike"


def _path(iri: str) -> str:
    parts = urlsplit(iri)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _url(name: str, *args) -> str | None:
    try:
        return reverse(name if ":" in name else f"annotations:{name}", args=args)
    except NoReverseMatch:
        return None


class Scenario:
    def __init__(self, *, port: int, seed: int):
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.rng = random.Random(f"{seed}-requests")
        close_old_connections()
        cache.clear()  # a fresh deploy: nothing cached from an earlier run
        self.viewer = User.objects.get(username=data.VIEWER)
        self.late_viewer = User.objects.get(username="bench-l01")
        # The changes between requests are +1s by someone outside the data set (and every
        # group), so what a run that died half-way left is plain to see and undo here.
        self.plus_giver, _ = User.objects.get_or_create(
            username=CHANGER, defaults={"password": data.PASSWORD, "display_name": "Changer"}
        )
        self.busy = ReadingGroup.objects.get(slug=data.BUSY)
        self.quiet = ReadingGroup.objects.get(slug=data.QUIET)
        self.late = ReadingGroup.objects.get(slug=data.LATE)
        self.busy_reading = GroupReading.objects.select_related("reading").get(group=self.busy)
        self.reading = self.busy_reading.reading
        self.passages = data.Passages(self.reading.canonical_text())
        self.membership = Membership.objects.get(group=self.busy, user=self.viewer)
        slug = self.reading.slug
        self.paths = {
            "busy": reverse("annotations:reading", args=[self.busy.slug, slug]),
            "quiet": reverse("annotations:reading", args=[self.quiet.slug, slug]),
            "busy layer": _url("layer", self.busy.slug, slug),
            "quiet layer": _url("layer", self.quiet.slug, slug),
            "version": _url("version", self.busy.slug, slug),
            "container": reverse("annotations:container", args=[self.busy.slug, slug]),
            "late container": reverse("annotations:container", args=[self.late.slug, slug]),
            # Search in the busy group for a word many of its notes use (search/).
            "search": _url("search:results", self.busy.slug),
        }
        if self.paths["search"]:
            self.paths["search"] += f"?q={SEARCH_WORD}"
        self.endpoints = {name: path is not None for name, path in self.paths.items()}
        self.busy_path = self.paths["busy"]
        # The thread with the most replies the viewer sees, and its root.
        visible = visible_annotations(self.membership).filter(reading=self.reading)
        self.thread_root = Annotation.objects.get(
            pk=visible.filter(root__isnull=False)
            .values("root_id")
            .annotate(n=Count("pk"))
            .order_by("-n", "root_id")[0]["root_id"]
        )
        self.paths["thread"] = reverse(
            "annotations:thread", args=[self.busy.slug, slug, self.thread_root.pk]
        )
        self.tag = "strikes"
        self.created: list[int] = []
        self.plus_toggles = 0
        self._undo_a_dead_run()
        self.sessions: list[str] = []
        _, self.token = api_token_create(user=self.viewer, name="bench")
        self.cookies = self._login(self.viewer)
        self.late_cookies = self._login(self.late_viewer)
        self.deep_path = None
        self.captured_cold: list[Captured] = []

    # --- people ---------------------------------------------------------------------------

    def _login(self, user) -> dict:
        client = DjangoClient()
        client.force_login(user)
        key = client.cookies["sessionid"].value
        self.sessions.append(key)
        return {"sessionid": key}

    @staticmethod
    def cookie_header(cookies: dict) -> dict:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}

    # --- the API's bodies ------------------------------------------------------------------

    def create_body(self, base: str) -> bytes:
        passage = self.passages.pick(self.rng)
        return json.dumps(
            {
                "@context": "http://www.w3.org/ns/anno.jsonld",
                "type": "Annotation",
                "motivation": "commenting",
                "body": [{"type": "TextualBody", "value": API_COMMENT, "format": "text/markdown"}],
                "target": {
                    "source": f"{base}{reverse('readings:detail', args=[self.reading.slug])}",
                    "selector": [
                        {"type": "TextQuoteSelector", "exact": passage["exact"]},
                        {
                            "type": "TextPositionSelector",
                            "start": passage["start"],
                            "end": passage["end"],
                        },
                    ],
                },
            }
        ).encode()

    def reply_body(self, base: str) -> bytes:
        return json.dumps(
            {
                "@context": "http://www.w3.org/ns/anno.jsonld",
                "type": "Annotation",
                "motivation": "replying",
                "body": [{"type": "TextualBody", "value": API_REPLY}],
                "target": f"{base}{self.paths['container']}{self.thread_root.pk}",
            }
        ).encode()

    def remember(self, location: str | None, body: bytes) -> None:
        if location:
            self.created.append(int(location.rstrip("/").rsplit("/", 1)[1]))
        else:
            self.created.append(int(json.loads(body)["id"].rstrip("/").rsplit("/", 1)[1]))

    def change_layer(self) -> None:
        """One write to the busy layer, outside any timing: a +1 given or taken back."""
        services.annotation_plus_one(annotation=self.thread_root, user=self.plus_giver)
        self.plus_toggles += 1

    # --- in-process query counts --------------------------------------------------------------

    def count_queries(self) -> dict:
        """Each figure's queries, cold (right after a change: nothing cached) and warm (the
        same request again)."""
        viewer, late = DjangoClient(), DjangoClient()
        viewer.force_login(self.viewer)
        late.force_login(self.late_viewer)
        bearer = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        base = "http://testserver"
        slug = self.reading.slug
        counts = {}

        def both(name, client, path, cold_first=True, **extra):
            if cold_first:
                self.change_layer()
            cold = capture(client, name, "GET", path, **extra)
            warm = capture(client, name, "GET", path, **extra)
            self.captured_cold.append(cold)
            counts[name] = {"cold": cold.count, "warm": warm.count, "status": warm.status}
            return warm

        busy = both("reading page, busy", viewer, self.paths["busy"])
        counts["reading page, busy, after a change"] = {
            "cold": self.captured_cold[-1].count, "warm": self.captured_cold[-1].count,
            "status": busy.status,
        }  # fmt: skip
        both("reading page, quiet", viewer, self.paths["quiet"])
        both("reading page, busy, tag filter", viewer, f"{self.paths['busy']}?tag={self.tag}")
        if self.paths["busy layer"]:
            both("layer data, busy", viewer, self.paths["busy layer"])
            both("layer data, quiet", viewer, self.paths["quiet layer"])
        both("thread page", viewer, self.paths["thread"])
        if self.paths["search"]:
            both("search, busy (a common word)", viewer, self.paths["search"])
        first = both("container, first page", viewer, self.paths["container"])
        deep = self._deep_path(viewer, first.response.content, lambda p: viewer.get(p).content)
        both("container, deep page", viewer, deep)
        both("container, first page, late group", late, self.paths["late container"])
        if self.paths["version"]:
            current = viewer.get(self.paths["version"])
            etag = current.headers.get("ETag", "")
            warm = capture(
                viewer, "version check, no change", "GET", self.paths["version"],
                HTTP_IF_NONE_MATCH=etag,
            )  # fmt: skip
            counts["version check, no change"] = {
                "cold": warm.count, "warm": warm.count, "status": warm.status
            }  # fmt: skip
            self.captured_cold.append(warm)
            self.change_layer()
            changed = capture(
                viewer, "version check, one change", "GET", self.paths["version"],
                HTTP_IF_NONE_MATCH=etag,
            )  # fmt: skip
            counts["version check, one change"] = {
                "cold": changed.count, "warm": changed.count, "status": changed.status
            }  # fmt: skip
        for name, body in (
            ("API create", self.create_body(base)),
            ("API reply", self.reply_body(base)),
        ):
            made = capture(
                viewer, name, "POST", self.paths["container"], data=body, content_type=JSONLD,
                **bearer,
            )  # fmt: skip
            self.captured_cold.append(made)
            counts[name] = {"cold": made.count, "warm": made.count, "status": made.status}
            if made.status == 201:
                self.remember(made.response.headers.get("Location"), made.response.content)
        plus = reverse("annotations:plus_one", args=[self.busy.slug, slug, self.thread_root.pk])
        made = capture(viewer, "+1 (form)", "POST", plus)
        capture(viewer, "+1 (form)", "POST", plus)  # and back
        self.captured_cold.append(made)
        counts["+1 (form)"] = {"cold": made.count, "warm": made.count, "status": made.status}
        self.deep_path = deep
        return counts

    def _deep_path(self, client, first_body: bytes, get) -> str:
        """Follow `next` links from the container's first page as far as they go."""
        document = json.loads(first_body)
        page = document.get("first")
        if isinstance(page, str):
            page = json.loads(get(_path(page)))
        path = _path(page["id"]) if page else self.paths["container"]
        for _ in range(DEEP_MAX_HOPS if page else 0):
            following = page.get("next")
            if not following:
                break
            path = _path(following)
            page = json.loads(get(path))
        return path

    # --- timed from outside ---------------------------------------------------------------

    def live_setup(self, live: Client, static_root: Path) -> None:
        manifest = json.loads((static_root / "staticfiles.json").read_text())
        self.static_path = "/static/" + manifest["paths"]["css/site.css"]
        page = live.get(self.busy_path, **self.cookie_header(self.cookies))
        token = re.search(r"csrftoken=([^;]+)", page.header("set-cookie") or "")
        if token:
            self.cookies["csrftoken"] = token.group(1)
        self.base = f"http://{self.host}"

    def references(self) -> list[Target]:
        return [Target("healthz", "/healthz"), Target("static file", self.static_path)]

    def read_targets(self) -> list[Target]:
        viewer = self.cookie_header(self.cookies)
        targets = [
            Target("reading page, busy", self.paths["busy"], headers=viewer),
            Target("reading page, quiet", self.paths["quiet"], headers=viewer),
        ]
        if self.paths["busy layer"]:
            targets += [
                Target("layer data, busy", self.paths["busy layer"], headers=viewer),
                Target("layer data, quiet", self.paths["quiet layer"], headers=viewer),
            ]
        targets.append(Target("thread page", self.paths["thread"], headers=viewer))
        if self.paths["search"]:
            targets.append(
                Target("search, busy (a common word)", self.paths["search"], headers=viewer)
            )
        targets += [
            Target("container, first page", self.paths["container"], headers=viewer),
            Target("container, deep page", self.deep_path, headers=viewer),
            Target(
                "container, first page, late group",
                self.paths["late container"],
                headers=self.cookie_header(self.late_cookies),
            ),
        ]
        if self.paths["version"]:
            targets.append(
                Target(
                    "version check, no change",
                    self.paths["version"],
                    headers={**viewer, "If-None-Match": self._version_etag()},
                    expect=(304,),
                )
            )
        return targets

    def _version_etag(self) -> str:
        side = Client(self.port)
        try:
            return side.get(self.paths["version"], **self.cookie_header(self.cookies)).header(
                "etag"
            )
        finally:
            side.close()

    def write_targets(self) -> list[Target]:
        viewer = self.cookie_header(self.cookies)
        api = {"Authorization": f"Bearer {self.token}", "Content-Type": JSONLD}

        def remember(response: Response):
            self.remember(response.header("location"), response.body)

        targets = [
            Target(
                "API create",
                self.paths["container"],
                method="POST",
                headers=api,
                body=lambda: self.create_body(self.base),
                expect=(201,),
                after=remember,
            ),
            Target(
                "API reply",
                self.paths["container"],
                method="POST",
                headers=api,
                body=lambda: self.reply_body(self.base),
                expect=(201,),
                after=remember,
            ),
        ]
        if self.paths["version"]:

            def stale(target: Target):
                target.headers["If-None-Match"] = self._version_etag()
                self.change_layer()

            targets.append(
                Target(
                    "version check, one change",
                    self.paths["version"],
                    headers=dict(viewer),
                    before=stale,
                )
            )
        targets.append(
            Target(
                "reading page, busy, after a change",
                self.paths["busy"],
                headers=viewer,
                before=lambda target: self.change_layer(),
            )
        )
        return targets

    def page_bytes(self, live: Client) -> dict:
        viewer = self.cookie_header(self.cookies)
        raw = live.get(self.busy_path, **viewer)
        wire = live.get(self.busy_path, **viewer, **{"Accept-Encoding": "gzip"})
        return {
            "html": len(raw.body),
            "html_wire": len(wire.body),
            "html_encoding": wire.header("content-encoding"),
            "html_gzip": len(gzip.compress(raw.body, compresslevel=6)),
        }

    def loads(self) -> list[tuple[str, str, dict]]:
        viewer = self.cookie_header(self.cookies)
        found = [
            ("healthz", "/healthz", {}),
            ("reading page, busy", self.busy_path, viewer),
        ]
        if self.paths["version"]:
            found.append(
                (
                    "version check, no change",
                    self.paths["version"],
                    {**viewer, "If-None-Match": self._version_etag()},
                )
            )
        return found

    def expected_highlights(self) -> int:
        """The viewer's highlights: the visible, anchored roots of the busy layer."""
        return (
            visible_annotations(self.membership)
            .filter(reading=self.reading, parent__isnull=True)
            .exclude(anchoring=Annotation.Anchoring.ORPHAN)
            .count()
        )

    # --- undo -------------------------------------------------------------------------------

    def _undo_a_dead_run(self) -> None:
        leftovers = Annotation.objects.filter(
            group=self.busy, author=self.viewer, body__in=[API_COMMENT, API_REPLY]
        )
        self.created = list(leftovers.values_list("pk", flat=True))
        given = PlusOne.objects.filter(user=self.plus_giver).select_related("annotation")
        for plus in given:
            services.annotation_plus_one(annotation=plus.annotation, user=self.plus_giver)
        ApiToken.objects.filter(user=self.viewer, name="bench").delete()
        self.undo_writes()

    def undo_writes(self) -> None:
        """Delete what the API made and take back an odd +1: the data set as built."""
        close_old_connections()
        for pk in sorted(set(self.created), reverse=True):
            annotation = Annotation.objects.filter(pk=pk).first()
            if annotation is not None:
                services.annotation_delete(annotation=annotation)
        self.created.clear()
        if self.plus_toggles % 2:
            self.change_layer()

    def clean_up(self) -> None:
        self.undo_writes()
        ApiToken.objects.filter(user=self.viewer, name="bench").delete()
        Session.objects.filter(session_key__in=self.sessions).delete()
