"""Fair capacity through `make start`'s real server: one tenant's flood and one user's flood are
answered 429 with Retry-After and the contract's JSON body, while another tenant and another user,
calling in the same seconds, get every answer they asked for; a tenant's daily quota holds exactly
under concurrent requests; and the cap on stored todos holds under concurrent creates.

The limits are test-sized template parameters (TEMPLATE_PARAMETERS), chosen so that no outcome
depends on how fast this machine is: the quiet callers stay within their bursts whatever the
timing, the flooding tenant meets its daily quota (a count, not a rate), and the flooding user
sends more requests than any burst plus rate can allow in the time any request takes here.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devtools import oidc
from devtools.local.serve import Served, served

TENANT_QUOTA = 12
TENANT_BURST = 40  # above any flood here: the flooding tenant meets its quota, never its rate
USER_BURST = 3
USER_RATE = 1
TODO_CAP = 3
PARAMETERS = {
    "TenantRateLimit": 1,
    "TenantBurstLimit": TENANT_BURST,
    "TenantQuotaPerDay": TENANT_QUOTA,
    "UserRateLimit": USER_RATE,
    "UserBurstLimit": USER_BURST,
    "UserQuotaPerDay": 1000,
    "TodoCap": TODO_CAP,
}
TENANTS = ("noisy", "quiet", "capped", "racing")
KEYS = {tenant: f"{tenant}-{secrets.token_hex(12)}" for tenant in TENANTS}


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    parameters = " ".join(f"{name}={value}" for name, value in PARAMETERS.items())
    with served(KEYS, env={"TEMPLATE_PARAMETERS": parameters}) as local:
        yield local


def token(server: Served, user: str) -> str:
    folder = server.data_dir / "oidc"
    return oidc.issue(oidc.issuer_url(folder), user, folder=folder)


def key_headers(tenant: str) -> dict[str, str]:
    return {"x-api-key": KEYS[tenant]}


def call(
    session: requests.Session,
    server: Served,
    headers: dict[str, str],
    method: str = "GET",
    path: str = "/todos",
    **options: Any,
) -> requests.Response:
    return session.request(method, server.url + path, headers=headers, timeout=60, **options)


def flood(server: Served, headers: dict[str, str], at_least: int, until: threading.Event) -> list[requests.Response]:
    """Requests from three threads until `until` is set and `at_least` were answered (at most 400)."""
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def worker() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    if len(answers) >= 400 or (until.is_set() and len(answers) >= at_least):
                        return
                answer = call(session, server, headers)
                with lock:
                    answers.append(answer)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return answers


def assert_throttled(answer: requests.Response, error: str) -> None:
    assert answer.status_code == 429
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == {"error": error}
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.headers["Access-Control-Expose-Headers"] == "ETag, Location, Retry-After"


def test_floods_are_throttled_while_the_quiet_tenant_and_user_are_served(server: Served) -> None:
    alice, bob = token(server, "alice-flood"), token(server, "bob-quiet")
    results: dict[str, list[requests.Response]] = {}
    quiet: dict[str, list[int]] = {"tenant": [], "user": []}
    quiet_done = threading.Event()

    def run(name: str, headers: dict[str, str], at_least: int) -> None:
        results[name] = flood(server, headers, at_least, quiet_done)

    floods = [
        threading.Thread(target=run, args=("tenant", key_headers("noisy"), 2 * TENANT_QUOTA)),
        threading.Thread(target=run, args=("user", {"Authorization": f"Bearer {alice}"}, 30)),
    ]
    for thread in floods:
        thread.start()
    try:
        with requests.Session() as session:  # within both quiet callers' bursts, whatever the timing
            for _ in range(USER_BURST):
                quiet["tenant"].append(call(session, server, key_headers("quiet")).status_code)
                quiet["user"].append(call(session, server, {"Authorization": f"Bearer {bob}"}).status_code)
    finally:
        quiet_done.set()  # the floods go on until now: the quiet callers were answered during them
        for thread in floods:
            thread.join(300)

    tenant_statuses = Counter(answer.status_code for answer in results["tenant"])
    user_statuses = Counter(answer.status_code for answer in results["user"])
    print(f"[fair capacity] noisy tenant {dict(tenant_statuses)}, noisy user {dict(user_statuses)}, quiet {quiet}")
    # The quiet callers: every request answered, in the same seconds as the floods.
    assert quiet == {"tenant": [200] * USER_BURST, "user": [200] * USER_BURST}
    # The noisy tenant: exactly its daily quota served, although its requests raced each other.
    assert tenant_statuses[200] == TENANT_QUOTA
    assert set(tenant_statuses) == {200, 429}
    for answer in results["tenant"]:
        if answer.status_code == 429:
            assert_throttled(answer, "Daily request quota exceeded")
    # The noisy user: its burst and rate spent, the rest 429 with Retry-After; never a server error.
    assert set(user_statuses) == {200, 429}
    for answer in results["user"]:
        if answer.status_code == 429:
            assert_throttled(answer, "Too many requests")


def create(session: requests.Session, server: Served, tenant: str, title: str) -> requests.Response:
    return call(session, server, key_headers(tenant), "POST", json={"title": title})


def stored(session: requests.Session, server: Served, tenant: str) -> list[str]:
    return [
        item["title"] for item in call(session, server, key_headers(tenant), path="/todos?limit=100").json()["items"]
    ]


def test_over_the_cap_of_stored_todos_a_create_is_409_naming_it_and_writes_nothing(server: Served) -> None:
    with requests.Session() as session:
        made = [create(session, server, "capped", f"t{i}") for i in range(TODO_CAP)]
        assert [answer.status_code for answer in made] == [201] * TODO_CAP
        refused = create(session, server, "capped", "one too many")
        assert refused.status_code == 409
        assert refused.json() == {
            "error": f"The cap of {TODO_CAP} stored todos is reached: delete todos to create new ones"
        }
        assert "Retry-After" not in refused.headers  # waiting does not help: deleting does
        keyed = call(session, server, {**key_headers("capped"), "Idempotency-Key": "k-1"}, "POST", json={"title": "k"})
        assert keyed.status_code == 409
        assert sorted(stored(session, server, "capped")) == [f"t{i}" for i in range(TODO_CAP)]
        # A delete makes room for one more, and only one.
        assert (
            call(session, server, key_headers("capped"), "DELETE", f"/todos/{made[0].json()['id']}").status_code == 200
        )
        assert create(session, server, "capped", "again").status_code == 201
        assert create(session, server, "capped", "and again").status_code == 409


def test_the_cap_holds_when_creates_race(server: Served) -> None:
    def one(index: int) -> int:
        with requests.Session() as session:
            return create(session, server, "racing", f"r{index}").status_code

    threads = 8
    statuses: list[int] = []
    workers = [threading.Thread(target=lambda i=i: statuses.append(one(i))) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    print(f"[fair capacity] {threads} racing creates under a cap of {TODO_CAP}: {sorted(statuses)}")
    assert statuses.count(201) == TODO_CAP
    assert set(statuses) <= {201, 409, 503}  # 503 (with Retry-After): the counter stayed busy
    with requests.Session() as session:
        assert len(stored(session, server, "racing")) == TODO_CAP
