"""Timing from outside: one request at a time, interleaved with the references, and a
bounded load.

Timed requests go through http.client on one connection (kept alive where the server keeps
it; gunicorn's sync workers close after each response, and the client reconnects, as a
browser would). Each round asks, for every target in turn, /healthz, a static file, then the
target; a figure's ratio is its median over the median of /healthz in the same rounds, so a
slower or busier machine moves the figures and their reference together.

The load is wrk (Debian's package) with LOAD_CONNECTIONS connections, or, without wrk, a
bounded Python client with as many threads; only ever against 127.0.0.1, for a fixed time.
"""

import http.client
import re
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

LOAD_CONNECTIONS = 8
LOAD_THREADS = 2


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    seconds: float

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Client:
    """A keep-alive HTTP client for 127.0.0.1:port that sends `headers` with every request."""

    def __init__(self, port: int, headers: dict | None = None):
        self.port = port
        self.headers = dict(headers or {})
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        sent = {**self.headers, **(headers or {})}
        for attempt in (1, 2):
            try:
                began = time.perf_counter()
                self.connection.request(method, path, body=body, headers=sent)
                answer = self.connection.getresponse()
                data = answer.read()
                seconds = time.perf_counter() - began
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed a kept-alive connection between requests: once more.
                self.connection.close()
                if attempt == 2:
                    raise
        if answer.will_close:
            self.connection.close()
        headers = {name.lower(): value for name, value in answer.getheaders()}
        return Response(answer.status, headers, data, seconds)

    def get(self, path: str, **headers) -> Response:
        return self.request("GET", path, headers=headers)

    def close(self):
        self.connection.close()


@dataclass
class Target:
    """One figure: what to request, what it should answer, and what to do around it (outside
    the timed part)."""

    name: str
    path: str
    method: str = "GET"
    headers: dict = field(default_factory=dict)
    expect: tuple[int, ...] = (200,)
    body: Callable[[], bytes] | None = None
    before: Callable[["Target"], None] | None = None
    after: Callable[[Response], None] | None = None
    samples: list[float] = field(default_factory=list)
    last: Response | None = None


@dataclass
class Timing:
    name: str
    median_ms: float
    p95_ms: float
    n: int
    ratio: float | None  # to /healthz's median in the same rounds
    status: int
    bytes: int


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def run_rounds(
    client: Client, references: list[Target], targets: list[Target], rounds: int, warmup: int
) -> dict[str, Timing]:
    """Ask every target `warmup + rounds` times, each time right after the references;
    only the last `rounds` count."""
    for number in range(warmup + rounds):
        for target in targets:
            for item in [*references, target]:
                if item.before:
                    item.before(item)
                body = item.body() if item.body else None
                response = client.request(item.method, item.path, body=body, headers=item.headers)
                if response.status not in item.expect:
                    raise SystemExit(
                        f"bench: {item.name} ({item.method} {item.path}) answered "
                        f"{response.status}, not {item.expect}: {response.body[:300]!r}"
                    )
                if item.after:
                    item.after(response)
                item.last = response
                if number >= warmup:
                    item.samples.append(response.seconds * 1000)
    healthz = statistics.median(references[0].samples)
    result = {}
    for item in [*references, *targets]:
        median = statistics.median(item.samples)
        result[item.name] = Timing(
            name=item.name,
            median_ms=median,
            p95_ms=percentile(item.samples, 95),
            n=len(item.samples),
            ratio=median / healthz,
            status=item.last.status,
            bytes=len(item.last.body),
        )
    return result


@dataclass
class Load:
    name: str
    tool: str
    seconds: float
    connections: int
    requests: int
    per_second: float
    latency_ms: dict  # percentile -> ms
    errors: int  # responses other than 2xx/3xx, and socket errors


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def load(name: str, port: int, path: str, headers: dict, seconds: float) -> Load:
    if shutil.which("wrk"):
        return _wrk(name, port, path, headers, seconds)
    return _threads(name, port, path, headers, seconds)


def _wrk(name, port, path, headers, seconds) -> Load:
    command = ["wrk", f"-t{LOAD_THREADS}", f"-c{LOAD_CONNECTIONS}", f"-d{seconds:g}s", "--latency"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latency = {
        int(p): _ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", out, re.MULTILINE)
    }
    requests, took = re.search(r"(\d+) requests in ([\d.]+\w+)", out).groups()
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"(\d+)", socket_errors.group(1)))
    return Load(
        name=name,
        tool="wrk",
        seconds=_ms(took) / 1000,
        connections=LOAD_CONNECTIONS,
        requests=int(requests),
        per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        latency_ms=latency,
        errors=errors,
    )


def _threads(name, port, path, headers, seconds) -> Load:
    """Without wrk: LOAD_CONNECTIONS threads, each asking again as soon as answered."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def work():
        client = Client(port, headers)
        mine, failed = [], 0
        while time.perf_counter() < deadline:
            try:
                response = client.get(path)
                if response.status >= 400:
                    failed += 1
                mine.append(response.seconds * 1000)
            except OSError:
                failed += 1
                client.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    began = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(LOAD_CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - began
    return Load(
        name=name,
        tool="python threads",
        seconds=took,
        connections=LOAD_CONNECTIONS,
        requests=len(latencies),
        per_second=len(latencies) / took,
        latency_ms={p: percentile(latencies, p) for p in (50, 75, 90, 99)},
        errors=errors[0],
    )
