"""`make bench`: how the busiest pages hold up with a heavily annotated reading.

Builds a throw-away test database (SQLite, or PostgreSQL with DATABASE_URL), fills one
group's layer with 2,000 annotations and 5,000 replies, and reports each page's SQL query
count and timings (median and worst of several runs). It measures; it does not assert.
"""

import os
import random
import statistics
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commonplace.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

ROOTS, REPLIES, RUNS = 2_000, 5_000, 7


def build():
    from accounts.models import User
    from annotations.models import Annotation
    from demo.management.commands.seed_demo import ESSAY_PATH, ESSAY_SLUG
    from groups.models import GroupReading, Membership
    from groups.services import group_create
    from readings.services import reading_import

    essay = reading_import(data=ESSAY_PATH.read_bytes(), filename=ESSAY_PATH.name, slug=ESSAY_SLUG)
    people = [User.objects.create_user(f"reader{i}", password="x") for i in range(30)]
    group = group_create(name="Bench Group", created_by=people[0])
    Membership.objects.bulk_create([Membership(group=group, user=person) for person in people[1:]])
    GroupReading.objects.create(group=group, reading=essay, added_by=people[0])
    text = essay.canonical_text()
    rng = random.Random(7)
    roots = []
    for _ in range(ROOTS):
        start = rng.randrange(0, len(text) - 200)
        end = start + rng.randrange(5, 160)
        roots.append(
            Annotation(
                group=group,
                reading=essay,
                author=rng.choice(people),
                motivation=rng.choice(["commenting", "questioning", "highlighting"]),
                body="A thought about this passage.",
                body_html="<p>A thought about this passage.</p>",
                start=start,
                end=end,
                exact=text[start:end],
                prefix=text[max(0, start - 32) : start],
                suffix=text[end : end + 32],
            )
        )
    roots = Annotation.objects.bulk_create(roots, batch_size=500)
    replies = []
    for _ in range(REPLIES):
        root = rng.choice(roots)
        replies.append(
            Annotation(
                group=group,
                reading=essay,
                author=rng.choice(people),
                motivation="replying",
                parent=root,
                root=root,
                body="I agree.",
                body_html="<p>I agree.</p>",
            )
        )
    Annotation.objects.bulk_create(replies, batch_size=500)
    return group, essay, people[1], roots[0]


def measure(client, url, **headers):
    timings, queries = [], 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = client.get(url, **headers)
            timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured)
    return queries, statistics.median(timings), max(timings), len(response.content)


def browser(client, path):
    """Time the reading page in Chromium: load, highlight 2,000 passages, open a thread."""
    from pathlib import Path

    if not Path("/usr/bin/chromium").exists():
        print("\n(browser timings skipped: install Chromium with `apt-get install chromium`)")
        return
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM_ARGS

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from django.db import connections

    shared = connections["default"]
    shared.inc_thread_sharing()
    server = LiveServerThread(
        "127.0.0.1", StaticFilesHandler, connections_override={"default": shared}
    )
    server.daemon = True
    server.start()
    server.is_ready.wait()
    base = f"http://127.0.0.1:{server.port}"
    loads, opens = [], []
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            context = chromium.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies(
                [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}]
            )
            page = context.new_page()
            for _ in range(3):
                began = time.perf_counter()
                response = page.goto(base + path)
                if response.status != 200 or "reading.js" not in page.content():
                    raise SystemExit(f"bench: {path} answered {response.status} in Chromium")
                page.wait_for_function("document.body.classList.contains('js-annotations')")
                loads.append((time.perf_counter() - began) * 1000)
                began = time.perf_counter()
                page.locator("a.margin__count").first.click()
                page.wait_for_selector("#annotation-panel:not([hidden])")
                opens.append((time.perf_counter() - began) * 1000)
            marks = page.locator("mark.hl").count()
            chromium.close()
    finally:
        server.terminate()
        shared.dec_thread_sharing()
    print(
        f"\nChromium: page loaded and {marks:,} highlight pieces drawn in "
        f"{statistics.median(loads):.0f} ms (median of 3); a paragraph's threads open in "
        f"{statistics.median(opens):.0f} ms"
    )


def main():
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        began = time.perf_counter()
        group, essay, reader, root = build()
        print(
            f"database: {connection.vendor}; built {ROOTS:,} annotations and {REPLIES:,} "
            f"replies in {time.perf_counter() - began:.1f} s\n"
        )
        client = Client()
        client.force_login(reader)
        base = f"/groups/{group.slug}/readings/{essay.slug}/"
        pages = [
            ("group reading page", base, {}),
            ("thread page", f"{base}threads/{root.pk}/", {}),
            ("API container (first page embedded)", f"{base}annotations/", {}),
            ("API page 5", f"{base}annotations/?page=5", {}),
            ("group home", f"/groups/{group.slug}/", {}),
        ]
        print(f"{'page':40} {'queries':>7} {'median ms':>10} {'worst ms':>9} {'KB':>7}")
        for name, url, headers in pages:
            queries, median, worst, size = measure(client, url, **headers)
            print(f"{name:40} {queries:7} {median:10.1f} {worst:9.1f} {size / 1024:7.0f}")
        browser(client, base)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
