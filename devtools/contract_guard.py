"""The contract guard: no breaking change to the OpenAPI document while info.version's major stays.

`contract/openapi.released.json` is the document of the last release. This compares the current
`functions/docs/openapi.json` with it by `optic diff --check` under the rules of
`contract/optic.yml`: Optic's own `breaking-changes` (an operation, a status code, a response
field or an enum value removed, a new required request field or parameter, a type narrowed, ...)
and `contract/request-constraints.js` (a request bound narrowed: maxLength, maximum, a new
pattern, ...). A breaking change passes only with a higher major number in `info.version`.

    python -m devtools.contract_guard [--released PATH] [--current PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from devtools.loader import ROOT

CONTRACT = ROOT / "contract"
RELEASED = CONTRACT / "openapi.released.json"
CURRENT = ROOT / "functions" / "docs" / "openapi.json"
RULES = CONTRACT / "optic.yml"
NODE_MODULES = ROOT / ".local" / "node" / "node_modules"
OPTIC = NODE_MODULES / ".bin" / "optic"


def major(document: Path) -> int:
    version = str(json.loads(document.read_text(encoding="utf-8"))["info"]["version"])
    return int(version.split(".", 1)[0])


def check(released: Path, current: Path) -> int:
    """0 when `current` keeps the contract of `released` (or bumps the major), else 1; says why."""
    before, after = major(released), major(current)
    if after > before:
        print(f"contract: info.version's major {before} -> {after}: breaking changes are allowed")
        return 0
    if after < before:
        print(f"contract: info.version's major went down ({before} -> {after})", file=sys.stderr)
        return 1
    if not OPTIC.exists():
        print(f"contract: {OPTIC} is missing: run `make node-tools`", file=sys.stderr)
        return 1
    # Optic resolves a local ruleset against its working directory, and the ruleset requires
    # @useoptic/rulesets-base from the installed tools.
    env = {**os.environ, "OPTIC_TELEMETRY_LEVEL": "off", "NODE_PATH": str(NODE_MODULES)}
    result = subprocess.run(
        [str(OPTIC), "diff", str(released.resolve()), str(current.resolve()), "--check", "--standard", RULES.name],
        cwd=RULES.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    sys.stdout.write(result.stdout)
    if result.stderr.strip():
        # Optic only warns, and exits 0, when a ruleset cannot be loaded: a guard without its rules.
        sys.stderr.write(result.stderr)
        print("contract: optic reported a problem (above): the guard did not run all its rules", file=sys.stderr)
        return 1
    if result.returncode != 0:
        print(
            f"contract: breaking change against {released.name} while info.version's major stays {after}: "
            "keep the old behaviour, or bump the major version",
            file=sys.stderr,
        )
        return 1
    print(f"contract: no breaking change against {released.name} (major {after})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--released", type=Path, default=RELEASED)
    parser.add_argument("--current", type=Path, default=CURRENT)
    args = parser.parse_args()
    return check(args.released, args.current)


if __name__ == "__main__":
    raise SystemExit(main())
