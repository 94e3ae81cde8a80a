"""A hostile-input corpus against a live server: oversized and malformed requests, slow clients, path tricks.

Every case must get a clear answer (a JSON error of the documented shapes) within bounded time (socket timeouts,
never timed assertions), leave the state exactly as it was (the admin export and the audit count), and leave the
server up and serving others. Raw sockets are used wherever httpx would normalise the request.

Bounds under test (``src/levpref/adapters/http/protocol.py``): a request head over ``max_header_bytes`` (64 KiB)
→ 414/431; a request not arrived whole within ``read_timeout`` → 408 (the slow-client tests run a server of their
own with ``LEVPREF_READ_TIMEOUT=2``); a body over ``max_body`` (64 KiB) → 413; a request the parser rejects → 400.
"""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from levpref.auth.authent import sign_b64
from tests.support import world
from tests.support.server import ADMIN_TOKEN, ServerProcess
from tests.support.signing import call
from tests.support.state import audit_count

pytestmark = pytest.mark.e2e

LEVERAGE = "/derivatives/api/v3/leveragepreferences"
MB = 1024 * 1024
TIMEOUT = 15.0  # every socket read in this file gives up after this long
SLOW_READ_TIMEOUT = 2  # the slow-client server's LEVPREF_READ_TIMEOUT


# --- raw HTTP -----------------------------------------------------------------------------------------------------
@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        assert self.headers.get("content-type", "").startswith("application/json"), self
        return json.loads(self.body)


def read_reply(sock: socket.socket) -> Reply:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection without an answer (got {buf[:200]!r})"
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Reply(int(lines[0].split()[1]), headers, rest[:length])


def send_all(sock: socket.socket, data: bytes) -> None:
    """Send what the server will take: it may answer and stop reading before the end of a flood."""
    with suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


def exchange(port: int, data: bytes) -> Reply:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        send_all(sock, data)
        return read_reply(sock)


def request(
    method: str,
    target: bytes,
    headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
    body: bytes = b"",
    *,
    length: bool = True,
) -> bytes:
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1", *(n + b": " + v for n, v in headers)]
    if length and (body or method in ("PUT", "POST")):
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def signed(
    method: str,
    path: str,
    query: bytes = b"",
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
    *,
    key: tuple[str, str] = world.ALICE_FULL,
    nonce: bytes | None = None,
    length: bool = True,
) -> bytes:
    """A raw request signed over exactly these bytes (non-UTF-8 bytes are signed as the server reads them)."""
    post = (query + body).decode("utf-8", "surrogateescape")
    authent = sign_b64(key[1], post, (nonce or b"").decode("latin-1"), path)
    auth = [(b"APIKey", key[0].encode()), (b"Authent", authent.encode())]
    if nonce is not None:
        auth.append((b"Nonce", nonce))
    target = path.encode() + (b"?" + query if query else b"")
    return request(method, target, [*auth, *headers], body, length=length)


def admin(method: str, target: bytes, body: bytes = b"", headers: list[tuple[bytes, bytes]] = ()) -> bytes:  # type: ignore[assignment]
    token = [(b"Authorization", b"Bearer " + ADMIN_TOKEN.encode())]
    return request(method, target, [*token, (b"Content-Type", b"application/json"), *headers], body)


# --- what every case must show ------------------------------------------------------------------------------------
def shape_a(reply: Reply, *codes: str) -> None:
    body = reply.json()
    assert reply.status == 200, reply
    assert set(body) == {"result", "serverTime", "error"}, body
    assert body["result"] == "error", body
    assert body["error"] in codes, body


def shape_b(reply: Reply, status: int, code: int = 0) -> None:
    body = reply.json()
    assert reply.status == status, reply
    assert body["result"] == "error", body
    assert body["errors"][0]["code"] == code, body


def admin_error(reply: Reply, status: int) -> None:
    body = reply.json()
    assert reply.status == status, reply
    assert set(body) == {"error", "detail"}, body


def snapshot(server: ServerProcess) -> tuple[Any, int]:
    with server.admin() as client:
        exported = client.get("/admin/v1/scenario").json()
        audit = audit_count(client, "/admin/v1/audit")
    return exported, audit


def assert_serving(server: ServerProcess) -> None:
    """The server answers others: health, a public and a signed private request."""
    with httpx.Client(base_url=server.base, timeout=TIMEOUT) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/derivatives/api/v3/instruments").json()["result"] == "success"
        assert call(client, "GET", LEVERAGE, world.ALICE_FULL).json()["result"] == "success"


@contextmanager
def hostile(server: ServerProcess) -> Iterator[None]:
    """The state is unchanged, the server still serves, and its log shows no unhandled error."""
    before = snapshot(server)
    log_start = len(server.logs())
    yield
    assert snapshot(server) == before, "a hostile request changed the state"
    assert_serving(server)
    assert server.proc is not None
    assert server.proc.poll() is None
    assert "unhandled error" not in server.logs()[log_start:]


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with a short read timeout, so that slow clients are cut off quickly."""
    db = Path(tmp_path_factory.mktemp("slow")) / "levpref.db"
    server = ServerProcess(
        f"sqlite:///{db}", scenario=world.scenario(), env={"LEVPREF_READ_TIMEOUT": str(SLOW_READ_TIMEOUT)}
    ).start()
    yield server
    server.stop()


# --- size ---------------------------------------------------------------------------------------------------------
def test_one_megabyte_bodies_are_413(server: ServerProcess) -> None:
    big = b"symbol=PF_XBTUSD&pad=" + b"x" * MB
    with hostile(server):
        shape_b(exchange(server.port, signed("PUT", LEVERAGE, b"", big)), 413)
        scenario = json.dumps({**world.scenario(), "pad": "x" * MB}).encode()
        shape_b(exchange(server.port, admin("PUT", b"/admin/v1/scenario", scenario)), 413)
        chunked = b"".join(b"%x\r\n%s\r\n" % (65536, b"y" * 65536) for _ in range(16)) + b"0\r\n\r\n"
        raw = admin("PUT", b"/admin/v1/marks/PF_XBTUSD", chunked, [(b"Transfer-Encoding", b"chunked")])
        shape_b(exchange(server.port, raw.replace(b"Content-Length: %d\r\n" % len(chunked), b"")), 413)


def test_one_megabyte_query_strings_and_paths_are_414(server: ServerProcess) -> None:
    with hostile(server):
        shape_b(exchange(server.port, signed("GET", LEVERAGE, b"symbol=" + b"A" * MB)), 414)
        shape_b(exchange(server.port, admin("GET", b"/admin/v1/accounts/" + b"a" * MB)), 414)


def test_ten_thousand_parameters_are_refused_cleanly(server: ServerProcess) -> None:
    many = b"&".join(b"k%d" % i for i in range(10_000))  # about 59 KB: under the head and body limits
    with hostile(server):
        # in the query, signed: the extra parameters are ignored; the contract does not exist → 87
        shape_b(exchange(server.port, signed("PUT", LEVERAGE, many + b"&symbol=PF_NOPE")), 500, 87)
        # 5 000 times the same parameter → invalidArgument (a parameter given twice)
        twice = b"&".join([b"symbol=X"] * 5_000)
        shape_a(exchange(server.port, signed("PUT", LEVERAGE, twice)), "invalidArgument")
        # in a form body, signed: no symbol among them → requiredArgumentMissing
        form = [(b"Content-Type", b"application/x-www-form-urlencoded")]
        shape_a(exchange(server.port, signed("PUT", LEVERAGE, b"", many, form)), "requiredArgumentMissing")
        # unsigned → authenticationError
        shape_a(exchange(server.port, request("GET", LEVERAGE.encode() + b"?" + many)), "authenticationError")
        # an admin JSON object with 5 000 members (under the body limit) and no price
        members = json.dumps({f"k{i}": i for i in range(5_000)}, separators=(",", ":")).encode()
        admin_error(exchange(server.port, admin("PUT", b"/admin/v1/marks/PF_XBTUSD", members)), 400)


def test_header_floods_are_431_and_many_small_headers_are_harmless(server: ServerProcess) -> None:
    with hostile(server):
        ninety = [(b"X-Flood-%d" % i, b"v") for i in range(90)]  # under the default of 100 header lines: allowed
        reply = exchange(server.port, signed("GET", LEVERAGE, headers=ninety))
        assert reply.json()["result"] == "success"
        shape_b(
            exchange(server.port, signed("GET", LEVERAGE, headers=[(b"X-F-%d" % i, b"v") for i in range(5_000)])), 431
        )
        flood = [(b"X-Flood-%d" % i, b"v") for i in range(20_000)]
        shape_b(exchange(server.port, signed("GET", LEVERAGE, headers=flood)), 431)
        shape_b(exchange(server.port, signed("GET", LEVERAGE, headers=[(b"X-Huge", b"h" * MB)])), 431)
        shape_b(exchange(server.port, request("GET", LEVERAGE.encode(), [(b"Authent", b"A" * MB)])), 431)
        shape_b(exchange(server.port, admin("GET", b"/admin/v1/scenario", headers=[(b"Cookie", b"c" * MB)])), 431)


# --- slow clients ---------------------------------------------------------------------------------------------------
def test_slowloris_connections_are_cut_off_while_others_are_served(slow_server: ServerProcess) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 10_000
    sockets = [socket.create_connection(("127.0.0.1", slow_server.port), timeout=TIMEOUT) for _ in range(30)]
    replies: dict[socket.socket, Reply] = {}
    served = 0
    try:
        with hostile(slow_server):
            for i in range(len(head)):  # one byte per socket per round; bounded by the head's length
                open_ = [s for s in sockets if s not in replies]
                if not open_:
                    break
                for sock in open_:
                    send_all(sock, head[i : i + 1])
                readable, _, _ = select.select(open_, [], [], 0.05)
                for sock in readable:
                    replies[sock] = read_reply(sock)
                if i % 10 == 0:
                    assert_serving(slow_server)  # others are served meanwhile
                    served += 1
            assert len(replies) == len(sockets), "slow clients were not cut off"
            for reply in replies.values():
                shape_b(reply, 408)
    finally:
        for sock in sockets:
            sock.close()
    assert served > 0


def test_an_idle_connection_and_a_slow_next_request_are_cut_off(slow_server: ServerProcess) -> None:
    with hostile(slow_server), socket.create_connection(("127.0.0.1", slow_server.port), timeout=TIMEOUT) as idle:
        shape_b(read_reply(idle), 408)  # never sent a byte
    with hostile(slow_server), socket.create_connection(("127.0.0.1", slow_server.port), timeout=TIMEOUT) as sock:
        sock.sendall(request("GET", b"/health"))
        assert read_reply(sock).status == 200
        sock.sendall(b"GET /health HTTP/1.1\r\n")  # keep-alive, then a head that never ends
        shape_b(read_reply(sock), 408)


def test_a_slow_or_abandoned_body_changes_nothing(slow_server: ServerProcess) -> None:
    toml = b'[marks]\nPF_XBTUSD = "1"\n'  # valid TOML on its own: a truncated scenario must not be loaded
    whole = toml + b"[[accounts]]\n" * 100
    raw = request(
        "PUT",
        b"/admin/v1/scenario",
        [(b"Authorization", b"Bearer " + ADMIN_TOKEN.encode()), (b"Content-Type", b"application/toml")],
        whole,
    )
    cut = raw[: len(raw) - len(whole) + len(toml)]
    with hostile(slow_server), socket.create_connection(("127.0.0.1", slow_server.port), timeout=TIMEOUT) as sock:
        sock.sendall(cut)  # the body stops half way: 408, and nothing loaded
        shape_b(read_reply(sock), 408)
    with hostile(slow_server):
        with socket.create_connection(("127.0.0.1", slow_server.port), timeout=TIMEOUT) as sock:
            sock.sendall(cut)  # the client goes away half way
        assert_serving(slow_server)
    body = b'{"price": "1"}'
    marks = admin("PUT", b"/admin/v1/marks/PF_XBTUSD", body)
    with hostile(slow_server), socket.create_connection(("127.0.0.1", slow_server.port), timeout=TIMEOUT) as sock:
        sock.sendall(marks.replace(b"Content-Length: 14", b"Content-Length: 99"))  # promises more than it sends
        shape_b(read_reply(sock), 408)


# --- malformed bytes ------------------------------------------------------------------------------------------------
def test_invalid_utf8_in_every_field_is_a_clear_error(server: ServerProcess) -> None:
    form = [(b"Content-Type", b"application/x-www-form-urlencoded")]
    with hostile(server):
        shape_a(exchange(server.port, signed("PUT", LEVERAGE, b"symbol=PF_XBTUSD%FF%FE")), "invalidArgument")
        shape_b(exchange(server.port, signed("PUT", LEVERAGE, b"symbol=PF_\xff\xfe")), 400)  # the parser refuses
        shape_a(exchange(server.port, signed("PUT", LEVERAGE, b"", b"symbol=\xc3\x28", form)), "invalidArgument")
        shape_a(exchange(server.port, signed("PUT", LEVERAGE, b"", b"symbol=%C3%28", form)), "invalidArgument")
        auth_failures = [
            request("GET", LEVERAGE.encode(), [(b"APIKey", b"\xff\xfe" * 28), (b"Authent", b"\xc3\x28")]),
            signed("GET", LEVERAGE).replace(world.ALICE_FULL[0].encode(), b"\xff" * 56),
            signed("GET", LEVERAGE, headers=[(b"Authent", b"\xe2\x82")]),
            signed("GET", LEVERAGE, nonce=b"12\xff34"),
            signed("GET", LEVERAGE, nonce="١٢٣".encode()),  # Arabic-Indic digits are not a nonce
        ]
        for raw in auth_failures:
            shape_a(exchange(server.port, raw), "authenticationError")
        admin_error(exchange(server.port, admin("PUT", b"/admin/v1/marks/PF_XBTUSD", b'{"price": "\xff"}')), 400)
        admin_error(exchange(server.port, admin("PUT", b"/admin/v1/marks/PF_XBTUSD", b'{"price\xc3\x28": 1}')), 400)
        toml = [(b"Content-Type", b"application/toml")]
        admin_error(exchange(server.port, admin("PUT", b"/admin/v1/scenario", b"a = '\xff'", toml)), 400)
        bad_token = request("GET", b"/admin/v1/scenario", [(b"Authorization", b"Bearer \xff" + ADMIN_TOKEN.encode())])
        admin_error(exchange(server.port, bad_token), 401)
        shape_b(exchange(server.port, request("GET", b"/admin/v1/marks/\xff")), 400)
        shape_b(exchange(server.port, request("GET", b"/derivatives/api/v3/leverage\xc3\x28preferences")), 400)
        shape_b(exchange(server.port, request("GET", b"/derivatives/api/v3/%FFinstruments")), 404)


def test_content_type_lies_and_json_where_a_form_is_expected(server: ServerProcess) -> None:
    json_body = b'{"symbol": "PF_XBTUSD", "maxLeverage": "10"}'
    with hostile(server):
        as_json = [(b"Content-Type", b"application/json")]
        shape_a(exchange(server.port, signed("PUT", LEVERAGE, b"", json_body, as_json)), "invalidArgument")
        shape_a(exchange(server.port, signed("PUT", LEVERAGE, b"symbol=PF_XBTUSD", b"x", as_json)), "invalidArgument")
        as_form = [(b"Content-Type", b"application/x-www-form-urlencoded")]
        reply = exchange(server.port, signed("PUT", LEVERAGE, b"", json_body, as_form))  # a form of one odd name
        shape_a(reply, "requiredArgumentMissing")
        shape_a(exchange(server.port, signed("PUT", LEVERAGE, b"", b"symbol=PF_XBTUSD")), "invalidArgument")  # no type
        as_text = [(b"Content-Type", b"text/plain")]
        shape_a(exchange(server.port, signed("PUT", LEVERAGE, b"", b"symbol=PF_XBTUSD", as_text)), "invalidArgument")
        form_in_admin = admin("PUT", b"/admin/v1/marks/PF_XBTUSD", b"price=1")
        admin_error(exchange(server.port, form_in_admin), 400)
        toml_as_json = admin("PUT", b"/admin/v1/scenario", b'[marks]\nPF_XBTUSD = "1"\n')
        admin_error(exchange(server.port, toml_as_json), 400)
        json_as_toml = admin("PUT", b"/admin/v1/scenario", b'{"marks": {"PF_XBTUSD": "1"}}')
        admin_error(exchange(server.port, json_as_toml.replace(b"application/json", b"application/toml")), 400)


def test_duplicate_and_contradictory_headers(server: ServerProcess) -> None:
    with hostile(server):
        good = signed("GET", LEVERAGE).split(b"\r\n")
        for name in (b"APIKey", b"Authent"):
            line = next(x for x in good if x.startswith(name + b":"))
            doubled = b"\r\n".join([*good[:2], line, *good[2:]])
            shape_a(exchange(server.port, doubled), "authenticationError")
        nonce = signed("GET", LEVERAGE, nonce=b"1800000000000", headers=[(b"Nonce", b"1800000000001")])
        shape_a(exchange(server.port, nonce), "authenticationError")
        two_types = [(b"Content-Type", b"application/x-www-form-urlencoded")] * 2
        shape_a(exchange(server.port, signed("PUT", LEVERAGE, b"", b"symbol=PF_XBTUSD", two_types)), "invalidArgument")
        two_lengths = signed("PUT", LEVERAGE, b"symbol=PF_XBTUSD", headers=[(b"Content-Length", b"5")])
        shape_b(exchange(server.port, two_lengths), 400)
        smuggle = request("PUT", LEVERAGE.encode(), [(b"Transfer-Encoding", b"chunked")], b"0\r\n\r\n")
        shape_b(exchange(server.port, smuggle), 400)
        two_tokens = admin("GET", b"/admin/v1/scenario", headers=[(b"Authorization", b"Bearer x")])
        admin_error(exchange(server.port, two_tokens), 401)
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
            # more bytes than the Content-Length: the rest is read as a next request, which is malformed
            sock.sendall(admin("PUT", b"/admin/v1/marks/PF_NOPE", b'{"price": "1"}') + b"GARBAGE GARBAGE\r\n\r\n")
            first = read_reply(sock)  # parsed in the same read: the 400 may come first and end the connection
            if first.status == 404:
                admin_error(first, 404)  # no such contract
                first = read_reply(sock)
            shape_b(first, 400)


# --- paths ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    [
        b"//derivatives/api/v3/leveragepreferences",
        b"/derivatives//api/v3/leveragepreferences",
        b"/derivatives/api/v3/leveragepreferences/",
        b"/derivatives/api/v3/../v3/leveragepreferences",
        b"/derivatives/api/v3/%2e%2e/v3/leveragepreferences",
        b"/derivatives/api/v3/./leveragepreferences",
        b"/derivatives/api/v3/leveragepreferences%00",
        b"/derivatives/api/v3/leveragepreferences%2F",
        b"/derivatives/api/v3/LEVERAGEPREFERENCES",
        b"/derivatives/api/v4/leveragepreferences",
        b"/admin/v1/scenario/",
        b"/admin//v1/scenario",
        b"/admin/v1/../v1/scenario",
        b"/ADMIN/v1/scenario",
        b"/admin/v1/accounts/alice/../bob",
        b"/admin/v1/accounts/alice%2Fcollateral%2FUSD",
    ],
)
def test_path_tricks_are_404_and_reach_nothing(server: ServerProcess, target: bytes) -> None:
    path = target.decode()
    with hostile(server):
        shape_b(exchange(server.port, signed("PUT", path, b"symbol=PF_XBTUSD&maxLeverage=10")), 404)
        shape_b(exchange(server.port, admin("PUT", target, b'{"price": "1", "active": false, "quantity": "0"}')), 404)


# --- the admin API --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        b"",
        b"Bearer",
        b"Bearer ",
        b"Bearer wrong-token",
        b"Bearer " + ADMIN_TOKEN.encode() + b" ",
        b"Bearer  " + ADMIN_TOKEN.encode(),
        b"Basic " + ADMIN_TOKEN.encode(),
        ADMIN_TOKEN.encode(),
        b"Bearer " + ADMIN_TOKEN.encode()[:-1],
        b"Bearer " + b"t" * 60_000,
    ],
)
def test_admin_bad_tokens_are_401_and_change_nothing(server: ServerProcess, authorization: bytes | None) -> None:
    headers = [] if authorization is None else [(b"Authorization", authorization)]
    with hostile(server):
        admin_error(exchange(server.port, request("PUT", b"/admin/v1/marks/PF_XBTUSD", headers, b'{"price":"1"}')), 401)
        admin_error(exchange(server.port, request("GET", b"/admin/v1/scenario", headers)), 401)
        scenario = json.dumps({"marks": {"PF_XBTUSD": "1"}}).encode()
        admin_error(exchange(server.port, request("PUT", b"/admin/v1/scenario", headers, scenario)), 401)


@pytest.mark.parametrize(
    ("target", "body"),
    [
        (b"/admin/v1/marks/PF_XBTUSD", b'{"price": "1"'),
        (b"/admin/v1/marks/PF_XBTUSD", b"null"),
        (b"/admin/v1/marks/PF_XBTUSD", b"[]"),
        (b"/admin/v1/marks/PF_XBTUSD", b'"58500"'),
        (b"/admin/v1/marks/PF_XBTUSD", b'{"price": "NaN"}'),
        (b"/admin/v1/marks/PF_XBTUSD", b'{"price": "-1"}'),
        (b"/admin/v1/marks/PF_XBTUSD", b'{"price": 1e999999999}'),
        (b"/admin/v1/marks/PF_XBTUSD", b'{"price": true}'),
        (b"/admin/v1/marks/PF_XBTUSD", b"[" * 30_000 + b"]" * 30_000),
        (b"/admin/v1/marks/PF_XBTUSD", b'{"price": "1", "price": "2", ' + b'"x": 1, ' * 10 + b"}"),
        (b"/admin/v1/accounts/alice/collateral/USD", b'{"quantity": "1e999999999"}'),
        (b"/admin/v1/accounts/alice/positions/PF_XBTUSD", b'{"size": "1e38", "entry_price": "60000"}'),
        (b"/admin/v1/accounts/alice/positions/PF_XBTUSD", b'{"size": "1", "entry_price": "0"}'),
        (b"/admin/v1/currencies/BTC", b'{"price": "1", "haircut": "2"}'),
        (b"/admin/v1/accounts/alice", b'{"active": "no"}'),
        (b"/admin/v1/accounts/alice/keys", b'{"expires_ms": 100000000000000000000000000}'),
        (b"/admin/v1/accounts/alice/keys", b'{"access": "root"}'),
        (b"/admin/v1/scenario", b'{"instruments": "all"}'),
        (b"/admin/v1/scenario", b'{"accounts": [{"id": "x", "keys": [{"public": "short", "secret": "!"}]}]}'),
        (b"/admin/v1/instruments", b'{"instruments": [{"symbol": 5}]}'),
    ],
)
def test_admin_bad_json_is_400_and_changes_nothing(server: ServerProcess, target: bytes, body: bytes) -> None:
    method = "POST" if target.endswith(b"/keys") else "PUT"
    with hostile(server):
        admin_error(exchange(server.port, admin(method, target, body)), 400)


def test_a_deeply_nested_toml_scenario_is_400(server: ServerProcess) -> None:
    toml = [(b"Content-Type", b"application/toml")]
    with hostile(server):
        nested = b"a = " + b"[" * 5_000 + b"]" * 5_000
        admin_error(exchange(server.port, admin("PUT", b"/admin/v1/scenario", nested, toml)), 400)
