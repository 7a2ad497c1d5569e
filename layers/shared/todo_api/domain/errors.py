"""Domain errors. The domain raises these; `todo_api.http.errors` alone maps them to HTTP."""


class TodoError(Exception):
    """Base class of every expected failure."""

    message = "Request failed"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class BadRequest(TodoError):
    message = "Invalid request"


class InvalidCursor(BadRequest):
    message = "Invalid cursor"


class PayloadTooLarge(TodoError):
    message = "Request body too large (limit 65536 bytes)"


class UnsupportedMediaType(TodoError):
    message = "Content-Type must be application/json, in UTF-8"


class Unauthenticated(TodoError):
    message = "Missing or invalid API key"


class TodoNotFound(TodoError):
    message = "Todo not found"


class VersionConflict(TodoError):
    message = "Version mismatch: the todo was changed by another request"


class IdempotencyKeyReused(TodoError):
    message = "Idempotency-Key was already used with a different body"


class IdempotencyKeyInUse(TodoError):
    message = "A request with this Idempotency-Key is still in progress"


class TenantStorageFull(TodoError):
    """The tenant's partition holds all it may: its todos share one partition key, and a table with a
    local secondary index caps a partition key's items (the item collection) at 10 GB."""

    message = "The tenant's storage is full (10 GB of todos per tenant): delete todos to make room"


class StoreUnavailable(TodoError):
    message = "Storage is busy or unavailable, retry later"


class TodoCapReached(TodoError):
    """The tenant stores as many todos as its cap allows: a create writes nothing."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"The cap of {cap} stored todos is reached: delete todos to create new ones")
        self.cap = cap
