"""Fuzzing from the contract: schemathesis against the local server's own /openapi.json.

`st run` (schemathesis' CLI: examples, coverage, fuzzing and stateful phases, every check) runs
as tenant A, with tenant B as its peer, so that its object-level authorization check replays
A's reads as B. Any failure, and any 5xx in the server's own log, fails the test.

What the configuration below changes, and why (nothing else is left out):
- `unsupported_method` is off: for a method that a path does not declare (TRACE, ...) the
  deployed API Gateway answers its MISSING_AUTHENTICATION_TOKEN gateway response, which
  template.yaml maps to 404 (the contract allows 404 or 405); schemathesis insists on 405.
- schema-valid requests may be refused where the refusal depends on state that no schema can
  describe: 400 for a `cursor` on the list routes (cursors are opaque and carry a checksum bound
  to the tenant and filter) and 412 for an `If-Match` on /todos/{todo_id} (any version but the
  current one). All other statuses of those operations are still checked.
- schemathesis_hooks.py makes every drawn Idempotency-Key unique per call (reuse is contract
  behaviour: replay or 422; it is tested in test_faults.py and tests/integration).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.reliability.conftest import DEEP, TENANT_A, TENANT_B, Server, bounded

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """\
[auth.wfc]
path = "{auth}"
user = "{a}"
peers = ["{a}", "{b}"]

[[operations]]
include-path-regex = "^/(todos|activity)$"
include-method = "GET"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

[[operations]]
include-path = "/todos/{{todo_id}}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "412", "429", "5xx"]
"""

AUTH = """\
auth:
  - name: {a}
    fixedHeaders: [{{name: x-api-key, value: "{key_a}"}}]
  - name: {b}
    fixedHeaders: [{{name: x-api-key, value: "{key_b}"}}]
"""


CPYTHON_AST_BUG = "AST constructor recursion depth mismatch"


def test_schemathesis_finds_nothing(server: Server, tmp_path: Path, figures) -> None:
    auth = tmp_path / "auth.yaml"
    auth.write_text(AUTH.format(a=TENANT_A, b=TENANT_B, key_a=server.keys[TENANT_A], key_b=server.keys[TENANT_B]))
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(auth=auth, a=TENANT_A, b=TENANT_B))
    examples = bounded(15, 250)
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(config),
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        "unsupported_method",
        "--max-examples",
        str(examples),
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--output-sanitize",
        "false",
        "--no-color",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(tmp_path / "events.ndjson"),
        *([] if DEEP else ["--seed", "20261127"]),  # bounded: the same cases every run; deep: new ones
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.reliability.schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    offset = server.log_offset()
    for _attempt in range(2):
        run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=bounded(300, 3600))
        output = run.stdout + run.stderr
        # Python 3.11 sometimes crashes inside schemathesis itself with this SystemError (an
        # interpreter bug, seen about once in five runs): a crash of the tool, not a finding, so
        # it gets one more run, and the figures say so.
        if CPYTHON_AST_BUG not in output:
            break
        figures("schemathesis rerun after CPython's AST recursion bug", True)
    statuses = server.statuses_since(offset)

    cases = re.search(r"(\d+) generated", output)
    seed = re.search(r"Seed: (\d+)", output)
    failures = re.search(r"(\d+) found (\d+) unique failures", output)
    figures("schemathesis cases", int(cases.group(1)) if cases else "?")
    figures("schemathesis unique failures", int(failures.group(2)) if failures else 0)
    figures("schemathesis seed", seed.group(1) if seed else "?")
    figures("server statuses", dict(sorted(statuses.items())))
    # The object-level authorization check replays tenant A's reads with tenant B's key.
    events = (tmp_path / "events.ndjson").read_text(encoding="utf-8") if (tmp_path / "events.ndjson").exists() else ""
    probes = events.count(server.keys[TENANT_B])
    figures("requests sent as tenant B (cross-tenant probes)", probes)

    assert run.returncode == 0, f"schemathesis reported failures (exit {run.returncode}):\n{output[-20000:]}"
    assert "No issues found" in output, output[-5000:]
    assert not [status for status in statuses if status >= 500], f"5xx answered: {statuses}"
    assert cases is not None, output[-3000:]
    assert int(cases.group(1)) >= (1000 if DEEP else 200), output[-3000:]
    assert probes > 0, "no cross-tenant probe was sent"
