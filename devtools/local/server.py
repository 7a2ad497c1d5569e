"""`make start` (`python -m devtools.local`): the API of `template.yaml` on 127.0.0.1, without Docker.

DynamoDB Local on the local store (`devtools.emulator.state`) with the template's tables and the keys
of TODO_LOCAL_API_KEYS (tenant:key,...; default `demo:local-dev-key`; `devtools.local.keys`), the
EventBridge stand-in, the gateway on PORT (default 3000) and a stream poller per stream event of a
function.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from contextlib import ExitStack
from typing import Any

from werkzeug.serving import make_server

from devtools.emulator import state
from devtools.emulator.bus import LocalEventBus
from devtools.emulator.dynamodb import DynamoDBLocalError
from devtools.emulator.gateway import build_gateway, client_timeout, request_handler
from devtools.emulator.streams import stream_pollers
from devtools.emulator.template import TEMPLATE, LocalServerError
from devtools.loader import ensure_layer_on_path
from devtools.local import console, keys


def main() -> int:
    ensure_layer_on_path()
    port = int(os.environ.get("PORT", "3000"))
    host = "127.0.0.1"
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the gateway logs one line per request itself

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        pairs = keys.configured_keys()
        from devtools import oidc

        with (
            state.serving(log=lambda line: print(line, file=sys.stderr, flush=True)) as local,
            LocalEventBus(state.events_file(), keep=0) as bus,  # the file keeps them; the console reads it
            oidc.serve_default() as issuer,
            ExitStack() as pollers,
        ):
            requests_log = pollers.enter_context(state.requests_log().open("a", encoding="utf-8"))
            lock = threading.Lock()

            def log(line: str) -> None:  # stderr, and the file `make usage` reads
                print(line, file=sys.stderr, flush=True)
                with lock:
                    requests_log.write(line + "\n")
                    requests_log.flush()

            endpoint = local.endpoint
            extra_env = {"AWS_ENDPOINT_URL_EVENTBRIDGE": bus.endpoint, **oidc.environment(issuer.url)}
            template = os.environ.get("TODO_LOCAL_TEMPLATE") or TEMPLATE  # a tree copy's, for tests
            stage = (os.environ.get("TODO_LOCAL_STAGE") or "").strip("/") or None  # e.g. dev: under /dev
            gateway = build_gateway(template, endpoint, port=port, log=log, extra_env=extra_env, stage=stage)
            gateway.storage_available = local.available.is_set
            # While DynamoDB Local restarts, the gateway answers what the functions answer then.
            from todo_api.domain.errors import StoreUnavailable

            gateway.storage_unavailable_body = {"error": StoreUnavailable.message}
            pollers.callback(gateway.runner.close)  # the functions' instances stop with the server
            keys.provision_keys(endpoint, pairs)
            streams = stream_pollers(
                gateway.template,
                gateway.runner,
                endpoint,
                checkpoints=state.stream_checkpoints(),
                dead_letters=state.stream_dead_letters(),
            )
            app = console.attach(
                gateway, streams, endpoint=endpoint, dead_letters=state.stream_dead_letters(),
                events=state.events_file(), keys=lambda: pairs,
            )  # fmt: skip
            for poller in streams:
                pollers.enter_context(poller)
            server = make_server(host, port, app, threaded=True, request_handler=request_handler(client_timeout()))
            url = f"http://{host}:{port}" + (f"/{stage}" if stage else "")
            # Keys are secrets: the banner names the tenants, and shows only the docs' demo key.
            demo = [k for t, k in pairs if f"{t}:{k}" == keys.DEFAULT_KEYS]
            key = demo[0] if demo else "<a key of TODO_LOCAL_API_KEYS>"
            print(
                f"To-Do API on {url}  (DynamoDB Local on {endpoint}; Ctrl-C to stop)\n"
                f"  tenants: {', '.join(t for t, _ in pairs) or '(none: set TODO_LOCAL_API_KEYS)'}\n"
                f"  try: curl -s -H 'x-api-key: {key}' -H 'content-type: application/json' "
                f'-d \'{{"title": "Read a book"}}\' {url}/todos\n'
                f"       curl -s -H 'x-api-key: {key}' {url}/todos\n"
                f"  signed-in users: OIDC issuer {issuer.url}; TOKEN=$(make -s token USER=alice | tail -n 1)\n"
                f'       curl -s -H "Authorization: Bearer $TOKEN" {url}/todos\n'
                f"  console: {url}{console.PREFIX}/ (requests, functions, data, events, usage)\n"
                f"  docs: {url}/docs    published events: tail -f {state.events_file()}\n"
                f"  stream: failed records in {state.stream_dead_letters()}\n"
                f"  request log: {state.requests_log()} (make usage)",
                flush=True,
            )
            try:
                server.serve_forever()
            finally:
                server.server_close()
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return 0
    except (LocalServerError, DynamoDBLocalError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
