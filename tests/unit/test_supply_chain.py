"""What a poisoned dependency or a moved tag meets: GitHub Actions pinned by commit, every locked
package pinned with its hashes and installed with --require-hashes, locks that match their pins,
installs before AWS credentials, Dependabot on every ecosystem, and a reviewed audit ignore list.

These read the files that carry the rules (the workflows, the Makefile, the locks): the rules
live there. `make audit` itself needs the advisory database online, so CI runs it, not this suite.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
LOCKS = sorted((ROOT / "requirements").glob("*.lock.txt")) + sorted((ROOT / "layers").glob("*/requirements.txt"))
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def workflow(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def steps(path: Path) -> list[tuple[str, list[dict[str, Any]]]]:
    return [(name, job.get("steps", [])) for name, job in workflow(path)["jobs"].items()]


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    """name -> version of every `name==version` requirement line (markers and hashes aside)."""
    found = {}
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            found[normal(match.group(1))] = match.group(2)
    return found


def requirements(text: str) -> list[str]:
    """The requirement entries of a pip requirements file, each with its `\\` continuation lines."""
    joined = re.sub(r"\\\n", " ", text)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_workflows_exist() -> None:
    assert WORKFLOWS, "no workflow under .github/workflows"
    assert len(LOCKS) >= 5, "the lock files under requirements/ and layers/"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_with_its_tag_beside_it(path: Path) -> None:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if re.match(r"^\s*(- )?uses:", line)]
    assert lines
    for line in lines:
        assert re.fullmatch(r"\s*(- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*", line), line


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_dependencies_are_installed_before_any_aws_credentials(path: Path) -> None:
    for job, job_steps in steps(path):
        credentials = [i for i, s in enumerate(job_steps) if "configure-aws-credentials" in str(s.get("uses", ""))]
        if not credentials:
            continue
        installs = [i for i, s in enumerate(job_steps) if re.search(r"\bmake install\b|pip install", str(s.get("run")))]
        assert installs, f"{job}: no install step"
        assert max(installs) < min(credentials), f"{job}: an install runs after AWS credentials are configured"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_the_workflow_audits_the_locks_before_building(path: Path) -> None:
    jobs = workflow(path)["jobs"]
    audits = [name for name, job in jobs.items() if any(s.get("run") == "make audit" for s in job.get("steps", []))]
    assert audits, "no job runs make audit"
    builds = [name for name, job in jobs.items() if any("make build" in str(s.get("run")) for s in job["steps"])]
    for build in builds:
        needs = jobs[build].get("needs", [])
        assert set(audits) <= set([needs] if isinstance(needs, str) else needs), f"{build} does not wait for the audit"


def test_every_pip_install_requires_hashes() -> None:
    texts = {"Makefile": (ROOT / "Makefile").read_text(encoding="utf-8")}
    texts.update({p.name: p.read_text(encoding="utf-8") for p in WORKFLOWS})
    for name, text in texts.items():
        for line in re.sub(r"\\\n", " ", text).splitlines():
            if re.search(r"pip install|PIP_INSTALL\)", line) and not line.startswith("PIP_INSTALL :="):
                assert "--require-hashes" in line or "$(PIP_INSTALL)" in line, f"{name}: {line.strip()}"
    definition = re.search(r"^PIP_INSTALL := (.*)$", texts["Makefile"], re.MULTILINE)
    assert definition is not None
    assert "pip install" in definition.group(1)
    assert "--require-hashes" in definition.group(1)
    # The lock is installed as it is, then checked whole: pip's resolver, in hash-checking mode, refuses
    # a dependency asked for with extras (aws-sam-cli's boto3-stubs[...]) that the lock pins plainly.
    assert "--no-deps" in definition.group(1)
    installs = re.findall(r"^\t(\S+)/bin/\$\(PIP_INSTALL\)", texts["Makefile"], re.MULTILINE)
    checks = re.findall(r"^\t(\S+)/bin/\$\(PIP_CHECK\)", texts["Makefile"], re.MULTILINE)
    # All but mutation testing's venv, whose mutmut needs a newer click than aws-sam-cli declares.
    assert installs
    assert set(checks) == set(installs) - {"$(MUT_VENV)"}, (installs, checks)


@pytest.mark.parametrize("path", LOCKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_locked_requirement_is_pinned_with_hashes(path: Path) -> None:
    entries = requirements(path.read_text(encoding="utf-8"))
    assert entries
    for entry in entries:
        assert PIN.match(entry), f"{path.name}: not pinned with ==: {entry[:80]}"
        assert "--hash=sha256:" in entry, f"{path.name}: no hash: {entry[:80]}"


@pytest.mark.parametrize("path", LOCKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_lock_holds_exactly_the_pins_of_its_in_file(path: Path) -> None:
    """`make lock` was run after the last edit of the .in file (each .in pins every package)."""
    source = path.with_name(path.name.replace(".lock.txt", ".in").replace("requirements.txt", "requirements.in"))
    assert pins(path.read_text(encoding="utf-8")) == pins(source.read_text(encoding="utf-8")), (
        f"{path.name} does not match {source.name}: run make lock"
    )


def test_the_locks_carry_hashes_beyond_this_machine() -> None:
    """A package with platform wheels has one hash per file, not just this machine's wheel."""
    text = (ROOT / "requirements" / "dev.lock.txt").read_text(encoding="utf-8")
    entry = next(e for e in requirements(text) if e.startswith("pydantic-core=="))
    assert entry.count("--hash=sha256:") >= 20


def test_dependabot_watches_every_ecosystem() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    watched = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    assert {("pip", "/requirements"), ("npm", "/devtools/node"), ("github-actions", "/")} <= watched


def test_every_accepted_vulnerability_says_why() -> None:
    path = ROOT / "requirements" / "audit-ignore.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"(PYSEC|GHSA|CVE)-[\w-]+\s+# \S.{10,}", line), f"an ID without its reason: {line}"


@pytest.mark.parametrize("layer", ["shared", "auth"])
def test_the_layers_ship_exactly_the_versions_of_the_hashed_and_audited_dev_lock(layer: str) -> None:
    """sam build checks the hashes of the build machine's files only, not of the Lambda platform's
    wheels it downloads again (docs/security.md): the layers' versions are the dev lock's, whose
    every file is hashed and which the tests and the audit cover."""
    shipped = pins((ROOT / "layers" / layer / "requirements.txt").read_text(encoding="utf-8"))
    locked = pins((ROOT / "requirements" / "dev.lock.txt").read_text(encoding="utf-8"))
    assert shipped
    assert {name: locked.get(name) for name in shipped} == shipped


def test_the_audit_fails_on_a_package_it_could_not_look_up() -> None:
    """Without --strict, pip-audit passes when its database is unreachable (every package skipped)."""
    recipe = re.search(r"^audit:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    assert recipe is not None
    assert "pip-audit" in recipe.group(1)
    assert "--strict" in recipe.group(1)
    assert "$(AUDIT_IGNORE)" in recipe.group(1)
