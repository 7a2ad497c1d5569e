"""What the domain needs from the outside world; adapters (and the tests' fakes) provide it.

Stores raise `StoreUnavailable` for throttling and outages, `TodoNotFound` and `VersionConflict`
for failed conditions; nothing of the storage technology leaks through these methods.
"""

from typing import TYPE_CHECKING, Any, Protocol

# The versions a conditional change accepts: None for any, an empty set for none at all.
Versions = frozenset[int] | None

if TYPE_CHECKING:
    from todo_api.domain.keys import KeyRecord
    from todo_api.domain.models import ActivityEvent, Todo


class TodoStore(Protocol):
    def create(self, tenant: str, todo: "Todo") -> "Todo":
        """Store a new todo; a retry that meets its own identical item succeeds."""

    def create_once(self, tenant: str, todo: "Todo", key: str, fingerprint: str) -> "Todo":
        """Store the todo and claim (tenant, key) for it in one atomic step.

        When the key is already claimed with the same fingerprint, nothing is written and the
        claim's first todo is returned; with another fingerprint, IdempotencyKeyReused; while
        another request is claiming it at the same moment, IdempotencyKeyInUse.
        """

    def get(self, tenant: str, todo_id: str) -> "Todo": ...

    def list(
        self, tenant: str, limit: int, after_id: str | None, completed: bool | None
    ) -> "tuple[list[Todo], str | None]":
        """A page, oldest first, and the id to continue after (None on the last page)."""

    def update(
        self, tenant: str, todo_id: str, changes: dict[str, Any], updated_at: str, expected: "Versions"
    ) -> "Todo":
        """Apply the changes and bump the version, in one atomic step, if the version is expected.

        The todo's `updated_at` becomes `updated_at`, or stays the stored one where that is later:
        it never goes backward, so a todo's versions and change times sort alike."""

    def delete(self, tenant: str, todo_id: str, expected: "Versions", deleted_at: str) -> None:
        """Delete the todo if its version is expected, remembering when (see `Tombstones`)."""


class Tombstones(Protocol):
    def deleted_at(self, tenant: str, todo_id: str) -> str | None:
        """When the todo was deleted, to the millisecond, for as long as the stream may deliver it."""


class ActivityStore(Protocol):
    def add(self, tenant: str, event: "ActivityEvent") -> bool:
        """Store the event once; False when it was already there (a redelivery)."""

    def list(self, tenant: str, limit: int, after_id: str | None) -> "tuple[list[ActivityEvent], str | None]":
        """A page, newest first, and the event id to continue after (None on the last page)."""


class EventBus(Protocol):
    def publish(self, tenant: str, event: "ActivityEvent") -> None: ...


class KeyStore(Protocol):
    def find(self, api_key: str) -> "KeyRecord | None": ...

    def add(self, tenant: str, api_key: str) -> None: ...

    def revoke(self, api_key: str) -> "KeyRecord | None":
        """Delete the key; its former record (None if there was none)."""
