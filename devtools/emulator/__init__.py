"""A local emulator of what a SAM template deploys, no Docker: knows SAM templates, Lambda, API Gateway,
DynamoDB (Local), DynamoDB Streams and EventBridge, and nothing of this project's API.

One module per job:

- `template`: the template as SAM CLI reads it (language extensions on), the one reader;
- `environment`: each function's environment, resolved for local use;
- `secrets`: the template's generated Secrets Manager secrets, kept in a local file;
- `context`: the Lambda context object handed to handlers (also used by the tests and the bench);
- `runner`: runs a function's handler from its CodeUri (one `run`, JSON in and out), reloading it
  when the code changes;
- `instances`, `worker`, `zygote`: an execution environment per instance (a worker process forked
  from a template process), its limits;
- `gateway`: SAM CLI's API Gateway emulation plus what the deployed stage adds (authorizer cache,
  gateway responses, request log), composed around it through public surfaces (its few private
  parts listed in `PRIVATE_SURFACE`);
- `streams`: the DynamoDB stream event source mapping (a poller per stream event, its checkpoints,
  its dead letters, the template's mappings);
- `bus`: a stand-in for EventBridge's PutEvents;
- `dynamodb`: DynamoDB Local, a package: the jar (`install`), its process (`process`), its
  supervisor (`supervisor`), the template's tables (`tables`);
- `state`: the local data folder (DynamoDB Local's, or DYNAMODB_LOCAL_DIR) and the files beside it
  (published events, request log, stream checkpoints and dead letters, secrets).

This project's own parts (the API keys provisioned in the local store, the token issuer, the wiring
of `make start`, the console) are in `devtools.local` and `devtools.oidc`; nothing here imports
them (tests/unit/test_import_cycles.py checks it).
"""
