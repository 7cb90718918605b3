"""The benchmark run: the order of things, and the command line (`python -m bench --help`)."""

import argparse
import os
import platform
import re
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import browser, database, report, server
from bench.timing import Client, load, run_rounds

ROOT = Path(__file__).resolve().parent.parent
DEEP_MAX_HOPS = 200  # `next` links followed from the container's first page


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure Commonplace from outside, against PostgreSQL (see bench/README.md).",
    )
    parser.add_argument("--quick", action="store_true", help="scale 0.1, few rounds, short load")
    parser.add_argument(
        "--scale",
        type=float,
        nargs="+",
        help="background size: 1 is 100k, 10 is 1M; two (--scale 1 10) run one after the "
        "other and are compared",
    )
    parser.add_argument("--seed", type=int, default=None, help="data seed (default 7)")
    parser.add_argument("--rounds", type=int, help="timed rounds per figure")
    parser.add_argument("--load-seconds", type=float, help="how long each load lasts")
    parser.add_argument("--browser-runs", type=int, help="Chromium navigations to time")
    parser.add_argument("--no-load", action="store_true", help="skip the load (wrk)")
    parser.add_argument("--no-browser", action="store_true", help="skip Chromium")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the data set")
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN the hot queries into README"
    )
    parser.add_argument("--readme", action="store_true", help="write the table into README")
    parser.add_argument(
        "--report", action="store_true", help="measure nothing: print results/latest.json"
    )
    parser.add_argument("--database-url", help="a PostgreSQL URL whose name contains 'bench'")
    args = parser.parse_args(argv)
    quick = args.quick
    args.scales = args.scale or [0.1 if quick else 1.0]
    args.scale = args.scales[0]
    args.rounds = args.rounds or (5 if quick else 25)
    args.warmup = 1 if quick else 2
    args.load_seconds = args.load_seconds or (3 if quick else 10)
    args.browser_runs = args.browser_runs or (2 if quick else 5)
    from bench.data import DEFAULT_SEED

    args.seed = DEFAULT_SEED if args.seed is None else args.seed
    return args


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.report:
        results = report.load(report.RESULTS / "latest.json")
        if results is None:
            raise SystemExit("bench: no results/latest.json yet: run `make bench` first.")
        print(report.table(report.with_scale_comparison(results)))
        if args.readme:  # every scale the README has a section for
            for scale in (1, 10):
                if found := report.load(report.RESULTS / f"scale-{scale}.json"):
                    report.write_readme(report.with_scale_comparison(found))
        return
    if len(args.scales) > 1:
        return _several(argv, args)
    url = database.for_scale(database.choose_url(args.database_url, os.environ), args.scale)
    began = time.perf_counter()
    database.ensure_exists(url)
    with database.exclusive(url), tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        code = os.environ.get("BENCH_SNAPSHOT")
        code = Path(code) if code else server.snapshot(Path(scratch) / "code")
        results = measure(args, url, Path(scratch), code)
    results = report.with_scale_comparison(results)
    path = report.save(results)
    print(report.table(results))
    say(f"\nbench: results in {path.relative_to(ROOT)} and bench/results/latest.json "
        f"({time.perf_counter() - began:.0f} s in all)")  # fmt: skip
    if args.readme:
        report.write_readme(results)
        say("bench: tables written to bench/README.md")


def _several(argv: list[str], args) -> None:
    """One run per scale, each in its own process (Django's settings name one database),
    then the comparison of the last two."""
    rest, skipping = [], False
    for arg in argv:
        if arg == "--scale":
            skipping = True
            continue
        if skipping and re.fullmatch(r"[\d.]+", arg):
            continue
        skipping = False
        rest.append(arg)
    with tempfile.TemporaryDirectory(prefix="bench-code-") as scratch:
        code = server.snapshot(Path(scratch) / "code")  # one version of the code for all
        for scale in args.scales:
            say(f"bench: --scale {scale:g}")
            subprocess.run(
                [sys.executable, "-m", "bench", *rest, "--scale", f"{scale:g}"],
                check=True,
                env={**os.environ, "BENCH_SNAPSHOT": str(code)},
            )


def prepare_data(args, url: str) -> dict:
    """Make sure the database holds the data set asked for; return its marker."""
    from bench import data

    wanted = {"generator": data.GENERATOR_VERSION, "seed": args.seed, "scale": args.scale}
    held = database.marker(url)
    current = held and all(held.get(key) == value for key, value in wanted.items())
    if current and not args.rebuild:
        _django(url)
        _migrate()
        say(f"bench: reusing the data set in {database.database_name(url)} ({held['counts']})")
        return held
    say(f"bench: building the data set (seed {args.seed}, scale {args.scale:g}) ...")
    database.recreate(url)
    _django(url)
    _migrate()
    built = data.build(seed=args.seed, scale=args.scale, log=say)
    from django.db import connections

    connections.close_all()
    began = time.perf_counter()
    database.vacuum_analyze(url)
    marker = {
        **wanted,
        "counts": built.counts,
        "build_seconds": round(built.seconds, 1),
        "vacuum_seconds": round(time.perf_counter() - began, 1),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    database.write_marker(url, marker)
    return marker


_django_ready = False


def _django(url: str) -> None:
    global _django_ready
    if _django_ready:
        return
    import django

    django.setup()
    _django_ready = True


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def measure(args, url: str, scratch: Path, code: Path) -> dict:
    """Measure the snapshot of the code in `code`: the server runs it, and so does this
    process's Django (its path comes first)."""
    sys.path.insert(0, str(code))
    code_at_start = code_fingerprint(code)
    git_at_start = _git_state()
    port = server.free_port()
    static_root = scratch / "static"
    env = server.environment(
        code=code,
        database_url=url,
        static_root=str(static_root),
        secret_key=secrets.token_urlsafe(64),
        port=port,
    )
    os.environ.update(env)
    marker = prepare_data(args, url)
    # Before any page is rendered, here too: DEBUG off, templates need the manifest.
    say(f"bench: collectstatic ({server.collectstatic(env):.1f} s)")
    from bench.scenario import Scenario

    scenario = Scenario(port=port, seed=args.seed)
    try:
        say("bench: counting queries in-process ...")
        queries = scenario.count_queries()
        explained = None
        if args.explain:
            from bench.queries import hot_queries

            say("bench: EXPLAIN (ANALYZE, BUFFERS) of the hot queries ...")
            explained = hot_queries(scenario.captured_cold)
        say(f"bench: gunicorn on :{port} ...")
        with server.Gunicorn(env, port, scratch / "gunicorn.log") as gunicorn:
            live = Client(port)
            scenario.live_setup(live, static_root)
            say(f"bench: timing {args.rounds} rounds (+{args.warmup} warm-up) ...")
            timings = run_rounds(
                live, scenario.references(), scenario.read_targets(), args.rounds, args.warmup
            )
            writes = run_rounds(
                live, scenario.references(), scenario.write_targets(), args.rounds, args.warmup
            )
            # The writes' ratios are to their own phase's healthz; the table shows the reads'.
            timings.update({name: t for name, t in writes.items() if name not in timings})
            scenario.undo_writes()  # the load and Chromium see the data set as built
            page_bytes = scenario.page_bytes(live)
            loads, memory = {}, None
            if not args.no_load:
                for name, path, headers in scenario.loads():
                    say(f"bench: load on {name} for {args.load_seconds:g} s ...")
                    loads[name] = load(name, port, path, headers, args.load_seconds).__dict__
                memory = {"worker_rss_kib": gunicorn.worker_rss_kib()}
            browser_result = None
            if not args.no_browser and browser.available():
                say(f"bench: Chromium, {args.browser_runs} navigations ...")
                browser_result = browser.measure(
                    gunicorn.base,
                    scenario.busy_path,
                    scenario.cookies,
                    scenario.expected_highlights(),
                    args.browser_runs,
                ).as_dict()
            elif not args.no_browser:
                say("bench: no /usr/bin/chromium (apt-get install chromium): browser skipped")
            live.close()
    finally:
        scenario.clean_up()
    results = {
        "meta": {**_meta(args, url, code_at_start), **git_at_start},
        "dataset": marker,
        "timings": {name: t.__dict__ for name, t in timings.items()},
        "queries": queries,
        "loads": loads,
        "browser": browser_result,
        "bytes": page_bytes,
        "memory": memory,
        "endpoints": scenario.endpoints,
    }
    results["targets"] = report.targets(results)
    if explained is not None:
        report.write_readme_section("explain", report.explain_markdown(explained, args.scale))
        say("bench: EXPLAIN written to bench/README.md")
    return results


OWN_OUTPUT = [".", ":(exclude)bench/README.md", ":(exclude)bench/results"]


def _git_state() -> dict:
    """The commit the snapshot was taken at, and whether the tree had changes beyond it."""

    def git(*command):
        return subprocess.run(
            ["git", *command], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        # What a run writes itself (its results, the README's tables) is no change to the
        # code: without this, the second scale of `--scale 1 10` reads as uncommitted.
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", *OWN_OUTPUT)),
    }


def _meta(args, url: str, code_at_start: str) -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
    chromium = ""
    if browser.available():
        chromium = subprocess.run(
            [str(browser.CHROMIUM), "--version"], capture_output=True, text=True
        ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        # Changed while measuring: comparable with nothing.
        "code": code_at_start,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "load_seconds": args.load_seconds,
        "quick": args.quick,
        # Others' work on this machine moves the figures: the load average as the run ends.
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "machine": {
            "cpu": cpu,
            "cores": os.cpu_count(),
            "memory_gib": round(int(memory) / 1024 / 1024, 1),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "postgresql": database.server_version(url),
            "chromium": chromium,
            "gunicorn_workers": server.WORKERS,
        },
    }


# What the server runs: a change anywhere else (tests, docs, bench/) changes no figure.
SERVED = ["accounts", "annotations", "commonplace", "groups", "readings", "static", "templates"]
SERVED_SUFFIXES = {".py", ".html", ".js", ".css", ".txt", ".md", ".json", ".svg"}


def code_fingerprint(code: Path) -> str:
    """A digest of the code the server runs (the snapshot in `code`). Two runs are compared
    only when theirs agree."""
    import hashlib

    digest = hashlib.sha256()
    for folder in SERVED:
        for path in sorted((code / folder).rglob("*")):
            served = path.suffix in SERVED_SUFFIXES and "__pycache__" not in path.parts
            if served and path.is_file():
                digest.update(str(path.relative_to(code)).encode() + b"\0" + path.read_bytes())
    digest.update((code / "pyproject.toml").read_bytes())
    return digest.hexdigest()[:16]
