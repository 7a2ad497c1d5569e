"""`make bench` (`python -m devtools.bench [--quick]`): the performance figures, as a table and JSON.

Times wobble on a shared machine, so cold start and warm overhead are counted in instructions
(valgrind's callgrind) and set against a baseline built in the same run. `--quick` (CI) runs
every measurement with small counts and asserts no goal.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from devtools.bench import measure
from devtools.loader import ROOT

GOALS: dict[str, tuple[str, float]] = {
    "init_instructions_ratio": ("<=", 1.6),
    "authorizer_init_instructions_ratio": ("<=", 1.35),
    "warm_get_instructions": ("<=", 600_000),
    "warm_post_instructions": ("<=", 1_200_000),
    "ddb_calls_per_op": ("==", 1),
    "list_scanned_per_returned": ("<=", 1.01),  # a page of 100 reads one item more, to know if another follows
    # A warm token check under 1 ms of CPU: 512 MB gets about 0.3 of a 2.5 GHz Graviton core, some
    # 1.1 instructions per ns at an IPC of 1.5, so 1 ms is roughly 1,000,000 instructions.
    # Per-tenant STS sessions (TENANT_ROLE_ARN, on AWS): reported beside the figures above, no goal.
    "warm_get_scoped_instructions": ("", 0),
    "cold_tenant_scoped_instructions": ("", 0),
    "sts_calls_scoped": ("", 0),
    "warm_token_verify_instructions": ("<=", 1_000_000),
    "warm_token_cached_instructions": ("", 0),
    "artifact_zip_bytes": ("<=", 6_500_000),
    "authorizer_artifact_zip_bytes": ("", 0),
    "uncompiled_py": ("==", 0),
    "local_p50_ms": ("<=", 5.0),
    "local_p99_ms": ("", 0),
    "local_feed_seconds": ("<=", 2.0),
    # The mixed CRUD journey (devtools.bench.load) with 8 and 24 concurrent users against make start.
    "load_failures": ("==", 0),
    "load_p99_ms_8_users": ("<=", 300.0),
    "load_p99_ms_24_users": ("", 0),
    "load_p50_ms": ("", 0),
    "load_requests": ("", 0),
    "load_requests_per_s": ("", 0),
}


def meets(key: str, value: Any) -> bool | None:
    op, goal = GOALS[key]
    values = list(value.values()) if isinstance(value, dict) else [value]
    if not op:
        return None
    if op == "==":
        return all(v == goal for v in values)
    return all(v <= goal for v in values)


def show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={show(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def machine() -> str:
    """What the figures were measured on: the CPU model, its cores, the system."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, {platform.machine()}"


def published(results: dict[str, Any], baselines: dict[str, str], quick: bool) -> dict[str, Any]:
    """The docs site's copy (docs/performance/results.json, committed): the figures with their goals,
    baselines, the machine and the date, which the performance page renders as a table and a chart."""
    return {
        "measured_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "quick": quick,
        "figures": [
            {
                "name": key,
                "value": results[key],
                "op": GOALS[key][0],
                "goal": GOALS[key][1] if GOALS[key][0] else None,
                "baseline": baselines[key],
                "met": meets(key, results[key]),
            }
            for key in GOALS
            if key in results
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts, no goal asserted (CI)")
    parser.add_argument(
        "--only", choices=sorted(measure.SECTIONS), action="append", help="only these measurements (repeatable)"
    )
    args = parser.parse_args(argv)
    out = Path(os.environ.get("BENCH_JSON") or ROOT / ".bench" / "results.json")
    docs_out = Path(os.environ.get("BENCH_DOCS_JSON") or ROOT / "docs" / "performance" / "results.json")

    results, baselines = measure.run_all(quick=args.quick, only=set(args.only or measure.SECTIONS))

    width = max(map(len, GOALS))
    print(f"\n{'figure':<{width}}  {'value':<58} {'goal':<12} baseline")
    failed = []
    for key in GOALS:
        if key not in results:
            continue
        value = results[key]
        ok = meets(key, value)
        op, goal = GOALS[key]
        mark = "" if ok is None else ("ok" if ok else "MISSED")
        if ok is False:
            failed.append(key)
        print(f"{key:<{width}}  {show(value):<58} {(op + ' ' + show(goal)) if op else '':<12} {baselines[key]} {mark}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
    # The docs' copy: a quick run (CI's) never replaces the figures of a full one, and a run of some
    # sections only (--only) never replaces a run of all.
    replaceable = not docs_out.exists() or json.loads(docs_out.read_text(encoding="utf-8")).get("quick")
    if not args.only and (not args.quick or replaceable):
        docs_out.parent.mkdir(parents=True, exist_ok=True)
        docs_out.write_text(json.dumps(published(results, baselines, args.quick), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {docs_out}")
    if failed and not args.quick:
        print(f"goals missed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
