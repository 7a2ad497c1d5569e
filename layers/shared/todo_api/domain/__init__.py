"""The domain: what the API's operations and events mean, free of HTTP, DynamoDB and AWS SDKs.

It talks to storage and the event bus only through the protocols in `ports`; `todo_api.wiring`
plugs the DynamoDB and EventBridge adapters in, and the tests plug in-memory fakes.
"""
