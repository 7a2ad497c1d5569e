"""Mutation testing of the shipped package (`layers/shared/todo_api`) with mutmut; `make mutation`.

mutmut names a mutant after its file's path below the working folder, less a leading `src/`, and
the tests import `todo_api`: so mutmut runs in workspaces, `.local/mutation/<group>/`, where
`src/todo_api` links to the package and the tests, functions and devtools link to the tree. A
workspace's `pyproject.toml` is the project's, with the package's folder on pytest's path as `src`
and `[tool.mutmut]` completed by its group (`[[tool.mutation.group]]`): the files it mutates and
the tests run against them. A group per layer keeps each mutant's tests to those that can reach
it quickly: mutmut runs, for each mutant, every selected test that called the changed function.

Afterwards the score per module is printed and written to `.local/mutation/scores.json`: killed
of all mutants less the equivalent ones (a timeout counts as killed, a mutant that no selected
test reaches as not killed). An equivalent mutant changes the code but not what it does, so no
test can kill it; each is listed by mutmut's name with the reason in `devtools/mutation_equivalents.toml`.
A listed mutant that survives counts as equivalent, never as killed; a listed mutant that is killed,
or that mutmut no longer makes (the code changed), is reported as a stale entry. `--goal` (percent)
fails the run if a module of the domain, the adapters or the http layer scores below it, or if
the list has a stale entry.

    python -m devtools.mutation [--max-children N] [--goal 90] [--report-only] [MUTANT_GLOB ...]

With mutant globs (`"todo_api.domain.cursor*"`) only those mutants are run, keeping the verdicts
of the others from earlier runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from devtools.loader import ROOT

WORKSPACE = ROOT / ".local" / "mutation"
EQUIVALENTS = ROOT / "devtools" / "mutation_equivalents.toml"
LINKED = ("tests", "functions", "devtools", "template.yaml", "events", "samconfig.toml", "env.json")
GOAL_LAYERS = ("todo_api.domain.", "todo_api.adapters.", "todo_api.http.")
TIMEOUT = "timeout"
KILLED = {"killed", TIMEOUT}
SURVIVED = "survived"
EQUIVALENT = "equivalent"  # a listed mutant that survived
# `mutmut results --all true` prints "    <module>.<mangled function>__mutmut_<n>: <status>".
RESULT = re.compile(r"^\s*(?P<name>todo_api\.\S+?)(?P<number>__mutmut_\d+): (?P<status>.+?)\s*$")
MANGLED = re.compile(r"\.(?:x_|xǁ)")


@dataclass(frozen=True)
class Group:
    name: str
    mutate: tuple[str, ...]  # paths in the workspace, `src/todo_api/...`, as mutmut's only_mutate globs
    tests: tuple[str, ...]

    @property
    def workspace(self) -> Path:
        return WORKSPACE / self.name

    def prefixes(self) -> list[str]:
        """The module names its mutants start with: `src/todo_api/domain/*` -> `todo_api.domain.`."""
        return [p.removeprefix("src/").removesuffix("*").removesuffix(".py").replace("/", ".") for p in self.mutate]

    def may_hold(self, glob: str) -> bool:
        literal = glob.split("*", 1)[0].split("?", 1)[0]
        return any(literal.startswith(prefix) or prefix.startswith(literal) for prefix in self.prefixes())


def groups(project: str) -> list[Group]:
    listed = tomllib.loads(project).get("tool", {}).get("mutation", {}).get("group", [])
    if not listed:
        raise SystemExit("pyproject.toml: no [[tool.mutation.group]]")
    return [Group(g["name"], tuple(g["mutate"]), tuple(g["tests"])) for g in listed]


def _without_table(text: str, header: str) -> str:
    """The TOML text less one table (its header line up to the next header)."""
    lines, out, skipping = text.splitlines(keepends=True), [], False
    for line in lines:
        if line.startswith("["):
            skipping = line.strip() == header
        if not skipping:
            out.append(line)
    return "".join(out)


def prepare(group: Group, project: str) -> None:
    """The group's workspace: links to the tree, and its pyproject (`src` on pytest's path, its mutmut settings)."""
    workspace = group.workspace
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "src").mkdir(exist_ok=True)
    links = {workspace / "src" / "todo_api": ROOT / "layers" / "shared" / "todo_api"}
    links.update({workspace / name: ROOT / name for name in LINKED})
    for link, target in links.items():
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(target, link.parent))
    shipped_path = 'pythonpath = ["layers/shared", "."]'
    if shipped_path not in project:
        raise SystemExit(f"pyproject.toml: expected {shipped_path!r} in [tool.pytest.ini_options]")
    shared = tomllib.loads(project)["tool"]["mutmut"]
    settings = {**shared, "only_mutate": list(group.mutate), "pytest_add_cli_args_test_selection": list(group.tests)}
    # JSON strings and lists of strings are TOML too.
    table = "[tool.mutmut]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items())
    text = _without_table(project.replace(shipped_path, 'pythonpath = ["src", "."]'), "[tool.mutmut]")
    (workspace / "pyproject.toml").write_text(text.rstrip("\n") + "\n\n" + table, encoding="utf-8")


def run(group: Group, max_children: int, mutants: list[str]) -> None:
    if not mutants:
        shutil.rmtree(group.workspace / "mutants", ignore_errors=True)  # a fresh run: no stale verdicts
    mutmut = Path(sys.executable).with_name("mutmut")
    subprocess.run([str(mutmut), "run", "--max-children", str(max_children), *mutants], cwd=group.workspace, check=True)


def module_of(name: str) -> str:
    return MANGLED.split(name, maxsplit=1)[0]


def load_equivalents(path: Path = EQUIVALENTS) -> dict[str, str]:
    """The listed equivalent mutants: mutmut's name to the reason no test can kill it."""
    listed = tomllib.loads(path.read_text(encoding="utf-8")).get("equivalent", {})
    blank = [name for name, reason in listed.items() if not isinstance(reason, str) or not reason.strip()]
    if blank:
        raise SystemExit(f"{path.name}: an equivalent mutant needs its reason: {', '.join(blank)}")
    return dict(listed)


def results(group: Group) -> dict[str, str] | None:
    """Every mutant of the group's last run, by name, with its mutmut status (None: never run)."""
    if not (group.workspace / "mutants").is_dir():
        return None
    mutmut = Path(sys.executable).with_name("mutmut")
    listing = subprocess.run(
        [str(mutmut), "results", "--all", "true"], cwd=group.workspace, check=True, capture_output=True, text=True
    ).stdout
    statuses = {m["name"] + m["number"]: m["status"] for m in map(RESULT.match, listing.splitlines()) if m}
    if not statuses:
        raise SystemExit(f"mutmut results listed no mutants in {group.workspace}: was `mutmut run` done?")
    return statuses


def scores(
    statuses: dict[str, str], equivalents: dict[str, str], ran: tuple[str, ...] = ("todo_api.",)
) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Per module the count of each status (a listed survivor as `equivalent`), and the stale entries
    (of the modules starting with a prefix in `ran`, those of the groups that were run)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in statuses.items():
        # A listed mutant that timed out proves nothing (the tests of a survivor run longest, and a
        # loaded machine stretches them): it stays equivalent. Killed, it is not equivalent.
        listed = name in equivalents and status in (SURVIVED, TIMEOUT)
        counts[module_of(name)][EQUIVALENT if listed else status] += 1
    stale = [f"{name}: listed as equivalent but killed" for name in equivalents if statuses.get(name) == "killed"]
    stale += [
        f"{name}: listed as equivalent but mutmut makes no such mutant"
        for name in equivalents
        if name not in statuses and name.startswith(ran)
    ]
    return {module: dict(counted) for module, counted in sorted(counts.items())}, sorted(stale)


def killed_percent(statuses: dict[str, int]) -> float:
    """Killed of the mutants that can be killed: all less the equivalent ones."""
    killable = sum(n for status, n in statuses.items() if status != EQUIVALENT)
    return 100 * sum(n for status, n in statuses.items() if status in KILLED) / killable if killable else 100.0


def report(by_module: dict[str, dict[str, int]], stale: list[str], goal: float | None) -> int:
    width = max(map(len, by_module))
    print(f"{'module':<{width}}  killed  mutants  equivalent  score  other")
    below = []
    for module, statuses in by_module.items():
        score = killed_percent(statuses)
        killed = sum(n for status, n in statuses.items() if status in KILLED)
        equivalent = statuses.get(EQUIVALENT, 0)
        other = ", ".join(
            f"{status} {n}" for status, n in sorted(statuses.items()) if status not in {*KILLED, EQUIVALENT}
        )
        line = f"{module:<{width}}  {killed:>6}  {sum(statuses.values()):>7}  {equivalent:>10}  {score:4.0f} %  {other}"
        print(line.rstrip())
        if goal is not None and module.startswith(GOAL_LAYERS) and score < goal:
            below.append(module)
    total: Counter[str] = Counter()
    for statuses in by_module.values():
        total.update(statuses)
    print(f"{'all':<{width}}  {'':>6}  {total.total():>7}  {total[EQUIVALENT]:>10}  {killed_percent(total):4.0f} %")
    (WORKSPACE / "scores.json").write_text(json.dumps(by_module, indent=2) + "\n")
    for entry in stale:
        print(f"stale entry of {EQUIVALENTS.name}: {entry}", file=sys.stderr)
    if below:
        print(f"below the goal of {goal:.0f} %: {', '.join(below)}", file=sys.stderr)
    return 1 if goal is not None and (below or stale) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--goal", type=float, help="percent killed each domain/adapters/http module must reach")
    parser.add_argument("--report-only", action="store_true", help="report the last run's results")
    parser.add_argument("mutants", nargs="*", help="run only the mutants these globs name, keep the other verdicts")
    args = parser.parse_args(argv)
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    statuses: dict[str, str] = {}
    not_run, ran = [], []
    for group in groups(project):
        prepare(group, project)
        if args.report_only:
            pass
        elif not args.mutants:
            run(group, args.max_children, [])
        elif wanted := [glob for glob in args.mutants if group.may_hold(glob)]:
            run(group, args.max_children, wanted)
        if (found := results(group)) is None:
            not_run.append(group.name)
        else:
            statuses.update(found)
            ran += group.prefixes()
    if not statuses:
        raise SystemExit("no mutmut run yet: make mutation")
    by_module, stale = scores(statuses, load_equivalents(), tuple(ran))
    failed = report(by_module, stale, args.goal)
    if not_run:
        print(f"groups never run, not in the figures: {', '.join(not_run)}", file=sys.stderr)
    return 1 if failed or (not_run and args.goal is not None) else 0


if __name__ == "__main__":
    raise SystemExit(main())
