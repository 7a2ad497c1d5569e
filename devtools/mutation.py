"""Mutation testing of the shipped package (`layers/shared/todo_api`) with mutmut; `make mutation`.

mutmut names a mutant after its file's path below the working folder, less a leading `src/`, and
the tests import `todo_api`: so mutmut runs in a workspace, `.local/mutation/`, where `src/todo_api`
links to the package and the tests, functions and devtools link to the tree. The workspace's
`pyproject.toml` is the project's, with the package's folder on pytest's path as `src`. mutmut's
own settings are `[tool.mutmut]` of the project's `pyproject.toml`.

Afterwards the score per module (killed of all mutants tested; a timeout counts as killed, a
mutant that no selected test reaches as not killed) is printed and written to
`.local/mutation/scores.json`. `--goal` (percent) fails the run if a module of the domain, the
adapters or the http layer scores below it.

    python -m devtools.mutation [--max-children N] [--goal 90] [--report-only]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

from devtools.loader import ROOT

WORKSPACE = ROOT / ".local" / "mutation"
LINKED = ("tests", "functions", "devtools", "template.yaml", "events", "samconfig.toml", "env.json")
GOAL_LAYERS = ("todo_api.domain.", "todo_api.adapters.", "todo_api.http.")
KILLED = {"killed", "timeout"}
# `mutmut results --all true` prints "    <module>.<mangled function>__mutmut_<n>: <status>".
RESULT = re.compile(r"^\s*(?P<name>todo_api\.\S+?)__mutmut_\d+: (?P<status>.+?)\s*$")
MANGLED = re.compile(r"\.(?:x_|xǁ)")


def prepare() -> None:
    """The workspace: links to the tree, and the project's pyproject with `src` on pytest's path."""
    WORKSPACE.mkdir(parents=True, exist_ok=True)
    (WORKSPACE / "src").mkdir(exist_ok=True)
    links = {WORKSPACE / "src" / "todo_api": ROOT / "layers" / "shared" / "todo_api"}
    links.update({WORKSPACE / name: ROOT / name for name in LINKED})
    for link, target in links.items():
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(target, link.parent))
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    shipped_path = 'pythonpath = ["layers/shared", "."]'
    if shipped_path not in project:
        raise SystemExit(f"pyproject.toml: expected {shipped_path!r} in [tool.pytest.ini_options]")
    (WORKSPACE / "pyproject.toml").write_text(project.replace(shipped_path, 'pythonpath = ["src", "."]'))


def run(max_children: int) -> None:
    shutil.rmtree(WORKSPACE / "mutants", ignore_errors=True)  # a fresh run: no stale verdicts
    mutmut = Path(sys.executable).with_name("mutmut")
    subprocess.run([str(mutmut), "run", "--max-children", str(max_children)], cwd=WORKSPACE, check=True)


def module_of(name: str) -> str:
    return MANGLED.split(name, maxsplit=1)[0]


def scores() -> dict[str, dict[str, int]]:
    """Per module: the count of each mutmut status."""
    mutmut = Path(sys.executable).with_name("mutmut")
    listing = subprocess.run(
        [str(mutmut), "results", "--all", "true"], cwd=WORKSPACE, check=True, capture_output=True, text=True
    ).stdout
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for line in listing.splitlines():
        if match := RESULT.match(line):
            counts[module_of(match["name"])][match["status"]] += 1
    if not counts:
        raise SystemExit("mutmut results listed no mutants: was `mutmut run` done?")
    return {module: dict(statuses) for module, statuses in sorted(counts.items())}


def killed_percent(statuses: dict[str, int]) -> float:
    return 100 * sum(n for status, n in statuses.items() if status in KILLED) / sum(statuses.values())


def report(by_module: dict[str, dict[str, int]], goal: float | None) -> int:
    width = max(map(len, by_module))
    print(f"{'module':<{width}}  killed  mutants  score  other")
    below = []
    for module, statuses in by_module.items():
        score = killed_percent(statuses)
        killed = sum(n for status, n in statuses.items() if status in KILLED)
        other = ", ".join(f"{status} {n}" for status, n in sorted(statuses.items()) if status not in KILLED)
        print(f"{module:<{width}}  {killed:>6}  {sum(statuses.values()):>7}  {score:4.0f} %  {other}")
        if goal is not None and module.startswith(GOAL_LAYERS) and score < goal:
            below.append(module)
    total = {status: sum(s.get(status, 0) for s in by_module.values()) for m in by_module.values() for status in m}
    print(f"{'all':<{width}}  {'':>6}  {sum(total.values()):>7}  {killed_percent(total):4.0f} %")
    (WORKSPACE / "scores.json").write_text(json.dumps(by_module, indent=2) + "\n")
    if below:
        print(f"below the goal of {goal:.0f} %: {', '.join(below)}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--goal", type=float, help="percent killed each domain/adapters/http module must reach")
    parser.add_argument("--report-only", action="store_true", help="report the last run's results")
    args = parser.parse_args(argv)
    prepare()
    if not args.report_only:
        run(args.max_children)
    return report(scores(), args.goal)


if __name__ == "__main__":
    raise SystemExit(main())
