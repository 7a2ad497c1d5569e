"""The conformance check of every response the suite receives: its status, and each of its headers
that is not transport or CORS, are documented for its operation in the server's own `/openapi.json`.

A client generated from the document reads only what the document says; a status or header that
the server sends undocumented is one that such a client drops or cannot type.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

# Headers of the transport, the gateway or CORS (checked by the CORS tests): no operation documents them.
TRANSPORT = {
    "access-control-allow-credentials",
    "access-control-allow-headers",
    "access-control-allow-methods",
    "access-control-allow-origin",
    "access-control-expose-headers",
    "access-control-max-age",
    "apigw-requestid",
    "connection",
    "content-encoding",
    "content-length",
    "content-type",
    "date",
    "keep-alive",
    "server",
    "strict-transport-security",
    "transfer-encoding",
    "vary",
    "via",
    "x-amz-apigw-id",
    "x-amz-cf-id",
    "x-amz-cf-pop",
    "x-amzn-errortype",
    "x-amzn-requestid",
    "x-amzn-trace-id",
    "x-cache",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as the document writes it: /todos/{todo_id}
    responses: dict[str, Any]


class Contract:
    """The document of one base URL, and the check of a response against it."""

    def __init__(self, base_url: str, document: dict[str, Any]) -> None:
        self.base_path = urlsplit(base_url).path.rstrip("/")
        self.document = document
        self.routes = [
            (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"), path, item)
            for path, item in document["paths"].items()
        ]

    def operation(self, method: str, url: str) -> Operation | None:
        path = urlsplit(url).path
        if self.base_path and path.startswith(self.base_path):
            path = path[len(self.base_path) :] or "/"
        for pattern, template, item in self.routes:
            if pattern.match(path) and method.lower() in item:
                return Operation(method.lower(), template, item[method.lower()]["responses"])
        return None  # no such operation (an unknown route, HEAD, OPTIONS): nothing documents it

    def problems(self, response: requests.Response) -> list[str]:
        operation = self.operation(str(response.request.method), str(response.request.url))
        if operation is None:
            return []
        where = f"{operation.method.upper()} {operation.path}"
        documented = operation.responses.get(str(response.status_code)) or operation.responses.get("default")
        if documented is None:
            return [f"{where}: status {response.status_code} is not documented (only {sorted(operation.responses)})"]
        headers = {name.lower() for name in documented.get("headers", {})}
        return [
            f"{where} -> {response.status_code}: header {name} is not documented (only {sorted(headers)})"
            for name in response.headers
            if name.lower() not in TRANSPORT and name.lower() not in headers
        ]


_LOCK = threading.Lock()
_CONTRACTS: dict[str, Contract] = {}


def contract_of(base_url: str, session: requests.Session) -> Contract:
    """The contract of `base_url`, from its own `/openapi.json`, fetched once."""
    with _LOCK:
        if base_url not in _CONTRACTS:
            response = session.get(base_url + "/openapi.json", timeout=30)
            assert response.status_code == 200, f"{base_url}/openapi.json -> {response.status_code}"
            _CONTRACTS[base_url] = Contract(base_url, response.json())
        return _CONTRACTS[base_url]
