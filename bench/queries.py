"""Query counts and the SQL behind each figure, measured in-process (Django's test client
against the same database, separately from the timing), and EXPLAIN (ANALYZE, BUFFERS) of
the hot ones.

A "hot" query is one of the HOT_PER_PAGE slowest of a page by EXPLAIN ANALYZE's execution
time, or any slower than HOT_MS. Writes are explained inside a transaction that is rolled
back, so explaining them changes nothing.
"""

import re
from dataclasses import dataclass, field

from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

HOT_PER_PAGE = 3
HOT_MS = 5.0
PLAN_LINES = 40
SKIP = re.compile(r"^\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT|SET )", re.IGNORECASE)


@dataclass
class Captured:
    name: str
    method: str
    path: str
    status: int
    sql: list[str] = field(default_factory=list)
    response: object = None

    @property
    def count(self) -> int:
        return len(self.sql)


def capture(client, name: str, method: str, path: str, **kwargs) -> Captured:
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method.lower())(path, **kwargs)
    sql = [q["sql"] for q in captured]
    return Captured(name, method, path, response.status_code, sql, response)


@dataclass
class Explained:
    page: str
    sql: str
    ms: float
    plan: list[str]
    seq_scans: list[str]


def explain(sql: str) -> tuple[float, list[str]]:
    """EXPLAIN ANALYZE, rolled back. A write that cannot run again as captured (a cache row's
    INSERT whose key now exists) is reported, not explained."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = [row[0] for row in cursor.fetchall()]
            transaction.set_rollback(True)
    except DatabaseError as error:
        return 0.0, [f"(not explained: {str(error).splitlines()[0]})"]
    ms = next(
        (float(m.group(1)) for line in plan if (m := re.search(r"Execution Time: ([\d.]+)", line))),
        0.0,
    )
    return ms, plan


@dataclass
class PageExplained:
    name: str
    count: int
    total_ms: float  # every query of the page, by EXPLAIN ANALYZE
    hot: list[Explained]


def hot_queries(pages: list[Captured]) -> list[PageExplained]:
    found = []
    for page in pages:
        explained, seen = [], set()
        for sql in page.sql:
            if SKIP.match(sql) or sql in seen:
                continue
            seen.add(sql)
            ms, plan = explain(sql)
            scans = [
                line.strip().removeprefix("->  ")
                for line in plan
                if "Seq Scan on" in line and "annotations_" in line
            ]
            explained.append(Explained(page.name, sql, ms, plan, scans))
        explained.sort(key=lambda e: -e.ms)
        hot = [e for i, e in enumerate(explained) if i < HOT_PER_PAGE or e.ms > HOT_MS]
        found.append(PageExplained(page.name, page.count, sum(e.ms for e in explained), hot))
    return found
