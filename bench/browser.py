"""Chromium (Debian's, through Playwright; never `playwright install`): from navigation to
every highlight drawn, and the bytes the page brings.

Each run is a fresh browser context (nothing cached, as a first visit) logged in by the
session cookie. A script injected before the page's own ones watches each frame for the
marks: the first frame in which every expected annotation has a `mark.hl-<id>` is "drawn".
The script scans the page only once the page says it has drawn (a scan of every mark each
frame slowed the drawing it timed). When the page's script exposes its own marks on
`window.__commonplace` (`drawnAt`,
`layerLoadedAt`, ..., stamped since the epoch and read here as performance.now()
milliseconds) those are read as well, and its `drawnAt` is preferred; the marks watched
here are kept beside it (`marks_drawn_ms`) as a check.
"When the data arrived" is the layer data's own response end (`layer.json`) when the page
fetches it, else `__commonplace.layerLoadedAt`, else the HTML's (the data is embedded).
"""

import statistics
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 60_000

WATCH = """
(() => {
  const want = %d;
  const drawn = () => {
    if (!document.querySelector('mark[class*="hl-"]')) return false;
    const ids = new Set();
    for (const mark of document.querySelectorAll('mark[class*="hl-"]'))
      for (const name of mark.classList) if (/^hl-\\d+$/.test(name)) ids.add(name);
    return ids.size >= want;
  };
  // While the page reports its own progress and is not done, nothing is scanned: a scan of
  // every mark each frame took time from the drawing it measures. Once it says it is drawn (or
  // on a page without its own marks, every frame), every expected highlight is looked for.
  const poll = () => {
    const own = window.__commonplace;
    if (own && own.state !== "drawn" && own.state !== "failed") requestAnimationFrame(poll);
    else if (drawn()) window.__bench = { drawnAt: performance.now() };
    else requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
})();
"""

DONE = "() => window.__bench || (window.__commonplace && window.__commonplace.drawnAt)"
COLLECT = """
() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const own = window.__commonplace || {};
  // The page's own marks, as performance.now() milliseconds (the page stamps them since the
  // epoch, performance.timeOrigin + performance.now()).
  const marks = Object.fromEntries(
    Object.entries(own)
      .filter(([name, value]) => typeof value === "number" && name.endsWith("At"))
      .map(([name, value]) => [name, value > 1e11 ? value - performance.timeOrigin : value]));
  const ids = new Set();
  for (const mark of document.querySelectorAll('mark[class*="hl-"]'))
    for (const name of mark.classList) if (/^hl-\\d+$/.test(name)) ids.add(name);
  return {
    html: { end: nav.responseEnd, encoded: nav.encodedBodySize, decoded: nav.decodedBodySize },
    domContentLoaded: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd,
    benchDrawnAt: window.__bench ? window.__bench.drawnAt : null,
    own: marks,
    drawnIds: ids.size,
    shown: own.shown ?? null,
    state: own.state ?? null,
    resources: performance.getEntriesByType("resource").map((r) => ({
      name: r.name, encoded: r.encodedBodySize, decoded: r.decodedBodySize, end: r.responseEnd,
    })),
  };
}
"""


@dataclass
class BrowserResult:
    runs: int
    expected: int
    drawn: int
    navigation_to_drawn_ms: float
    navigation_to_drawn_p95_ms: float
    data_to_drawn_ms: float
    data_to_drawn_p95_ms: float
    data_source: str  # layer.json | __commonplace.layerLoadedAt | html
    drawn_source: str  # __commonplace.drawnAt | marks
    html_ms: float
    js_bytes: int
    js_wire_bytes: int
    css_bytes: int
    css_wire_bytes: int
    html_bytes: int
    html_wire_bytes: int
    own_marks: dict
    # Each of the page's own marks and the data's arrival, median over the runs: where the
    # time between the data arriving and the last highlight goes (waiting for the script,
    # reading the layer, drawing).
    own_marks_median: dict
    data_arrived_ms: float
    marks_drawn_ms: float | None
    page_state: dict

    def as_dict(self) -> dict:
        return asdict(self)


def available() -> bool:
    return CHROMIUM.exists()


def measure(base: str, path: str, cookies: dict, expected: int, runs: int) -> BrowserResult:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    nav, data, seen, html_end, watched, arrivals = [], [], [], [], [], []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            for number in range(runs + 1):  # the first warms the server and Chromium
                context = chromium.new_context(viewport={"width": 1280, "height": 900})
                context.add_cookies(
                    [{"name": k, "value": v, "url": base} for k, v in cookies.items()]
                )
                context.add_init_script(WATCH % expected)
                page = context.new_page()
                response = page.goto(base + path, wait_until="commit")
                if response.status != 200:
                    raise SystemExit(f"bench: Chromium got {response.status} for {path}")
                with suppress(PlaywrightTimeout):  # reported below: drew N of M
                    page.wait_for_function(DONE, timeout=TIMEOUT_MS)
                page.wait_for_load_state("load")
                found = page.evaluate(COLLECT)
                context.close()
                if number == 0:
                    first = found
                    continue
                own = found["own"]
                drawn_at = own.get("drawnAt") or found["benchDrawnAt"]
                if drawn_at is None:
                    raise SystemExit(
                        f"bench: Chromium drew {found['drawnIds']} of {expected} highlights "
                        f"within {TIMEOUT_MS / 1000:.0f} s"
                    )
                layer = [r for r in found["resources"] if "layer.json" in r["name"]]
                if layer:
                    arrived, source = layer[0]["end"], "layer.json"
                elif "layerLoadedAt" in own:
                    arrived, source = own["layerLoadedAt"], "__commonplace.layerLoadedAt"
                else:
                    arrived, source = found["html"]["end"], "html"
                nav.append(drawn_at)
                if found["benchDrawnAt"] is not None:
                    watched.append(found["benchDrawnAt"])
                data.append(drawn_at - arrived)
                arrivals.append(arrived)
                html_end.append(found["html"]["end"])
                seen.append(found)
        finally:
            chromium.close()

    def size(kind: str, key: str) -> int:
        return sum(r[key] for r in first["resources"] if r["name"].split("?")[0].endswith(kind))

    from bench.timing import percentile

    last = seen[-1]
    return BrowserResult(
        runs=runs,
        expected=expected,
        drawn=last["drawnIds"],
        navigation_to_drawn_ms=statistics.median(nav),
        navigation_to_drawn_p95_ms=percentile(nav, 95),
        data_to_drawn_ms=statistics.median(data),
        data_to_drawn_p95_ms=percentile(data, 95),
        data_source=source,
        drawn_source="__commonplace.drawnAt" if last["own"].get("drawnAt") else "marks",
        html_ms=statistics.median(html_end),
        js_bytes=size(".js", "decoded"),
        js_wire_bytes=size(".js", "encoded"),
        css_bytes=size(".css", "decoded"),
        css_wire_bytes=size(".css", "encoded"),
        html_bytes=first["html"]["decoded"],
        html_wire_bytes=first["html"]["encoded"],
        own_marks=last["own"],
        own_marks_median={
            name: statistics.median(values)
            for name in last["own"]
            if len(values := [run["own"][name] for run in seen if name in run["own"]]) == len(seen)
        },
        data_arrived_ms=statistics.median(arrivals),
        marks_drawn_ms=statistics.median(watched) if watched else None,
        page_state={"shown": last["shown"], "state": last["state"]},
    )
