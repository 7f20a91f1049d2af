"""The HTTP server's intake against a real Waitress on a free port, in-process,
with a stub engine (no Docker): credentials and declared sizes are judged
before the body is read, bodies over the limit are cut while they arrive,
slow and silent clients are cut, and a long job is not."""
import json
import socket
import threading
import time

import pytest

from execd.config import load_settings
from execd.http.app import Authenticator, create_app
from execd.http.server import CLEANUP_INTERVAL_S, HttpServer

PORT = None  # the server binds a free port; set by the fixture
REQUEST_TIMEOUT_S = 3
IDLE_TIMEOUT_S = 2
MAX_BODY = 65536
KEY = "intake-test-key"
LONG_JOB_S = REQUEST_TIMEOUT_S + 3
# A check runs on the maintenance pass (every CLEANUP_INTERVAL_S) of a loop
# that wakes at least once a second.
SLACK_S = CLEANUP_INTERVAL_S + 1.5


class StubEngine:
    def execute(self, raw, tick=None):
        if b'"sleep"' in raw:
            time.sleep(LONG_JOB_S)
        return {"id": "stub", "status": "completed", "verdict": "pass", "language": "python", "results": [],
                "totalTime": 0}

    def languages(self):
        return [{"name": "python"}]


class StubHealth:
    draining = False

    def report(self):
        return True, {"status": "ok"}


@pytest.fixture(scope="module")
def server():
    settings = load_settings(None, environ={
        "HTTP_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT_S), "HTTP_IDLE_TIMEOUT": str(IDLE_TIMEOUT_S),
        "HTTP_MAX_BODY_BYTES": str(MAX_BODY), "HTTP_CONCURRENCY": "2"})
    app = create_app(settings, StubEngine(), StubHealth(), None, Authenticator([KEY]))
    global PORT
    srv = HttpServer(app, "127.0.0.1", 0, settings.http_concurrency + 4).start()
    PORT = srv.port
    yield srv
    srv.stop()


def connect():
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def head(method, path, headers):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: localhost"] + ["%s: %s" % kv for kv in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_response(sock, timeout):
    """(status, headers, parsed JSON body) of one response, or None if the
    connection closed first. Raises socket.timeout when nothing came."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    header, _, body = data.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, json.loads(body[:length]) if length else None


def wait_closed(sock, timeout):
    """Seconds until the server closed the connection (reading and dropping what it sent)."""
    started = time.monotonic()
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Flood(threading.Thread):
    """Sends `body_chunk` (or chunked frames of it) as fast as the socket takes it, for `seconds`."""

    def __init__(self, sock, body_chunk, seconds, chunked=False):
        super().__init__(daemon=True)
        self.sock, self.seconds = sock, seconds
        self.data = (b"%x\r\n%s\r\n" % (len(body_chunk), body_chunk)) if chunked else body_chunk
        self.sent = 0
        self.error = None

    def run(self):
        end = time.monotonic() + self.seconds
        try:
            while time.monotonic() < end:
                self.sent += self.sock.send(self.data)
        except OSError as e:  # the server closed the connection: what is expected
            self.error = e


def test_unauthenticated_huge_body_is_refused_before_it_is_read(server):
    sock = connect()
    sock.settimeout(5)
    before = rss_kb()
    sock.sendall(head("POST", "/api/execute", {"Content-Length": str(1 << 30), "Content-Type": "application/json"}))
    sent_headers = time.monotonic()
    flood = Flood(sock, b"x" * 65536, seconds=2)
    flood.start()
    status, headers, body = read_response(sock, timeout=1)
    answered_s = time.monotonic() - sent_headers
    assert answered_s < 1
    assert status == 401 and body["error"]["code"] == "unauthorized" and body["error"]["message"]
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"
    assert headers["www-authenticate"] == 'Bearer realm="execd"'
    flood.join(5)
    grown_mb = (rss_kb() - before) / 1024
    print("1 GiB unauthenticated upload: 401 after %.1f ms, %.1f MB sent, server RSS %+.1f MB"
          % (answered_s * 1000, flood.sent / 1e6, grown_mb))
    assert grown_mb < 20, "server RSS grew %.1f MB" % grown_mb
    # The server stopped reading: no more got through than the kernel's socket
    # buffers hold (at full loopback speed 2 s would carry gigabytes).
    assert flood.sent < 32 << 20, flood.sent
    assert wait_closed(sock, 5) < 5
    sock.close()


def test_unauthenticated_expect_continue_gets_401_not_100(server):
    sock = connect()
    sock.sendall(head("POST", "/api/execute", {"Content-Length": "100", "Expect": "100-continue",
                                               "Authorization": "Bearer wrong"}))
    status, _, body = read_response(sock, timeout=1)
    assert status == 401 and body["error"] == {"code": "unauthorized", "message": "invalid token"}
    sock.close()


def test_declared_body_over_the_limit_is_413_before_the_body(server):
    sock = connect()
    sock.sendall(head("POST", "/api/execute", {"Content-Length": str(MAX_BODY + 1), "Authorization": "Bearer " + KEY,
                                               "Content-Type": "application/json"}))
    status, _, body = read_response(sock, timeout=1)  # not one byte of the body was sent
    assert status == 413 and body["error"]["code"] == "invalid_job"
    assert wait_closed(sock, 5) < 5
    sock.close()


def test_a_client_that_sends_its_whole_body_first_still_reads_the_413(server):
    # urllib writes the whole body before reading: a plain close with unread
    # data would reset the connection under it (the lingering close drains it).
    import urllib.error
    import urllib.request

    req = urllib.request.Request("http://127.0.0.1:%d/api/execute" % PORT, data=b"{" + b" " * (3 * MAX_BODY) + b"}",
                                 headers={"Authorization": "Bearer " + KEY, "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 413 and json.loads(err.value.read())["error"]["code"] == "invalid_job"


def test_chunked_body_over_the_limit_is_413_while_it_arrives(server):
    sock = connect()
    sock.sendall(head("POST", "/api/execute", {"Transfer-Encoding": "chunked", "Authorization": "Bearer " + KEY,
                                               "Content-Type": "application/json"}))
    flood = Flood(sock, b"x" * 8192, seconds=2, chunked=True)
    flood.start()
    status, _, body = read_response(sock, timeout=2)
    assert status == 413 and body["error"] == {"code": "invalid_job", "message": "body over %d bytes" % MAX_BODY}
    flood.join(5)
    assert flood.sent < 32 << 20
    sock.close()


def test_body_at_the_limit_is_accepted(server):
    body = b'{"pad": "' + b" " * (MAX_BODY - 11) + b'"}'
    assert len(body) == MAX_BODY
    sock = connect()
    sock.sendall(head("POST", "/api/execute", {"Content-Length": str(len(body)), "Authorization": "Bearer " + KEY,
                                               "Content-Type": "application/json"}) + body)
    status, _, result = read_response(sock, timeout=5)
    assert status == 200 and result["verdict"] == "pass"
    sock.close()


def test_slowloris_headers_are_cut_after_the_request_timeout(server):
    sock = connect()
    request = head("POST", "/api/execute", {"Authorization": "Bearer " + KEY, "Content-Length": "2",
                                            "X-Padding": "p" * 100})
    started = time.monotonic()
    stop = threading.Event()

    def trickle():
        try:
            for byte in request:
                if stop.wait(0.5):
                    return
                sock.send(bytes([byte]))
        except OSError:
            pass

    threading.Thread(target=trickle, daemon=True).start()
    try:
        response = read_response(sock, timeout=REQUEST_TIMEOUT_S + SLACK_S + 2)
    finally:
        stop.set()
    elapsed = time.monotonic() - started
    # Never idle for IDLE_TIMEOUT_S, so only the request timeout can cut it.
    assert REQUEST_TIMEOUT_S - 0.5 <= elapsed < REQUEST_TIMEOUT_S + SLACK_S, elapsed
    status, _, body = response
    assert status == 408 and body["error"]["code"] == "invalid_job"
    assert wait_closed(sock, 3) < 3
    sock.close()


def test_slow_body_is_cut_after_the_request_timeout(server):
    sock = connect()
    sock.sendall(head("POST", "/api/execute", {"Authorization": "Bearer " + KEY, "Content-Length": "1000",
                                               "Content-Type": "application/json"}))
    started = time.monotonic()
    stop = threading.Event()

    def trickle():
        try:
            while not stop.wait(0.5):
                sock.send(b" ")
        except OSError:
            pass

    threading.Thread(target=trickle, daemon=True).start()
    try:
        status, _, _ = read_response(sock, timeout=REQUEST_TIMEOUT_S + SLACK_S + 2)
    finally:
        stop.set()
    assert status == 408 and time.monotonic() - started < REQUEST_TIMEOUT_S + SLACK_S
    sock.close()


def test_silent_connection_is_cut_after_the_idle_timeout(server):
    sock = connect()
    elapsed = wait_closed(sock, IDLE_TIMEOUT_S + SLACK_S + 5)
    assert IDLE_TIMEOUT_S - 0.5 <= elapsed < IDLE_TIMEOUT_S + SLACK_S, elapsed
    sock.close()


def test_a_job_longer_than_the_request_timeout_still_gets_its_200(server):
    body = b'{"sleep": true}'
    sock = connect()
    started = time.monotonic()
    sock.sendall(head("POST", "/api/execute", {"Content-Length": str(len(body)), "Authorization": "Bearer " + KEY,
                                               "Content-Type": "application/json"}) + body)
    status, _, result = read_response(sock, timeout=LONG_JOB_S + 10)
    assert status == 200 and result["verdict"] == "pass"
    assert time.monotonic() - started >= LONG_JOB_S
    sock.close()


def test_keep_alive_serves_several_requests_on_one_connection(server):
    sock = connect()
    for _ in range(3):
        sock.sendall(head("GET", "/api/languages", {"Authorization": "Bearer " + KEY}))
        status, _, body = read_response(sock, timeout=5)
        assert status == 200 and body == {"languages": [{"name": "python"}]}
    sock.close()


def test_health_needs_no_credentials(server):
    sock = connect()
    sock.sendall(head("GET", "/health", {}))
    status, headers, body = read_response(sock, timeout=5)
    assert status == 200 and body == {"status": "ok"} and headers["content-type"].startswith("application/json")
    sock.close()


def test_malformed_request_gets_a_contract_body(server):
    sock = connect()
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
    status, _, body = read_response(sock, timeout=5)
    assert status == 400 and body["error"]["code"] == "invalid_job"
    sock.close()
