"""The capacity rules (todo_api.domain.capacity): burst, rate and daily quota per caller, the
answers' Retry-After, the fast path that the store's one conditional write stands for, and which
budgets a request spends."""

from hypothesis import given
from hypothesis import strategies as st

from todo_api.domain.capacity import DAY_MS, Limits, Refusal, Usage, budgets, decide, fast_path

LIMITS = Limits(rate=2, burst=3, quota_per_day=100)  # 500 ms per request, three at once
NOON = 20_000 * DAY_MS + DAY_MS // 2


def run(limits: Limits, times: list[int], state: Usage | None = None) -> list[Usage | Refusal]:
    outcomes: list[Usage | Refusal] = []
    for now in times:
        outcome = decide(limits, state, now)
        if isinstance(outcome, Usage):
            state = outcome
        outcomes.append(outcome)
    return outcomes


def test_a_burst_is_served_at_once_then_the_rate_with_the_seconds_to_wait() -> None:
    outcomes = run(LIMITS, [NOON] * 4)
    assert [isinstance(o, Usage) for o in outcomes] == [True, True, True, False]
    assert outcomes[3] == Refusal("rate", 1)
    assert outcomes[3].message == "Too many requests"


def test_one_interval_later_one_more_request_is_served_and_no_more() -> None:
    outcomes = run(LIMITS, [NOON, NOON, NOON, NOON + 500, NOON + 500])
    assert [isinstance(o, Usage) for o in outcomes] == [True, True, True, True, False]


def test_the_wait_grows_with_how_far_the_bucket_is_overdrawn() -> None:
    slow = Limits(rate=1, burst=1, quota_per_day=100)
    state = Usage(tat_ms=NOON + 4_200, day=NOON // DAY_MS, used=5)  # 4.2 s of requests ahead
    assert decide(slow, state, NOON) == Refusal("rate", 5)


def test_an_idle_caller_saves_no_more_than_one_burst() -> None:
    idle = Usage(tat_ms=NOON - 3_600_000, day=NOON // DAY_MS, used=10)
    outcomes = run(LIMITS, [NOON] * 5, idle)
    assert [isinstance(o, Usage) for o in outcomes] == [True, True, True, False, False]


def test_the_daily_quota_refuses_until_midnight_utc_and_a_new_day_starts_at_zero() -> None:
    limits = Limits(rate=1000, burst=1000, quota_per_day=3)
    spent = Usage(tat_ms=NOON, day=NOON // DAY_MS, used=3)
    refusal = decide(limits, spent, NOON)
    assert refusal == Refusal("quota", DAY_MS // 2 // 1000)
    assert refusal.message == "Daily request quota exceeded"
    tomorrow = decide(limits, spent, NOON + DAY_MS // 2)
    assert isinstance(tomorrow, Usage)
    assert (tomorrow.day, tomorrow.used) == (NOON // DAY_MS + 1, 1)


def test_a_new_caller_starts_with_a_full_bucket() -> None:
    assert decide(LIMITS, None, NOON) == Usage(tat_ms=NOON + 500, day=NOON // DAY_MS, used=1)


limits_st = st.builds(
    Limits,
    rate=st.integers(1, 5000),
    burst=st.integers(1, 100),
    quota_per_day=st.integers(1, 1000),
)


@given(
    limits=limits_st,
    offset=st.integers(-10_000, 200_000),
    used=st.integers(0, 1200),
    day_shift=st.integers(-1, 0),
)
def test_the_fast_path_allows_exactly_what_decide_allows_for_a_busy_caller(
    limits: Limits, offset: int, used: int, day_shift: int
) -> None:
    """The store's one conditional write (state within the window: add one interval and one
    request) must agree with the rules: inside the window, `decide` gives that very state; a busy
    caller (tat not in the past, same day) outside it is refused by `decide` too."""
    now = NOON
    state = Usage(tat_ms=now + offset, day=now // DAY_MS + day_shift, used=used)
    window = fast_path(limits, now)
    inside = window.tat_floor <= state.tat_ms <= window.tat_ceiling and state.day == window.day and used < window.quota
    outcome = decide(limits, state, now)
    if inside:
        assert outcome == Usage(state.tat_ms + window.interval_ms, state.day, used + 1)
    elif state.tat_ms >= now and state.day == window.day:
        assert isinstance(outcome, Refusal)


def test_a_key_spends_its_tenants_budget() -> None:
    tenant, user = Limits(10, 20, 1000), Limits(5, 10, 100)
    assert budgets("acme", None, tenant, user) == [("tenant#acme", tenant)]


def test_a_user_with_a_tenant_of_their_own_spends_one_budget_under_user_limits() -> None:
    tenant, user = Limits(10, 20, 1000), Limits(5, 10, 100)
    assert budgets("user#u1", "u1", tenant, user) == [("user#u1", user)]


def test_a_user_of_a_team_spends_their_own_budget_then_the_teams() -> None:
    tenant, user = Limits(10, 20, 1000), Limits(5, 10, 100)
    assert budgets("acme", "u1", tenant, user) == [("user#u1", user), ("tenant#acme", tenant)]
