"""`make start` is reachable from this machine only: every socket its processes listen on is bound
to 127.0.0.1, DynamoDB Local included (which, left to itself, listens on every interface and takes
any credentials); a connection through this machine's own non-loopback address is refused; and the
gateway and DynamoDB Local answer only to a loopback `Host`, so that a web page cannot reach them
by DNS rebinding.

All of it over real sockets to `make start`'s runner (`devtools.local.serve.served`) and to
DynamoDB Local itself. The listening sockets are read from Linux's /proc (as tests/processes.py does).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from devtools.emulator import dynamodb
from devtools.local.serve import Served, served

KEY = "loopback-key-1"


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not on the loopback: the source address of a route
    out (no packet is sent), else one of the host name's addresses."""
    candidates = []
    for target in ("192.0.2.1", "10.255.255.254", "198.51.100.1"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((target, 9))
            except OSError:
                continue
            candidates.append(probe.getsockname()[0])
    with contextlib.suppress(OSError):
        candidates += socket.gethostbyname_ex(socket.gethostname())[2]
    addresses = [ipaddress.ip_address(a) for a in candidates]
    usable = [str(a) for a in addresses if not (a.is_loopback or a.is_unspecified)]
    return usable[0] if usable else None


@pytest.fixture(scope="module")
def outside() -> str:
    """A non-loopback address of this machine, shown to accept connections to a socket listening on
    every interface: so that a refusal there means "not listening on it", not "unreachable"."""
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect through")
    with socket.create_server(("0.0.0.0", 0)) as every_interface:  # the control
        port = every_interface.getsockname()[1]
        with socket.create_connection((address, port), timeout=5):
            pass
    return address


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    with served({"acme": KEY}) as running:
        yield running


def refused(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=5):
            return False
    except ConnectionRefusedError:
        return True


def descendants(root: int) -> list[int]:
    """`root` and every process below it (DynamoDB Local runs in a process group of its own)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the name: state, ppid, ...
            parents[int(stat.parent.name)] = int(fields[1])
    found = [root]
    for pid in found:
        found += [child for child, parent in parents.items() if parent == pid]
    return found


def listening(pids: list[int]) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state that one of `pids` holds."""
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            hexaddr, hexport = local.split(":")
            raw = b"".join(bytes.fromhex(hexaddr[i : i + 8])[::-1] for i in range(0, len(hexaddr), 8))
            address = ipaddress.ip_address(raw)
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                address = address.ipv4_mapped
            found.append((str(address), int(hexport, 16)))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the listening sockets from Linux's /proc")
def test_every_socket_of_make_start_listens_on_the_loopback_only(server: Served, outside: str) -> None:
    sockets = listening(descendants(server.process.pid))
    ddb_port = urlsplit((server.data_dir / "endpoint").read_text().strip()).port
    gateway_port = urlsplit(server.url).port
    ports = {port for _, port in sockets}
    assert {ddb_port, gateway_port} <= ports  # DynamoDB Local and the gateway are among them
    assert len(ports) >= 4  # and the event bus and the OIDC issuer
    assert [s for s in sockets if s[0] != "127.0.0.1"] == []
    for port in sorted(ports):
        assert refused(outside, port), f"port {port} answers on {outside}"


def test_dynamodb_local_refuses_another_address_and_answers_on_the_loopback(
    ddb: dynamodb.DynamoDBLocal, outside: str
) -> None:
    assert refused(outside, ddb.port)
    assert dynamodb.answers(ddb.endpoint)


def test_dynamodb_local_listens_on_the_one_address_it_is_given(tmp_path: Path, outside: str) -> None:
    """What `make sam-local-e2e` does with the docker0 address: there only, not on the loopback;
    SAM CLI's containers name it host.docker.internal."""
    with dynamodb.DynamoDBLocal(tmp_path, host=outside) as local:
        assert local.endpoint == f"http://{outside}:{local.port}"
        assert dynamodb.answers(local.endpoint)
        assert refused("127.0.0.1", local.port)
        assert dynamodb_call(outside, local.port, f"host.docker.internal:{local.port}", "ListTables", {})[0] == 200
        assert dynamodb_call(outside, local.port, f"attacker.example:{local.port}", "ListTables", {})[0] == 421


def dynamodb_call(address: str, port: int, host: str, operation: str, body: dict[str, object]) -> tuple[int, bytes]:
    """One DynamoDB API call over HTTP with the `Host` header `host` (DynamoDB Local takes any credentials)."""
    connection = http.client.HTTPConnection(address, port, timeout=30)
    try:
        connection.putrequest("POST", "/", skip_host=True)
        for name, value in {
            "Host": host,
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=0",
        }.items():
            connection.putheader(name, value)
        payload = json.dumps(body).encode()
        connection.putheader("Content-Length", str(len(payload)))
        connection.endheaders(payload)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:{port}", "127.0.0.1.attacker.example", ""])
def test_dynamodb_local_refuses_a_foreign_host_and_writes_nothing(ddb: dynamodb.DynamoDBLocal, host: str) -> None:
    """A web page that rebinds its name to 127.0.0.1 reaches the port, but names itself in Host."""
    table = f"rebound-{uuid.uuid4().hex[:8]}"
    create = {
        "TableName": table,
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    status, body = dynamodb_call("127.0.0.1", ddb.port, host.format(port=ddb.port), "CreateTable", create)
    assert status == 421
    assert b"MisdirectedRequest" in body
    assert table not in dynamodb.client(ddb.endpoint).list_tables()["TableNames"]


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "LOCALHOST"])
def test_dynamodb_local_answers_a_loopback_host(ddb: dynamodb.DynamoDBLocal, host: str) -> None:
    status, body = dynamodb_call("127.0.0.1", ddb.port, host.format(port=ddb.port), "ListTables", {})
    assert status == 200
    assert "TableNames" in json.loads(body)


def request(server: Served, host: str | None, path: str = "/todos") -> tuple[int, dict[str, str], bytes]:
    """GET `path` on the gateway with the `Host` header `host` (None: none at all)."""
    url = urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_host=True)
        if host is not None:
            connection.putheader("Host", host)
        connection.putheader("x-api-key", KEY)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example",
        "attacker.example:{port}",
        "127.0.0.1.attacker.example:{port}",
        "localhost.attacker.example",
        "192.168.1.20:{port}",
        "127.0.0.2:{port}",
        "[::1]x",
        "",
        None,
    ],
)
def test_a_foreign_host_is_misdirected(server: Served, host: str | None) -> None:
    port = urlsplit(server.url).port
    status, headers, body = request(server, None if host is None else host.format(port=port))
    assert status == 421
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"].startswith("Misdirected request")


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:{port}", "127.0.0.1"])
def test_a_loopback_host_is_served(server: Served, host: str) -> None:
    status, _, body = request(server, host.format(port=urlsplit(server.url).port))
    assert status == 200
    assert isinstance(json.loads(body)["items"], list)
