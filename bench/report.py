"""The results: one table for the terminal, the targets met or missed, results/*.json, and
the generated parts of bench/README.md (between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->` markers; everything else in the README is written by hand)."""

import html
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE / "README.md"

# The targets. Each reads the results of one run; None when not measured.
HTML_WIRE_LIMIT = 150 * 1024
DRAWN_LIMIT_MS = 300
SCALE_LIMIT = 1.10


def _timing(results, name):
    return results["timings"].get(name)


def _ratio(results, a, b):
    first, second = _timing(results, a), _timing(results, b)
    return first["median_ms"] / second["median_ms"] if first and second else None


def targets(results: dict) -> list[dict]:
    rows = []

    def add(name, value, limit, unit, ok):
        rows.append(
            {
                "target": name,
                "value": value,
                "limit": limit,
                "unit": unit,
                "met": None if value is None else ok(value, limit),
            }
        )

    at_most = lambda v, limit: v <= limit  # noqa: E731
    at_least = lambda v, limit: v >= limit  # noqa: E731
    add(
        "busy reading page ÷ quiet reading page",
        _ratio(results, "reading page, busy", "reading page, quiet"),
        2.0,
        "×",
        at_most,
    )
    load = results.get("loads", {}).get("reading page, busy")
    add("reading page requests/s (8 connections)", load and load["per_second"], 100, "/s", at_least)
    for name in ("container, first page", "container, first page, late group", "API create"):
        timing = _timing(results, name)
        add(f"{name} ÷ healthz", timing and timing["ratio"], 3.0, "×", at_most)
    add(
        "search, a common word ÷ busy reading page",
        _ratio(results, "search, busy (a common word)", "reading page, busy"),
        3.0,
        "×",
        at_most,
    )
    wire = results.get("bytes", {}).get("html_wire")
    add("busy page HTML on the wire", wire and wire / 1024, HTML_WIRE_LIMIT / 1024, "KB", at_most)
    browser = results.get("browser") or {}
    add(
        "data arrived → all highlights drawn",
        browser.get("data_to_drawn_ms"),
        DRAWN_LIMIT_MS,
        "ms",
        at_most,
    )
    return rows


def scale_comparison(small: dict, large: dict) -> list[dict]:
    """Every figure's ratio to healthz at the large scale over the same at the small one."""
    rows = []
    for name, timing in large["timings"].items():
        before = small["timings"].get(name)
        if not before or name == "healthz":
            continue
        change = timing["ratio"] / before["ratio"]
        rows.append(
            {"figure": name, "small": before["ratio"], "large": timing["ratio"], "change": change}
        )

    # Under load, as healthz's requests/s over the figure's in the same run: the time one
    # request takes in healthz's, so a busier machine moves both.
    def per(results, name):
        loads = results.get("loads", {})
        return loads["healthz"]["per_second"] / loads[name]["per_second"]

    for name in large.get("loads", {}):
        if name != "healthz" and name in small.get("loads", {}):
            before, after = per(small, name), per(large, name)
            rows.append({"figure": f"{name} under load (healthz req/s ÷ its req/s)",
                         "small": before, "large": after, "change": after / before})  # fmt: skip
    return rows


def _fmt(value, digits=1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _met(met) -> str:
    return {True: "met", False: "**missed**", None: "not measured"}[met]


def table(results: dict) -> str:
    """The whole report as Markdown (what the terminal prints and the README holds)."""
    meta, out = results["meta"], []
    data = results["dataset"]
    dirty = " (+ uncommitted changes)" if meta["dirty"] else ""
    out.append(
        f"Run {meta['date']} at commit {meta['commit']}{dirty}"
        f"; scale {data['scale']:g} ({data['counts']['annotations']:,} annotations and replies "
        f"in all, {data['counts']['groups']:,} groups), seed {data['seed']}; "
        f"{meta['rounds']} rounds after {meta['warmup']} warm-up; load average "
        f"{' '.join(meta.get('loadavg', []))} at the end.\n"
    )
    out.append(
        "| figure | median ms | p95 ms | × healthz | queries (cold / warm) | status | bytes |"
    )
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, t in results["timings"].items():
        q = results["queries"].get(name)
        queries = f"{q['cold']} / {q['warm']}" if q else "–"
        out.append(
            f"| {name} | {_fmt(t['median_ms'])} | {_fmt(t['p95_ms'])} | {_fmt(t['ratio'], 2)} "
            f"| {queries} | {t['status']} | {t['bytes']:,} |"
        )
    other = [n for n in results["queries"] if n not in results["timings"]]
    for name in other:
        q = results["queries"][name]
        out.append(f"| {name} (queries only) | | | | {q['cold']} / {q['warm']} | {q['status']} | |")
    if results.get("loads"):
        out.append("\n| under load | tool | req/s | p50 ms | p99 ms | errors |")
        out.append("| --- | --- | ---: | ---: | ---: | ---: |")
        for name, load in results["loads"].items():
            lat = load["latency_ms"]
            out.append(
                f"| {name} | {load['tool']}, {load['connections']} connections, "
                f"{load['seconds']:.0f} s | {_fmt(load['per_second'])} | "
                f"{_fmt(lat.get('50') or lat.get(50))} | {_fmt(lat.get('99') or lat.get(99))} "
                f"| {load['errors']} |"
            )
    b = results.get("browser")
    if b:
        out.append(
            f"\nChromium, fresh context each time, median of {b['runs']}: navigation → all "
            f"{b['expected']:,} highlights drawn {_fmt(b['navigation_to_drawn_ms'])} ms "
            f"(p95 {_fmt(b['navigation_to_drawn_p95_ms'])}); after the data arrived "
            f"({b['data_source']}) {_fmt(b['data_to_drawn_ms'])} ms "
            f"(p95 {_fmt(b['data_to_drawn_p95_ms'])}); HTML received at "
            f"{_fmt(b['html_ms'])} ms; drawn by {b['drawn_source']}."
        )
        marks = b.get("own_marks_median") or {}
        if "data_arrived_ms" in b and marks:
            steps = ", ".join(
                f"{name.removesuffix('At')} {_fmt(value)}"
                for name, value in sorted(marks.items(), key=lambda item: item[1])
            )
            out.append(
                f"The page's own marks, ms after navigation (medians): the data arrived "
                f"{_fmt(b['data_arrived_ms'])}; {steps}."
            )
    by = results.get("bytes")
    if by:
        out.append(
            f"\nBytes of the busy page: HTML {by['html'] / 1024:,.0f} KB, "
            f"{by['html_wire'] / 1024:,.0f} KB on the wire "
            f"({by['html_encoding'] or 'not compressed'}; gzip would make it "
            f"{by['html_gzip'] / 1024:,.0f} KB)"
            + (
                f"; JS {b['js_bytes'] / 1024:,.0f} KB ({b['js_wire_bytes'] / 1024:,.0f} KB on "
                f"the wire), CSS {b['css_bytes'] / 1024:,.0f} KB "
                f"({b['css_wire_bytes'] / 1024:,.0f} KB)."
                if b
                else "."
            )
        )
    memory = results.get("memory")
    if memory:
        out.append(
            f"\nGunicorn workers' RSS after the load: "
            f"{', '.join(f'{kib / 1024:,.0f} MB' for kib in memory['worker_rss_kib'])}."
        )
    out.append("\n| target | measured | limit | |")
    out.append("| --- | ---: | ---: | --- |")
    for row in results["targets"]:
        out.append(
            f"| {row['target']} | {_fmt(row['value'], 2)} {row['unit'] if row['value'] else ''} "
            f"| {_fmt(row['limit'], 2)} {row['unit']} | {_met(row['met'])} |"
        )
    if results.get("scale"):
        s = results["scale"]
        out.append(
            f"\nScale {s['small']:g} → {s['large']:g} (each figure's ratio to healthz; limit "
            f"{SCALE_LIMIT:.2f}×):\n"
        )
        if s.get("note"):
            out.append(s["note"] + ".")
        else:
            out.append("| figure | small | large | change | |")
            out.append("| --- | ---: | ---: | ---: | --- |")
        for row in s["rows"]:
            met = _met(row["change"] <= SCALE_LIMIT)
            out.append(
                f"| {row['figure']} | {_fmt(row['small'], 2)} | {_fmt(row['large'], 2)} "
                f"| {_fmt(row['change'], 2)}× | {met} |"
            )
    return "\n".join(out)


def save(results: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(results, indent=2, default=str)
    (RESULTS / "latest.json").write_text(text + "\n")
    path = RESULTS / f"scale-{results['dataset']['scale']:g}.json"
    path.write_text(text + "\n")
    return path


def load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def with_scale_comparison(results: dict) -> dict:
    """Compare with the other of scale 1 and scale 10, when both have been measured on the
    same code (meta.code: the working tree is shared with people changing it)."""
    scale = results["dataset"]["scale"]
    if scale not in (1, 10):
        return results
    other = load(RESULTS / f"scale-{11 - scale:g}.json")
    if not other:
        return results
    small, large = (results, other) if scale == 1 else (other, results)
    results["scale"] = {"small": 1, "large": 10, "small_date": small["meta"]["date"],
                        "large_date": large["meta"]["date"]}  # fmt: skip
    if small["meta"].get("code") != large["meta"].get("code"):
        results["scale"]["rows"] = []
        results["scale"]["note"] = (
            "not compared: the code changed between the two runs "
            f"({small['meta'].get('code')} at scale 1, {large['meta'].get('code')} at scale 10)"
        )
    else:
        results["scale"]["rows"] = scale_comparison(small, large)
    return results


def write_readme(results: dict) -> None:
    """The run's table (one section per scale) into bench/README.md; the 100k → 1M
    comparison goes with the 1M table only."""
    scale = results["dataset"]["scale"]
    if scale != 10:
        results = {key: value for key, value in results.items() if key != "scale"}
    write_readme_section(f"table-scale-{scale:g}", table(results))


def write_readme_section(name: str, text: str) -> None:
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    readme = README.read_text() if README.exists() else ""
    block = f"{start}\n{text.strip()}\n{end}"
    if start in readme:
        readme = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, readme,
                        flags=re.DOTALL)  # fmt: skip
    else:
        readme = readme.rstrip() + "\n\n" + block + "\n"
    README.write_text(readme)


def explain_markdown(pages: list, scale: float) -> str:
    from bench.queries import PLAN_LINES

    out = [
        f"EXPLAIN (ANALYZE, BUFFERS) at scale {scale:g}: for each figure, its queries' total "
        "execution time and its slowest queries (identifiers unquoted for reading).\n"
    ]
    for page in pages:
        out.append(
            f"\n#### {page.name}: {page.count} queries, {page.total_ms:.1f} ms in the database\n"
        )
        for item in page.hot:
            sql = item.sql.replace('"', "")
            sql = sql if len(sql) <= 900 else sql[:900] + " …"
            scans = f" (seq scan: {'; '.join(item.seq_scans)})" if item.seq_scans else ""
            summary = html.escape(f"{item.ms:.2f} ms: {sql[:110]}…{scans}")
            plan = item.plan[:PLAN_LINES] + (["…"] if len(item.plan) > PLAN_LINES else [])
            out.append(f"<details><summary>{summary}</summary>\n")
            out.append("```sql\n" + sql + "\n```\n")
            out.append("```\n" + "\n".join(plan) + "\n```\n</details>\n")
    return "\n".join(out)
