"""Fair capacity: each tenant's and each user's rate, burst and daily quota, without any SDK.

Every caller (a subject: `tenant#<tenant>` or `user#<sub>`) has one stored `Usage`: a token bucket
kept as GCRA's theoretical arrival time (`tat_ms`: when the bucket would be full again if every
request so far had come at exactly `rate` per second) and the requests counted on one UTC day.
A request at `now` is allowed when

    max(tat, now) + interval - now <= burst * interval       (interval = 1000 / rate ms)

that is, at most `burst` requests at once, then `rate` per second, and while fewer than
`quota_per_day` requests were counted today. The answer to a refused one says when to retry:
the moment the inequality holds again, or the next UTC midnight for the quota.

The store spends one request in one conditional write whenever the stored state lies within
the `Window` of `fast_path` (a caller who is busy right now, the case a flood is made of); a
caller idle today costs that write, which fails, and a second atomic one (the idle path); a new
caller or a new day is decided by `decide` and written with a compare-and-set on the state read.
"""

from dataclasses import dataclass
from typing import Literal, Protocol

from todo_api.domain.auth import USER_TENANT_PREFIX

DAY_MS = 86_400_000
MAX_ATTEMPTS = 4  # rounds before a caller whose requests race each other is told to retry


@dataclass(frozen=True)
class Limits:
    """One caller's limits: requests per second, requests at once, requests per UTC day."""

    rate: int
    burst: int
    quota_per_day: int

    def __post_init__(self) -> None:
        if self.rate < 1 or self.burst < 1 or self.quota_per_day < 1:
            raise ValueError(f"limits must be positive: {self}")

    @property
    def interval_ms(self) -> int:
        return -(-1000 // self.rate)  # rounded up: never more than `rate` per second


@dataclass(frozen=True)
class Usage:
    """A caller's stored state: the bucket's theoretical arrival time, the day and its count."""

    tat_ms: int
    day: int
    used: int


@dataclass(frozen=True)
class Window:
    """A stored state with `tat_floor <= tat_ms <= tat_ceiling`, `day == day` and `used < quota`
    allows the request, which adds `interval_ms` to `tat_ms` and one to `used`."""

    tat_floor: int
    tat_ceiling: int
    day: int
    quota: int
    interval_ms: int


@dataclass(frozen=True)
class Refusal:
    """A refused request: why (`rate` covers the burst too), and whole seconds to wait."""

    reason: Literal["rate", "quota"]
    retry_after: int

    @property
    def message(self) -> str:
        if self.reason == "quota":
            return "Daily request quota exceeded"
        return "Too many requests"


def fast_path(limits: Limits, now_ms: int) -> Window:
    """The states in which a request at `now_ms` is allowed by adding to the stored counts alone."""
    interval = limits.interval_ms
    return Window(
        tat_floor=now_ms,
        tat_ceiling=now_ms + (limits.burst - 1) * interval,
        day=now_ms // DAY_MS,
        quota=limits.quota_per_day,
        interval_ms=interval,
    )


def _seconds(ms: int) -> int:
    return max(1, -(-ms // 1000))


def decide(limits: Limits, current: Usage | None, now_ms: int) -> Usage | Refusal:
    """The state after a request at `now_ms` is allowed, or why it is refused."""
    today = now_ms // DAY_MS
    used = current.used if current is not None and current.day == today else 0
    if used >= limits.quota_per_day:
        return Refusal("quota", _seconds((today + 1) * DAY_MS - now_ms))
    interval = limits.interval_ms
    tat = max(current.tat_ms if current is not None else now_ms, now_ms) + interval
    over = tat - now_ms - limits.burst * interval
    if over > 0:
        return Refusal("rate", _seconds(over))
    return Usage(tat_ms=tat, day=today, used=used + 1)


class UsageStore(Protocol):
    def spend_within(self, subject: str, window: Window) -> tuple[bool, Usage | None]:
        """Spend one request if the stored state is within `window`: (True, None); else
        (False, the stored state, None if there is none), writing nothing."""

    def spend_idle(self, subject: str, window: Window) -> bool:
        """Spend one request of a caller idle today (`tat_ms < tat_floor`, `day == day`, `used <
        quota`): `tat_ms` becomes `tat_floor + interval_ms`, `used` one more. False, writing
        nothing, if the state is no longer so."""

    def replace(self, subject: str, expected: Usage | None, new: Usage) -> tuple[bool, Usage | None]:
        """Store `new` if the stored state is still `expected` (None: no state): (True, None); else
        (False, the stored state), writing nothing."""


class Limiter:
    """Spends one request of a subject's limits: None when allowed, else the `Refusal`.

    `clock_ms` is wall-clock milliseconds (injected: tests move it instead of sleeping); every
    container must agree on it, as Lambda's clocks do to within milliseconds.
    """

    def __init__(self, store: UsageStore, clock_ms: "ClockMs", hints: int = 4096) -> None:
        self._store = store
        self._clock = clock_ms
        # The last bucket time this container wrote per subject: a caller it last served idle and
        # whose bucket has run dry since is tried on the idle path first (one call, not two). A
        # hint is only a guess: a wrong one costs one failed conditional write.
        self._hints: dict[str, int] = {}
        self._max_hints = hints

    def spend(self, subject: str, limits: Limits) -> Refusal | None:
        """Each round tries the busy path first; an idle caller of today is served by the idle
        path's one atomic write (no value to race for); only a new caller or a new day is written
        by compare-and-set, and a request that loses it finds the caller busy in the next round."""
        now = self._clock()
        window = fast_path(limits, now)
        hint = self._hints.pop(subject, None)
        if hint is not None and hint < window.tat_floor and self._store.spend_idle(subject, window):
            self._remember(subject, window.tat_floor + window.interval_ms)
            return None
        for _ in range(MAX_ATTEMPTS):
            spent, current = self._store.spend_within(subject, window)
            if spent:
                return None
            outcome = decide(limits, current, now)
            if isinstance(outcome, Refusal):
                return outcome
            if current is not None and current.day == window.day and current.tat_ms < window.tat_floor:
                spent = self._store.spend_idle(subject, window)
            else:
                spent = self._store.replace(subject, current, outcome)[0]
            if spent:
                self._remember(subject, outcome.tat_ms)
                return None
        return Refusal("rate", 1)  # its own requests keep racing: busy, retry

    def _remember(self, subject: str, tat_ms: int) -> None:
        if len(self._hints) >= self._max_hints:
            self._hints.clear()
        self._hints[subject] = tat_ms


class Capacity:
    """The limits of every caller: a request spends each of its `budgets` in turn, and the first
    that refuses answers for all (the ones spent before it stay spent)."""

    def __init__(self, limiter: Limiter, tenant_limits: Limits, user_limits: Limits) -> None:
        self._limiter = limiter
        self._tenant = tenant_limits
        self._user = user_limits

    def admit(self, tenant: str, user: str | None) -> Refusal | None:
        for subject, limits in budgets(tenant, user, self._tenant, self._user):
            refusal = self._limiter.spend(subject, limits)
            if refusal is not None:
                return refusal
        return None


class ClockMs(Protocol):
    def __call__(self) -> int: ...


def budgets(tenant: str, user: str | None, tenant_limits: Limits, user_limits: Limits) -> list[tuple[str, Limits]]:
    """The subjects a request spends, in order, with their limits: an API key's request its
    tenant's; a signed-in user's request the user's, then (a user in a team's tenant, by the tenant
    claim) the team's. The user comes first, so that a user's refused flood spends nothing of
    the team's. A user whose tenant is their own (`user#<sub>`) is one subject, under user limits."""
    if user is None:
        return [(f"tenant#{tenant}", tenant_limits)]
    own = (f"user#{user}", user_limits)
    return [own] if tenant == USER_TENANT_PREFIX + user else [own, (f"tenant#{tenant}", tenant_limits)]
