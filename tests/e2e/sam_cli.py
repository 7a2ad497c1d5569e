"""Where SAM CLI's emulator (`sam local start-api`) answers otherwise than API Gateway: declared once.

`make sam-local-e2e` runs this suite against `sam local start-api` with `TODO_API_EMULATOR=sam-cli`.
Then, for each test:

- listed with an `Answer`: the test must fail, and one of the responses it received must be exactly
  that answer (status and JSON body). It is reported as a held difference. If it passes, or fails
  without that answer among its responses, it fails: the difference changed, update this file.
- listed with a `Skip`: it cannot run under SAM CLI at all (said in the skip reason).
- not listed: it must pass. A new difference of SAM CLI fails the suite.

Patterns are node ids relative to `tests/e2e/`, with `*` matching anything (brackets are literal).
Measured with aws-sam-cli 1.170.0 (requirements/dev.lock.txt).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class Answer:
    """What SAM CLI answers in the test, instead of the contract's answer."""

    status: int
    body: Any
    why: str

    def matches(self, status: int, body: Any) -> bool:
        return status == self.status and body == self.body

    def __str__(self) -> str:
        return f"{self.status} {self.body} ({self.why})"


@dataclass(frozen=True)
class Skip:
    """A test that cannot run under SAM CLI."""

    why: str


# SAM CLI passes an authorizer's exception on as a 502 of its own, where API Gateway answers 401 to
# exactly "Unauthorized" (the template's UNAUTHORIZED gateway response). The authorizer has no
# identity source (a key or a token), so a request without either reaches it too: the same 502.
UNKNOWN_KEY = Answer(502, {"message": "Internal server error"}, "an authorizer's 'Unauthorized' becomes 502")
# No route or method: SAM CLI's 403, where API Gateway uses MISSING_AUTHENTICATION_TOKEN (404 here).
NO_ROUTE = Answer(403, {"message": "Missing Authentication Token"}, "SAM CLI's 403 for an unknown route or method")
# HEAD of a GET route: SAM CLI's Flask answers it and the function's response is dropped: 502, no body.
HEAD = Answer(502, "", "SAM CLI answers HEAD of a GET route 502 with an empty body")
# A text body that is not UTF-8: SAM CLI's gateway fails decoding it (UnicodeDecodeError), where API
# Gateway hands the function U+FFFD in place of the bad bytes (and the function answers 415).
NOT_UTF8 = Answer(502, {"message": "Internal server error"}, "SAM CLI cannot decode a body that is not UTF-8")

DIFFERENCES: dict[str, Answer | Skip] = {
    "test_e2e_errors.py::test_missing_or_unknown_key_is_401_and_changes_nothing[*-missing]": UNKNOWN_KEY,
    "test_e2e_errors.py::test_missing_or_unknown_key_is_401_and_changes_nothing[*-empty]": UNKNOWN_KEY,
    "test_e2e_errors.py::test_missing_or_unknown_key_is_401_and_changes_nothing[*-unknown]": UNKNOWN_KEY,
    "test_e2e_errors.py::test_unknown_route_is_404_or_405[*]": NO_ROUTE,
    "test_e2e_errors.py::test_unsupported_method_is_404_or_405_and_changes_nothing[*]": NO_ROUTE,
    "test_e2e_errors.py::test_methods_outside_the_contract_are_no_server_error[*-HEAD]": HEAD,
    "test_e2e_errors.py::test_body_in_another_charset_than_utf8_is_415_and_writes_nothing[*]": NOT_UTF8,
}


@cache
def _compiled() -> list[tuple[re.Pattern[str], Answer | Skip]]:
    return [(re.compile(re.escape(p).replace(r"\*", ".*") + r"\Z"), d) for p, d in DIFFERENCES.items()]


def declared(nodeid: str) -> Answer | Skip | None:
    """The declared difference of a test (`nodeid` as pytest gives it), or None."""
    relative = nodeid.split("tests/e2e/", 1)[-1]
    found = [difference for pattern, difference in _compiled() if pattern.match(relative)]
    if len(found) > 1:
        raise AssertionError(f"{relative} matches {len(found)} entries of tests/e2e/sam_cli.py; make them disjoint")
    return found[0] if found else None
