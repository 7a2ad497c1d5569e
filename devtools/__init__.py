"""Developer tooling: local server, DynamoDB Local, keys, OpenAPI generation. Never deployed."""
