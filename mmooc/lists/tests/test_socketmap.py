"""The socketmap server Postfix asks which list-domain addresses exist, over real sockets.

Postfix's own client (`postmap -q … socketmap:inet:…`) is used where installed; the hostile
cases are written by hand, since no real client sends them.
"""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mmooc import testing
from mmooc.groups.apply import apply_grouping
from mmooc.groups.models import StudyGroup
from mmooc.lists import socketmap
from mmooc.lists.relay import find_group
from mmooc.lists.tests.conftest import make_group
from mmooc.mailer import verp

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server():
    running = socketmap.start("127.0.0.1", 0)
    yield running
    running.stop()


def connect(server: socketmap.SocketmapServer) -> socket.socket:
    conn = socket.create_connection((server.host, server.port), timeout=10)
    return conn


def read_reply(conn: socket.socket) -> bytes:
    """One netstring's payload; b"" if the server closed the connection instead."""
    data = b""
    while b":" not in data:
        chunk = conn.recv(1)
        if not chunk:
            return b""
        data += chunk
    length = int(data[:-1])
    body = b""
    while len(body) < length + 1:
        chunk = conn.recv(length + 1 - len(body))
        if not chunk:
            raise AssertionError(f"reply cut short: {body!r}")
        body += chunk
    assert body.endswith(b","), body
    return body[:-1]


def ask(conn: socket.socket, key: str, name: str = "recipient") -> bytes:
    conn.sendall(socketmap.netstring(f"{name} {key}".encode()))
    return read_reply(conn)


def closed(conn: socket.socket) -> bool:
    try:
        return conn.recv(1) == b""
    except ConnectionResetError:
        return True


def test_a_group_address_is_found_and_an_unknown_one_is_not(server, cohort):
    group = make_group(cohort, 12)
    with connect(server) as conn:
        assert ask(conn, group.address) == b"OK group"
        assert ask(conn, group.address.upper()) == b"OK group"
        assert ask(conn, f"{cohort.slug}-group-13@lists.course.example.org") == b"NOTFOUND "
        assert ask(conn, f"{cohort.slug}-group-12@elsewhere.example.org") == b"NOTFOUND "
        assert ask(conn, "@lists.course.example.org") == b"NOTFOUND "
        assert ask(conn, "lists.course.example.org") == b"NOTFOUND "
        assert ask(conn, "") == b"NOTFOUND "


def test_a_group_formed_a_moment_ago_is_found_at_once(server, cohort):
    for i in range(6):
        testing.make_learner(cohort, f"l{i}@example.org")
    with connect(server) as conn:
        assert ask(conn, f"{cohort.slug}-group-1@lists.course.example.org") == b"NOTFOUND "
        apply_grouping(cohort, target_size=6, welcome_now=False)
        address = StudyGroup.objects.get(cohort=cohort, number=1).address
        assert ask(conn, address) == b"OK group"


def test_the_mailers_bounce_and_unsubscribe_addresses_are_found_by_shape(server):
    with connect(server) as conn:
        assert ask(conn, verp.make_bounce_address(31)) == b"OK bounces"
        assert ask(conn, verp.make_unsubscribe_address(31)) == b"OK unsubscribe"
        assert ask(conn, "BOUNCES+1F-0123456789ABCDEF@Lists.Course.Example.org") == b"OK bounces"
        for key in ("bounces@lists.course.example.org", "bounces+zz-0123456789abcdef@lists.course.example.org",
                    "bounces+1f-0123@lists.course.example.org", "unsubscribe+@lists.course.example.org",
                    "bounces+1f-0123456789abcdef@elsewhere.example.org", "owner@lists.course.example.org"):
            assert ask(conn, key) == b"NOTFOUND ", key


def test_many_requests_share_one_connection(server, cohort):
    group = make_group(cohort, 1)
    with connect(server) as conn:
        conn.sendall(b"".join(socketmap.netstring(f"recipient {k}".encode())
                              for k in (group.address, "x@lists.course.example.org", group.address)))
        assert [read_reply(conn) for _ in range(3)] == [b"OK group", b"NOTFOUND ", b"OK group"]


def test_an_unknown_map_name_is_a_permanent_error_and_closes(server, cohort):
    group = make_group(cohort, 1)
    with connect(server) as conn:
        assert ask(conn, group.address, name="virtual").startswith(b"PERM unknown map")
        assert closed(conn)
    with connect(server) as conn:
        conn.sendall(socketmap.netstring(b"recipient"))
        assert read_reply(conn).startswith(b"PERM expected a map name")


@pytest.mark.parametrize("request_bytes", [
    b"abc:recipient x,",  # length not a number
    b"-5:recipient x,",
    b"012:recipient x@y,",  # leading zero
    b"11:recipient x;",  # no comma
    b"3:recipient x,",  # length shorter than the payload: the comma is not where it says
    b"99999:",  # longer than any request we take
    b"123456789012345678901234567890:",  # a length that never ends
    b":",
])
def test_a_bad_netstring_is_refused_and_the_connection_closed(server, request_bytes):
    with connect(server) as conn:
        conn.sendall(request_bytes)
        reply = read_reply(conn)
        assert reply.startswith(b"PERM "), reply
        assert closed(conn)


def test_an_oversized_request_is_refused_before_it_is_read(server):
    with connect(server) as conn:
        conn.sendall(b"%d:recipient " % (socketmap.MAX_REQUEST + 1))
        assert read_reply(conn) == b"PERM request too long"
        assert closed(conn)


def test_a_request_of_the_largest_size_is_answered(server):
    key = "a" * (socketmap.MAX_REQUEST - len("recipient ") - len("@lists.course.example.org"))
    with connect(server) as conn:
        assert ask(conn, key + "@lists.course.example.org") == b"NOTFOUND "


def test_bytes_that_are_not_utf8_are_no_address(server):
    with connect(server) as conn:
        conn.sendall(socketmap.netstring(b"recipient \xff\xfe@lists.course.example.org"))
        assert read_reply(conn) == b"NOTFOUND "
        conn.sendall(socketmap.netstring(b"recipient a\x00b@lists.course.example.org"))
        assert read_reply(conn) == b"NOTFOUND "


def test_a_client_that_stops_inside_a_request_is_disconnected(server, monkeypatch):
    monkeypatch.setattr(socketmap, "REQUEST_TIMEOUT", 0.3)
    with connect(server) as conn:
        conn.sendall(b"40:recipient slow")
        started = time.monotonic()
        assert closed(conn)
        assert time.monotonic() - started < 5


def test_a_client_trickling_a_byte_at_a_time_is_cut_off(server, monkeypatch):
    monkeypatch.setattr(socketmap, "REQUEST_TIMEOUT", 0.5)
    request = socketmap.netstring(b"recipient " + b"x" * 200 + b"@lists.course.example.org")
    with connect(server) as conn:
        started = time.monotonic()
        try:
            for byte in request:
                conn.sendall(bytes([byte]))
                time.sleep(0.02)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert closed(conn)
        assert time.monotonic() - started < 4


def test_an_idle_client_is_disconnected(server, monkeypatch):
    monkeypatch.setattr(socketmap, "IDLE_TIMEOUT", 0.3)
    with connect(server) as conn:
        assert ask(conn, "x@lists.course.example.org") == b"NOTFOUND "
        assert closed(conn)


def test_connections_past_the_limit_are_closed_and_others_still_served(server, monkeypatch):
    monkeypatch.setattr(socketmap, "MAX_CONNECTIONS", 3)
    held = [connect(server) for _ in range(3)]
    try:
        for conn in held:  # each is being served once it has had an answer
            assert ask(conn, "x@lists.course.example.org") == b"NOTFOUND "
        with connect(server) as extra:
            assert closed(extra)
        held.pop().close()
        time.sleep(0.2)
        with connect(server) as conn:
            assert ask(conn, "x@lists.course.example.org") == b"NOTFOUND "
    finally:
        for conn in held:
            conn.close()


def test_a_database_failure_is_a_temporary_error(server, monkeypatch):
    def broken(address: str) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(socketmap.recipients, "known", broken)
    with connect(server) as conn:
        assert ask(conn, "x@lists.course.example.org") == b"TEMP lookup failed; try again later"
        assert ask(conn, "y@lists.course.example.org").startswith(b"TEMP")  # still connected


def test_stop_closes_open_connections(cohort):
    running = socketmap.start("127.0.0.1", 0)
    conn = connect(running)
    assert ask(conn, "x@lists.course.example.org") == b"NOTFOUND "
    running.stop()
    assert closed(conn)
    conn.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((running.host, running.port), timeout=5)


def test_a_port_in_use_is_refused_at_once():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError):
            socketmap.start("127.0.0.1", busy.getsockname()[1])


@pytest.mark.tool("postmap")
def test_postfixs_own_client_gets_the_answers(server, cohort, tmp_path):
    group = make_group(cohort, 4)
    table = f"socketmap:inet:{server.host}:{server.port}:recipient"
    (tmp_path / "main.cf").write_text("compatibility_level = 3.6\n")  # postmap reads a main.cf

    def postmap(key: str) -> subprocess.CompletedProcess:
        return subprocess.run([testing.find_tool("postmap") or "postmap", "-c", str(tmp_path), "-q", key, table],
                              capture_output=True, text=True, timeout=30)

    found = postmap(group.address)
    assert (found.returncode, found.stdout.strip()) == (0, "group"), found.stderr
    missing = postmap("nobody@lists.course.example.org")
    assert (missing.returncode, missing.stdout) == (1, ""), missing.stderr


def test_the_group_lookup_uses_an_index(cohort):
    make_group(cohort, 1)
    with CaptureQueriesContext(connection) as queries:
        assert find_group("PY-3-Group-2@lists.course.example.org") is None
    (query,) = queries.captured_queries
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")  # a table this small is scanned anyway
        cursor.execute(explain + query["sql"])
        plan = " ".join(str(cell) for row in cursor.fetchall() for cell in row)
        if connection.vendor == "postgresql":
            cursor.execute("RESET enable_seqscan")
    assert "group_address_lower" in plan, plan
