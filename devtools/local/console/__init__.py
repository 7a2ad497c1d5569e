"""The local console: `make start`'s requests, invocations, stream, events, usage and tables in a
browser, at http://127.0.0.1:<PORT>/_console/ (loopback clients only; never part of the deployed stack).

- `recorder`: the hooks the gateway, the instance pools and the stream pollers call, keeping the
  last requests, invocations and batches in bounded windows;
- `sources`: what is read on demand (pools, stream positions, dead letters, published events, tables);
- `redact`: keys, tokens and cookies out of everything shown;
- `app`: the page and its JSON API, mounted in front of the gateway (`mount`);
- `static/`: the page (plain HTML and JavaScript, no build step) and uPlot, vendored, for the chart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devtools.local.console.app import PREFIX, create_app, mount
from devtools.local.console.recorder import Recorder
from devtools.local.console.sources import Sources

if TYPE_CHECKING:
    from devtools.emulator.gateway import LocalGateway
    from devtools.emulator.streams import StreamPoller

__all__ = ["PREFIX", "attach"]


def attach(
    gateway: LocalGateway,
    pollers: list[StreamPoller],
    *,
    endpoint: str,
    dead_letters: Path,
    events: Path,
    keys: Callable[[], Iterable[tuple[str, str]]],
) -> Callable[..., Any]:
    """Hook a recorder into the gateway, its runner and the pollers; the WSGI app to serve (the console
    under PREFIX, the gateway everywhere else). `keys`: the configured (tenant, key) pairs."""
    recorder = Recorder()
    gateway.on_request = recorder.on_request
    gateway.runner.observer = recorder.on_invocation  # type: ignore[attr-defined]  # LambdaRunner's
    for poller in pollers:
        poller.observer = recorder.on_batch
    sources = Sources(gateway, endpoint, pollers, dead_letters, events, tenants=lambda: sorted({t for t, _ in keys()}))
    app = create_app(recorder, sources, secrets=lambda: [k for _, k in keys()])
    return mount(gateway.app, app)
