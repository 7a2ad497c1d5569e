"""`make usage`: requests, errors and p50/p99 latency per tenant and route, from the local request log.

The same figures as the stack's saved CloudWatch Logs Insights queries (requests-, errors- and
latency-per-tenant-and-route) over the access log, here over the local server's request log, one
line per request:

    GET /todos/01JD7Z6ZQ4N8Y3T5V2W9X0ABCD 200 GetTodoFunction 12ms tenant=demo
    GET /todos 200 ListTodosFunction 1480ms tenant=demo cold 1412 ms   (a new instance served it)

Paths are grouped by the template's route (`/todos/{todo_id}`), as API Gateway's `resourcePath`
is; a request without a tenant (no key, a rejected key, the public routes) counts under `-`. Lines
that are not request lines (the stream consumer's `STREAM ...`, the functions' own logs) are skipped.

    python -m devtools.usage [.local/requests.log | -]
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from devtools.loader import ROOT

DEFAULT_LOG = ROOT / ".local" / "requests.log"
NO_TENANT = "-"
LINE = re.compile(
    r"(?P<method>GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (?P<path>\S+) (?P<status>\d{3}) \S+ "
    r"(?P<millis>\d+(?:\.\d+)?)ms(?P<rest>(?: tenant=\S+)?(?: cold \d+ ms)?)"
)
TENANT = re.compile(r"\btenant=(\S+)")


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def percentile(self, percent: float) -> float:
        """Nearest-rank percentile, as CloudWatch's pct() approximates it."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def template_routes() -> list[tuple[re.Pattern[str], str]]:
    """(pattern, route) of every Api event path of template.yaml, literal paths first."""
    from devtools.emulator.template import project

    paths = {
        event["Properties"]["Path"]
        for function in project().all_functions()
        for event in (function.events or {}).values()
        if event.get("Type") == "Api"
    }
    ordered = sorted(paths, key=lambda path: ("{" in path, path))
    return [(re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(p))), p) for p in ordered]


def route_of(path: str, routes: list[tuple[re.Pattern[str], str]]) -> str:
    path = path.split("?", 1)[0]
    for pattern, route in routes:
        if pattern.fullmatch(path):
            return route
    return "(no route)"


def tally(lines: Iterable[str], routes: list[tuple[re.Pattern[str], str]]) -> dict[tuple[str, str, str], Figures]:
    figures: dict[tuple[str, str, str], Figures] = defaultdict(Figures)
    for line in lines:
        match = LINE.fullmatch(line.strip())
        if match is None:
            continue
        tenant = TENANT.search(match["rest"])
        key = (tenant.group(1) if tenant else NO_TENANT, match["method"], route_of(match["path"], routes))
        figures[key].latencies.append(float(match["millis"]))
        if int(match["status"]) >= 400:
            figures[key].errors += 1
    return figures


def table(figures: dict[tuple[str, str, str], Figures]) -> str:
    header = ("tenant", "method", "route", "requests", "errors", "p50_ms", "p99_ms")
    rows = [
        (*key, str(f.requests), str(f.errors), f"{f.percentile(50):.0f}", f"{f.percentile(99):.0f}")
        for key, f in sorted(figures.items(), key=lambda item: (-item[1].requests, item[0]))
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in [header, *rows])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.usage", description=__doc__.splitlines()[0])
    parser.add_argument("log", nargs="?", default=str(DEFAULT_LOG), help="request log ('-': stdin)")
    args = parser.parse_args(argv)
    if args.log == "-":
        lines: Iterable[str] = sys.stdin
    else:
        path = Path(args.log)
        if not path.exists():
            print(f"no request log at {path}: run make start (it writes one line per request there)", file=sys.stderr)
            return 1
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    figures = tally(lines, template_routes())
    if not figures:
        print(f"no requests in {args.log}", file=sys.stderr)
        return 1
    print(table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
