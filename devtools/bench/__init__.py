"""`make bench`: cold start, warm overhead, DynamoDB cost per operation, artifact size, local latency."""
