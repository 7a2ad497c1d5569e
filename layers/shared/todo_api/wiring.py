"""The one place that builds clients, adapters and services, each once per container.

Handlers ask here for what they use; modules are imported on first use, so that a function
loads only its own adapters at cold start (the activity feed only for its two functions,
the key store only for the authorizer, which loads neither pydantic nor the todo models: it reads
`todo_api.authorizer_settings`, the API functions `todo_api.settings`). `reset()` forgets
everything (for tests).
"""

from functools import cache
from typing import TYPE_CHECKING, Any

from todo_api.adapters import clients
from todo_api.authorizer_settings import get_authorizer_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

    from todo_api.adapters.tokens import TokenVerifier
    from todo_api.domain.activity import ActivityFeed, StreamConsumer
    from todo_api.domain.auth import CachedKeys
    from todo_api.domain.capacity import Capacity
    from todo_api.domain.cursor import CursorSigner
    from todo_api.domain.models import ActivityEvent
    from todo_api.domain.ports import KeyStore
    from todo_api.domain.todos import TodoService
    from todo_api.settings import Settings


@cache
def dynamodb() -> "DynamoDBClient":
    return clients.dynamodb_client()


@cache
def events() -> Any:
    return clients.events_client()


def _settings() -> "Settings":
    from todo_api.settings import get_settings

    return get_settings()


def _table_name() -> str:
    return _settings().require("table_name")


@cache
def cursor_signer() -> "CursorSigner":
    """The list functions' cursor keys (CURSOR_SECRET, and CURSOR_SECRET_PREVIOUS during a rotation)."""
    from todo_api.domain.cursor import CursorSigner

    settings = _settings()
    return CursorSigner(settings.require_secret("cursor_secret"), settings.secret("cursor_secret_previous"))


@cache
def tenant_clients() -> "Callable[[str], DynamoDBClient] | None":
    """Per-tenant clients on STS sessions scoped to the tenant, where TENANT_ROLE_ARN is set (on
    AWS); None elsewhere: the API functions then use their own role's client."""
    settings = _settings()
    if not settings.tenant_role_arn:
        return None
    from todo_api.adapters.tenant_credentials import TenantClients

    clients_of_tenants = TenantClients(
        clients.sts_client,
        clients.dynamodb_client,
        settings.tenant_role_arn,
        _table_name(),
        settings.idempotency_table_name,
    )
    return clients_of_tenants.for_tenant


def _api_client() -> "DynamoDBClient | None":
    """The API functions' shared client; None when every call goes through `tenant_clients`."""
    return None if tenant_clients() is not None else dynamodb()


@cache
def todo_service() -> "TodoService":
    from todo_api.adapters.todo_store import DynamoDBTodoStore
    from todo_api.domain.todos import TodoService

    settings = _settings()
    store = DynamoDBTodoStore(
        _api_client(),
        _table_name(),
        settings.idempotency_table_name,
        settings.idempotency_ttl_seconds,
        todo_cap=settings.todo_cap,
        tenant_clients=tenant_clients(),
    )
    return TodoService(store, cursor_signer)


@cache
def activity_feed() -> "ActivityFeed":
    from todo_api.adapters.activity_store import DynamoDBActivityStore
    from todo_api.domain.activity import ActivityFeed

    return ActivityFeed(
        DynamoDBActivityStore(_api_client(), _table_name(), tenant_clients=tenant_clients()), cursor_signer()
    )


@cache
def stream_consumer() -> "StreamConsumer":
    from todo_api.adapters.activity_store import DynamoDBActivityStore
    from todo_api.adapters.event_bus import EventBridgeBus
    from todo_api.adapters.todo_store import DynamoDBTodoStore
    from todo_api.domain.activity import StreamConsumer

    settings = _settings()
    retention = int(settings.require("activity_retention_days"))
    store = DynamoDBActivityStore(dynamodb(), _table_name(), retention)
    bus = EventBridgeBus(events(), settings.require("event_bus_name"))
    return StreamConsumer(store, bus, tombstones=DynamoDBTodoStore(dynamodb(), _table_name()))


def stream_record_handler() -> "Callable[[dict[str, Any]], ActivityEvent | None]":
    """A handler for one batch of stream records (a fresh one per batch: it tracks failed items)."""
    from todo_api.adapters.stream import batch_handler

    return batch_handler(stream_consumer())


@cache
def key_store() -> "KeyStore":
    from todo_api.adapters.key_store import DynamoDBKeyStore

    return DynamoDBKeyStore(dynamodb(), get_authorizer_settings().require_table_name())


@cache
def key_lookup() -> "CachedKeys":
    """The authorizer's key look-ups, remembered per container for KEY_CACHE_SECONDS."""
    import time

    from todo_api.domain.auth import CachedKeys, TtlCache

    return CachedKeys(key_store(), TtlCache(time.monotonic), get_authorizer_settings().key_cache_seconds)


@cache
def capacity() -> "Capacity | None":
    """The authorizer's limits of each caller's rate, burst and daily quota (None: no usage table)."""
    settings = get_authorizer_settings()
    if settings.usage_table_name is None:
        return None
    import time

    from todo_api.adapters.usage_store import DynamoDBUsageStore
    from todo_api.domain.capacity import Capacity, Limiter

    limiter = Limiter(DynamoDBUsageStore(dynamodb(), settings.usage_table_name), lambda: time.time_ns() // 1_000_000)
    return Capacity(limiter, settings.tenant_limits, settings.user_limits)


@cache
def token_verifier() -> "TokenVerifier | None":
    """The authorizer's bearer-token verifier; None where no issuer is configured (keys only)."""
    settings = get_authorizer_settings()
    if settings.token_issuer is None:
        return None
    from todo_api.adapters.tokens import Jwks, TokenVerifier
    from todo_api.domain.auth import TokenPolicy

    policy = TokenPolicy(
        issuer=settings.token_issuer,
        audience=settings.require_token_audience(),
        token_use=settings.token_use,
        algorithms=settings.token_algorithms,
        leeway_seconds=settings.token_leeway_seconds,
        tenant_claim=settings.tenant_claim,
    )
    return TokenVerifier(policy, Jwks(settings.token_issuer, settings.token_jwks_url))


def reset() -> None:
    """Forget every client, adapter, service and the settings (tests change the environment)."""
    cached_builders = (
        dynamodb,
        events,
        cursor_signer,
        tenant_clients,
        todo_service,
        activity_feed,
        stream_consumer,
        key_store,
        key_lookup,
        capacity,
    )
    from todo_api.settings import get_settings

    for cached in (*cached_builders, token_verifier, get_authorizer_settings, get_settings):
        cached.cache_clear()
