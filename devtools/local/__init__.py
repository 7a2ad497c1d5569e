"""The local runner of `make start`, `make invoke` and `make key`: `template.yaml` on this machine, no Docker.

One module per job:

- `template`: the template as SAM CLI reads it (language extensions on), the one reader;
- `environment`: each function's environment, resolved for local use;
- `context`: the Lambda context object handed to handlers (also used by the tests and the bench);
- `runner`: runs a function's handler from its CodeUri, reloading it when the code changes;
- `instances`, `worker`: an execution environment per instance (a worker process), its limits;
- `gateway`: SAM CLI's API Gateway emulation plus what the deployed stage adds (authorizer cache,
  gateway responses, request log);
- `streams`: the DynamoDB stream event source mapping (a poller per stream event);
- `bus`: a stand-in for EventBridge's PutEvents;
- `dynamodb`: DynamoDB Local (the jar, its process, the template's tables);
- `store`: the local store that `make start`, `make key`, `make revoke-key` and `make invoke` share;
- `serve`: the server as a child process, for tests and the benchmark;
- `server`: `python -m devtools.local` (`make start`) puts them together.
"""
