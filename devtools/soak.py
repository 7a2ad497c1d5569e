"""`make soak`: memory and open files of `make start`'s whole process tree under a steady load.

    python -m devtools.soak [--seconds 300] [--users 4] [--every 15] [--idle 60]

Starts the local server (devtools.local.serve), runs the CRUD journey of `make bench`
(devtools.bench.load) with a few users for a fixed time, then lets it idle, and prints every
`--every` seconds the resident memory (RSS) and open files of the server and every process under it
(DynamoDB Local, the template of new instances, the instances), summed, with the process count.
Bounded in time; not part of `make test`. Reads /proc: Linux only.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path

from devtools.bench import load


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def tree_of(root: int) -> list[int]:
    """`root` and every process under it."""
    children, found, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def sample(root: int) -> dict[str, float]:
    pids = tree_of(root)
    return {
        "processes": len(pids),
        "rss_mb": round(sum(map(_rss_kb, pids)) / 1024, 1),
        "server_rss_mb": round(_rss_kb(root) / 1024, 1),
        "open_files": sum(map(_open_files, pids)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="seconds of load")
    parser.add_argument("--users", type=int, default=4, help="concurrent users")
    parser.add_argument("--every", type=float, default=15.0, help="seconds between samples")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idling after the load")
    args = parser.parse_args(argv)
    idle_env = {"TODO_LOCAL_IDLE_SECONDS": str(max(args.idle / 2, 1.0))}

    with load.server(idle_env) as server:
        root = server.process.pid
        result: list[load.Run] = []
        driver = threading.Thread(
            target=lambda: result.append(load.run_users(server.url, args.users, args.seconds)), daemon=True
        )
        began = time.monotonic()
        driver.start()
        print(f"{'s':>6} {'phase':<6} {'processes':>9} {'RSS MB':>8} {'server MB':>9} {'open files':>10}", flush=True)
        end = args.seconds + args.idle
        while (elapsed := time.monotonic() - began) < end:
            figures = sample(root)
            phase = "load" if driver.is_alive() else "idle"
            print(
                f"{elapsed:6.0f} {phase:<6} {figures['processes']:>9} {figures['rss_mb']:>8} "
                f"{figures['server_rss_mb']:>9} {figures['open_files']:>10}",
                flush=True,
            )
            time.sleep(min(args.every, max(end - elapsed, 0.1)))
        driver.join(120)
        figures = sample(root)
        print(
            f"{time.monotonic() - began:6.0f} {'end':<6} {figures['processes']:>9} {figures['rss_mb']:>8} "
            f"{figures['server_rss_mb']:>9} {figures['open_files']:>10}"
        )
        if result:
            print(load.table({args.users: result[0].summary()}))
            if result[0].failures:
                print(f"first failure: {result[0].failures[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
