"""Adapters: the only code that speaks DynamoDB and EventBridge.

Each implements a port of `todo_api.domain.ports`; `todo_api.wiring` builds them.
"""
