"""Schemathesis hooks of the contract fuzzer (loaded by `st` through SCHEMATHESIS_HOOKS).

Idempotency-Key: a key reused with the same body replays the first response, and with another
body answers 422 (the contract). Schemathesis draws keys from a small space and reuses them across
unrelated cases, so without this a replay of a todo deleted since then, or a 422, is reported as
a failure of a schema-valid request. Each call gets its own key: the drawn value, made unique
(the drawn value, a run id and a call number: still 1 to 128 printable ASCII characters).
Reuse itself is tested in test_faults.py and tests/integration.
"""

import itertools
import re
import secrets
from typing import Any

import schemathesis

_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
_calls = itertools.count()
_RUN = secrets.token_hex(4)  # the server may outlive one run: keys of an earlier run must not match


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    for name in list(case.headers or {}):
        value = case.headers[name]
        if name.lower() == "idempotency-key" and isinstance(value, str) and _VALID_KEY.match(value):
            case.headers[name] = f"{value[:100]}.{_RUN}.{next(_calls)}"
