"""The limiter on DynamoDB Local (todo_api.adapters.usage_store through todo_api.domain.capacity):
bursts, rates and quotas spent on the real table, one call per request while a caller is busy,
and the quota exact when one caller's requests race each other from many threads."""

import threading
import time
import uuid
from collections.abc import Callable

import pytest

from devtools.emulator import dynamodb
from todo_api.adapters.usage_store import DynamoDBUsageStore
from todo_api.domain.capacity import DAY_MS, Capacity, Limiter, Limits, Refusal

TABLE = "todo-local-UsageTable"
# Tomorrow's noon (UTC): the items' TTL lies ahead, so DynamoDB Local's TTL never deletes them mid-test.
NOON = (time.time_ns() // 1_000_000 // DAY_MS + 1) * DAY_MS + DAY_MS // 2


def at_once(caller: Callable[[], None], count: int) -> None:
    """`caller` in `count` threads started together; returns when all have ended (60 s at most each)."""
    threads = [threading.Thread(target=caller) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


class Clock:
    def __init__(self, now: int = NOON) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def client(ddb: dynamodb.DynamoDBLocal):  # type: ignore[no-untyped-def]
    return dynamodb.client(ddb.endpoint)


@pytest.fixture
def subject() -> str:
    return f"tenant#t-{uuid.uuid4().hex[:10]}"


def count_calls(client) -> Callable[[], list[str]]:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    return lambda: calls


def test_a_burst_then_the_rate_then_one_interval_later(client, subject: str) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    limiter = Limiter(DynamoDBUsageStore(client, TABLE), clock)
    limits = Limits(rate=2, burst=3, quota_per_day=100)
    assert [limiter.spend(subject, limits) for _ in range(4)] == [None, None, None, Refusal("rate", 1)]
    clock.now += 500
    assert [limiter.spend(subject, limits) for _ in range(2)] == [None, Refusal("rate", 1)]
    item = client.get_item(TableName=TABLE, Key={"id": {"S": subject}}, ConsistentRead=True)["Item"]
    assert (item["used"]["N"], item["day"]["N"]) == ("4", str(NOON // DAY_MS))
    assert int(item["expires_at"]["N"]) == (NOON // DAY_MS + 2) * 86_400  # TTL: two days after its day


def test_a_busy_caller_costs_one_call_per_request_and_a_refusal_one_call_too(client, subject: str) -> None:  # type: ignore[no-untyped-def]
    limiter = Limiter(DynamoDBUsageStore(client, TABLE), Clock())
    limits = Limits(rate=1, burst=5, quota_per_day=100)
    assert limiter.spend(subject, limits) is None  # a new caller: the fast path fails, then a put
    calls = count_calls(client)
    assert [limiter.spend(subject, limits) for _ in range(5)] == [None, None, None, None, Refusal("rate", 1)]
    assert calls() == ["UpdateItem"] * 5


def test_the_quota_holds_exactly_when_one_callers_requests_race(client, subject: str) -> None:  # type: ignore[no-untyped-def]
    quota = 7
    limits = Limits(rate=1000, burst=1000, quota_per_day=quota)
    clock = Clock()
    outcomes: list[Refusal | None] = []
    lock = threading.Lock()

    def caller() -> None:
        limiter = Limiter(DynamoDBUsageStore(dynamodb.client(client.meta.endpoint_url), TABLE), clock)
        for _ in range(3):
            outcome = limiter.spend(subject, limits)
            with lock:
                outcomes.append(outcome)

    at_once(caller, 8)
    assert outcomes.count(None) == quota
    assert {o.reason for o in outcomes if o is not None} <= {"quota", "rate"}
    assert sum(1 for o in outcomes if o is not None and o.reason == "quota") >= 1


def test_a_team_users_refusal_spends_nothing_of_the_team(client) -> None:  # type: ignore[no-untyped-def]
    team, user = f"team-{uuid.uuid4().hex[:8]}", f"u-{uuid.uuid4().hex[:8]}"
    capacity = Capacity(
        Limiter(DynamoDBUsageStore(client, TABLE), Clock()),
        tenant_limits=Limits(rate=1, burst=100, quota_per_day=1000),
        user_limits=Limits(rate=1, burst=2, quota_per_day=1000),
    )
    outcomes = [capacity.admit(team, user) for _ in range(4)]
    assert outcomes == [None, None, Refusal("rate", 1), Refusal("rate", 1)]
    item = client.get_item(TableName=TABLE, Key={"id": {"S": f"tenant#{team}"}}, ConsistentRead=True)["Item"]
    assert item["used"]["N"] == "2"


def test_a_new_callers_concurrent_burst_is_served_whole(client, subject: str) -> None:  # type: ignore[no-untyped-def]
    """Eight first requests at once, within the burst: all served, although they race to make the
    caller's item and to set its first state."""
    limits = Limits(rate=1, burst=8, quota_per_day=100)
    clock = Clock()
    outcomes: list[Refusal | None] = []

    def caller() -> None:
        limiter = Limiter(DynamoDBUsageStore(dynamodb.client(client.meta.endpoint_url), TABLE), clock)
        outcomes.append(limiter.spend(subject, limits))

    at_once(caller, 8)
    assert outcomes == [None] * 8
    assert Limiter(DynamoDBUsageStore(client, TABLE), clock).spend(subject, limits) == Refusal("rate", 1)


def test_an_idle_callers_concurrent_burst_is_served_whole_by_atomic_writes(client, subject: str) -> None:  # type: ignore[no-untyped-def]
    """A caller idle since a minute, then eight requests at once within the burst: all served,
    each by at most two conditional UpdateItems (never a compare-and-set to race for)."""
    limits = Limits(rate=1, burst=8, quota_per_day=100)
    clock = Clock()
    assert Limiter(DynamoDBUsageStore(client, TABLE), clock).spend(subject, limits) is None
    clock.now += 60_000
    outcomes: list[Refusal | None] = []
    calls: list[str] = []

    def caller() -> None:
        own = dynamodb.client(client.meta.endpoint_url)
        own.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
        outcomes.append(Limiter(DynamoDBUsageStore(own, TABLE), clock).spend(subject, limits))

    at_once(caller, 8)
    assert outcomes == [None] * 8
    assert set(calls) == {"UpdateItem"}
    assert len(calls) <= 3 * 8  # the busy path, the idle path, and the busy path again for its losers


def test_a_quiet_caller_costs_one_call_per_request_once_the_container_knows_it(client, subject: str) -> None:  # type: ignore[no-untyped-def]
    """A caller below its rate finds its bucket run dry on every request: the container that served
    it last tries the idle path first, one write, and a wrong guess costs one failed write only."""
    clock = Clock()
    limiter = Limiter(DynamoDBUsageStore(client, TABLE), clock)
    limits = Limits(rate=1, burst=5, quota_per_day=100)
    assert limiter.spend(subject, limits) is None
    calls = count_calls(client)
    for _ in range(3):
        clock.now += 2_000
        assert limiter.spend(subject, limits) is None
    assert calls() == ["UpdateItem"] * 3
    other = Limiter(DynamoDBUsageStore(client, TABLE), clock)  # another container: no guess, two writes
    clock.now += 2_000
    assert other.spend(subject, limits) is None
    assert calls() == ["UpdateItem"] * 5
    item = client.get_item(TableName=TABLE, Key={"id": {"S": subject}}, ConsistentRead=True)["Item"]
    assert (item["used"]["N"], item["tat"]["N"]) == ("5", str(clock.now + 1000))
