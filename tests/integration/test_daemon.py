"""`execd serve` end to end: a real daemon process, the real RabbitMQ, real Docker.

One daemon (2 workers) serves this module; every queue name carries a uuid so
runs never collide, and the daemon's sandboxes carry an instance label that
must be gone once it has stopped.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import jwt
import pika
import pytest

from tests.conftest import contract_result

pytestmark = pytest.mark.docker

API_KEY = "test-key-" + uuid.uuid4().hex
JWT_SECRET = "test-secret-" + uuid.uuid4().hex + uuid.uuid4().hex
TRIVIAL = {"language": "python", "code": "def solution(n):\n    return n * 2\n",
           "testCases": [{"input": "21", "expectedOutput": "42"}]}


def sleeper(seconds):
    return {"language": "python", "code": "import time\ndef solution(n):\n    time.sleep(%s)\n    return n\n" % seconds,
            "testCases": [{"input": "7", "expectedOutput": "7"}], "timeLimitMs": 10000}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, tmp_path, **env):
        tag = uuid.uuid4().hex[:8]
        self.port = free_port()
        self.instance = "test-" + tag
        self.jobs = "test-jobs-" + tag
        self.results = "test-results-" + tag
        self.dead = self.jobs + ".dead"
        self.env = dict(os.environ, WORKERS="2", PORT=str(self.port), EXECUTION_QUEUE=self.jobs,
                        RESULT_QUEUE=self.results, INSTANCE_NAME=self.instance, EXECD_API_KEYS=API_KEY,
                        JWT_SECRET=JWT_SECRET, POOL_SIZES="python=1,javascript=1",
                        GRACEFUL_TIMEOUT="30", HTTP_CONCURRENCY="4", MAX_DELIVERIES="1",
                        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"), WORKER_START_SECS="2")
        self.env.update(env)
        self.env.pop("EXECD_AUTH", None)
        self.log_path = tmp_path / ("daemon-%s.log" % tag)
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "execd", "serve"], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready()
        return self

    def wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        body = None
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "daemon exited: %s" % self.tail()
            try:
                status, body = self.get("/health")
                if status == 200 and body["workers"]["ready"] == body["workers"]["configured"]:
                    return body
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError("daemon not ready: %s\n%s" % (body, self.tail()))

    def tail(self):
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def request(self, method, path, body=None, token=API_KEY, headers=None):
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                raw = resp.read()
                answer = json.loads(raw) if resp.headers.get_content_type() == "application/json" else raw
                if method == "POST" and path == "/api/execute":
                    contract_result(answer)
                return resp.status, answer, resp.headers
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw) if raw.startswith(b"{") else raw, e.headers

    def get(self, path, token=None):
        status, body, _ = self.request("GET", path, token=token)
        return status, body

    def worker_pids(self):
        try:
            with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def stop(self, timeout=90):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()


@pytest.fixture(scope="module")
def daemon(broker, docker_client, tmp_path_factory):
    yield from served(Daemon(tmp_path_factory.mktemp("daemon")), broker, docker_client)


def served(d, broker, docker_client):
    """A fixture's body: start `d`, then check it stopped cleanly, leaving no sandbox; its queues
    are deleted whatever happened."""
    d.start()
    yield d
    code = d.stop()
    try:
        assert code == 0, d.tail()
        left = docker_client.containers.list(all=True, filters={"label": "execd.instance=" + d.instance})
        assert left == [], "sandboxes left behind: %s" % [c.name for c in left]
    finally:
        conn = pika.BlockingConnection(pika.URLParameters(broker))
        ch = conn.channel()
        for q in (d.jobs, d.results, d.dead):
            ch.queue_delete(q)
        conn.close()


class Broker:
    """A test-side connection: publish jobs, wait for results."""

    def __init__(self, url):
        self.conn = pika.BlockingConnection(pika.URLParameters(url))
        self.ch = self.conn.channel()

    def reply_queue(self):
        return self.ch.queue_declare("", exclusive=True).method.queue

    def publish(self, queue, body, reply_to=None, correlation_id=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.ch.basic_publish("", queue, data, pika.BasicProperties(
            reply_to=reply_to, correlation_id=correlation_id, delivery_mode=2, content_type="application/json",
            timestamp=int(time.time())))

    def collect(self, queue, count=1, timeout=90):
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            method, props, body = self.ch.basic_get(queue, auto_ack=True)
            if method is None:
                self.conn.process_data_events(0.1)
                continue
            got.append((props, contract_result(json.loads(body))))
        return got

    def count(self, queue):
        return self.ch.queue_declare(queue, passive=True).method.message_count

    def close(self):
        try:
            self.conn.close()
        except pika.exceptions.AMQPError:
            pass  # already closed by the broker


@pytest.fixture
def amqp(broker):
    b = Broker(broker)
    yield b
    b.close()


def settled_count(broker, queue, quiet=1.0, timeout=15):
    """A queue's depth once it stopped changing: a result is published
    before its job is rejected, so dead-lettering trails the result."""
    deadline = time.monotonic() + timeout
    last = broker.count(queue)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = broker.count(queue)
        if now == last:
            return now
        last = now
    return last


def in_flight(daemon):
    _, body = daemon.get("/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith('execd_jobs_in_flight{source="amqp"}'):
            total += float(line.split()[-1])
    return total


# -- AMQP ----------------------------------------------------------------------


def test_rpc_round_trip(daemon, amqp):
    reply = amqp.reply_queue()
    amqp.publish(daemon.jobs, dict(TRIVIAL, id="rpc-1"), reply_to=reply, correlation_id="corr-1")
    [(props, result)] = amqp.collect(reply)
    assert props.correlation_id == "corr-1" and props.content_type == "application/json"
    assert props.delivery_mode == 2
    assert result["id"] == "rpc-1" and result["verdict"] == "pass"


def test_results_queue_fallback(daemon, amqp):
    amqp.publish(daemon.jobs, dict(TRIVIAL, id="fallback-1"))
    [(props, result)] = amqp.collect(daemon.results)
    assert props.correlation_id == "fallback-1" and result["verdict"] == "pass"


def test_invalid_message_gets_an_error_result_and_is_dead_lettered(daemon, amqp):
    reply = amqp.reply_queue()
    amqp.publish(daemon.jobs, b"this is not json", reply_to=reply, correlation_id="bad-1")
    amqp.publish(daemon.jobs, {"language": "cobol", "code": "x", "testCases": [{"input": "1"}]}, reply_to=reply,
                 correlation_id="bad-2")
    results = {p.correlation_id: r for p, r in amqp.collect(reply, 2)}
    assert results["bad-1"]["error"]["code"] == "invalid_job" and results["bad-1"]["results"] == []
    assert results["bad-2"]["error"]["code"] == "unsupported_language"
    deadline = time.monotonic() + 10
    while amqp.count(daemon.dead) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert amqp.count(daemon.dead) == 2


def test_conformance_over_amqp(daemon, amqp):
    from tests.conftest import load_conformance

    records = load_conformance()
    assert records[0] is not None
    reply = amqp.reply_queue()
    for rec in records:
        amqp.publish(daemon.jobs, rec["job"], reply_to=reply, correlation_id=rec["name"])
    got = {p.correlation_id: r for p, r in amqp.collect(reply, len(records), timeout=180)}
    assert len(got) == len(records)
    for rec in records:
        res, exp = got[rec["name"]], rec["expect"]
        assert res["status"] == exp["status"], (rec["name"], res)
        if exp["status"] == "error":
            assert res["error"]["code"] == exp["error_code"]
        else:
            assert res["verdict"] == exp["verdict"], (rec["name"], res)


def test_worker_killed_mid_job_is_redelivered_and_completed(daemon, amqp):
    reply = amqp.reply_queue()
    amqp.publish(daemon.jobs, dict(sleeper(3), id="killed-1"), reply_to=reply, correlation_id="killed-1")
    deadline = time.monotonic() + 30
    while in_flight(daemon) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert in_flight(daemon) >= 1
    for pid in daemon.worker_pids():
        os.kill(pid, signal.SIGKILL)
    results = amqp.collect(reply, 1, timeout=90)
    assert results and results[0][1]["id"] == "killed-1" and results[0][1]["verdict"] == "pass", results
    daemon.wait_ready()
    _, metrics = daemon.get("/metrics")
    restarts = [float(line.split()[-1]) for line in metrics.decode().splitlines()
                if line.startswith("execd_worker_restarts_total ")]
    assert restarts and restarts[0] >= 2


def test_poison_job_ends_in_internal_error(daemon, amqp):
    # MAX_DELIVERIES=1: the first delivery and one redelivery die with their
    # worker; the next delivery gets internal_error and is dead-lettered.
    reply = amqp.reply_queue()
    dead_before = settled_count(amqp, daemon.dead)
    amqp.publish(daemon.jobs, dict(sleeper(8), id="poison-1"), reply_to=reply, correlation_id="poison-1")
    kills = 0
    results = []
    deadline = time.monotonic() + 150
    while not results and time.monotonic() < deadline:
        if in_flight(daemon) >= 1:
            for pid in daemon.worker_pids():
                os.kill(pid, signal.SIGKILL)
            kills += 1
            time.sleep(1)
        results = amqp.collect(reply, 1, timeout=0.5)
    assert results, "no result after %d kills" % kills
    result = results[0][1]
    assert result["id"] == "poison-1" and result["status"] == "error"
    assert result["error"]["code"] == "internal_error"
    assert kills >= 2  # a kill may also hit workers still booting after the last one
    assert settled_count(amqp, daemon.dead) == dead_before + 1
    daemon.wait_ready()


def test_broker_connections_closed_workers_reconnect(daemon):
    out = subprocess.run(["rabbitmqctl", "close_all_connections", "test: forced close"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    daemon.wait_ready(timeout=60)
    b = Broker("amqp://guest:guest@127.0.0.1:5672/%2F")  # ours was closed too
    try:
        reply = b.reply_queue()
        for i in range(4):
            b.publish(daemon.jobs, dict(TRIVIAL, id="after-close-%d" % i), reply_to=reply, correlation_id=str(i))
        assert len(b.collect(reply, 4, timeout=60)) == 4
    finally:
        b.close()
    _, metrics = daemon.get("/metrics")
    assert b"execd_amqp_reconnects_total" in metrics


# -- HTTP ------------------------------------------------------------------------


def test_http_auth_matrix(daemon):
    expired = jwt.encode({"sub": "t", "exp": int(time.time()) - 10}, JWT_SECRET, algorithm="HS256")
    valid = jwt.encode({"sub": "t", "exp": int(time.time()) + 300}, JWT_SECRET, algorithm="HS256")
    wrong_key = jwt.encode({"sub": "t", "exp": int(time.time()) + 300}, "not-the-secret" * 4, algorithm="HS256")
    no_exp = jwt.encode({"sub": "t"}, JWT_SECRET, algorithm="HS256")
    for token, status in ((None, 401), ("nope", 401), (expired, 401), (wrong_key, 401), (no_exp, 401),
                          (API_KEY, 200), (valid, 200)):
        code, body, _ = daemon.request("POST", "/api/execute", TRIVIAL, token=token)
        assert code == status, (token, body)
        if status == 401:
            assert body["error"]["code"] == "unauthorized"
        else:
            assert body["verdict"] == "pass"
    code, body, _ = daemon.request("GET", "/api/languages", token=None)
    assert code == 401
    code, body, _ = daemon.request("GET", "/api/languages")
    names = {lang["name"] for lang in body["languages"]}
    assert code == 200 and names == {"python", "javascript", "typescript", "java", "c", "cpp", "go", "rust", "ruby",
                                     "php"}


def test_http_errors(daemon):
    code, body, _ = daemon.request("POST", "/api/execute", b"{not json")
    assert code == 400 and body["error"]["code"] == "invalid_job"
    code, body, _ = daemon.request("POST", "/api/execute", dict(TRIVIAL, timeLimitMs=10001))
    assert code == 400 and body["error"]["code"] == "limit_exceeded"
    code, body, _ = daemon.request("POST", "/api/execute", b"x=1", headers={"Content-Type": "text/plain"})
    assert code == 415
    code, body, _ = daemon.request("POST", "/api/execute", b"{" + b" " * (5 * 1024 * 1024) + b"}")
    assert code == 413


def test_health_and_metrics(daemon, amqp):
    reply = amqp.reply_queue()
    amqp.publish(daemon.jobs, dict(TRIVIAL, id="metrics-1"), reply_to=reply, correlation_id="metrics-1")
    assert amqp.collect(reply, 1)
    status, body = daemon.get("/health")
    assert status == 200 and body["status"] == "ok"
    assert body["docker"] == "up" and body["broker"] == "up"
    assert body["sandboxRuntime"] == (os.environ.get("SANDBOX_RUNTIME") or "default")
    assert body["workers"] == {"configured": 2, "live": 2, "ready": 2, "waitingEngine": 0}
    daemon.request("POST", "/api/execute", TRIVIAL)
    status, metrics = daemon.get("/metrics")
    text = metrics.decode()
    assert status == 200
    for name in ("execd_jobs_total", "execd_job_duration_seconds_bucket", "execd_sandbox_start_seconds_count",
                 "execd_warm_pool_size", "execd_live_workers", "execd_http_requests_total",
                 "execd_queue_wait_seconds_count"):
        assert name in text, name
    assert 'execd_jobs_total{language="python",source="http",verdict="pass"}' in text
    assert 'source="amqp"' in text


def test_200_concurrent_http_requests(daemon, docker_client):
    def call(i):
        code, body, headers = daemon.request("POST", "/api/execute", dict(TRIVIAL, id="c-%d" % i))
        if code == 503:
            assert body["error"]["code"] == "overloaded" and headers.get("Retry-After")
        else:
            assert code == 200 and body["verdict"] == "pass", body
        return code

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(call, range(200)))
    assert len(codes) == 200 and set(codes) <= {200, 503} and 200 in codes
    status, _ = daemon.get("/health")
    assert status == 200


def test_sighup_replaces_workers_without_losing_jobs(daemon, amqp):
    before = set(daemon.worker_pids())
    reply = amqp.reply_queue()
    for i in range(6):
        amqp.publish(daemon.jobs, dict(sleeper(0.5), id="hup-%d" % i), reply_to=reply, correlation_id=str(i))
    os.kill(daemon.proc.pid, signal.SIGHUP)
    results = amqp.collect(reply, 6, timeout=120)
    assert sorted(r["id"] for _, r in results) == ["hup-%d" % i for i in range(6)]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        after = set(daemon.worker_pids())
        if len(after) == 2 and not (after & before):
            break
        time.sleep(0.5)
    assert len(after) == 2 and not (after & before), (before, after)
    daemon.wait_ready()


def test_sigterm_during_a_job_loses_nothing(broker, docker_client, tmp_path):
    d = Daemon(tmp_path, WORKERS="1").start()
    b = Broker(broker)
    try:
        reply = b.reply_queue()
        b.publish(d.jobs, dict(sleeper(2), id="term-1"), reply_to=reply, correlation_id="term-1")
        deadline = time.monotonic() + 30
        while in_flight(d) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        t0 = time.monotonic()
        assert d.stop() == 0, d.tail()
        assert time.monotonic() - t0 < 30
        results = b.collect(reply, 1, timeout=5)
        # Completed and acknowledged, or back in the queue: never lost.
        assert (results and results[0][1]["verdict"] == "pass") or b.count(d.jobs) == 1
        left = docker_client.containers.list(all=True, filters={"label": "execd.instance=" + d.instance})
        assert left == []
    finally:
        for q in (d.jobs, d.results, d.dead):
            b.ch.queue_delete(q)
        b.close()


def test_systemd_notifications(broker, docker_client, tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.5)
    d = Daemon(tmp_path, WORKERS="1", NOTIFY_SOCKET=path).start()
    try:
        assert d.stop() == 0, d.tail()
        received = []
        while True:
            try:
                received.append(sock.recv(4096).decode())
            except socket.timeout:
                break
        assert received[0] == "READY=1" and "STOPPING=1" in received, received
    finally:
        sock.close()
        b = Broker(broker)
        for q in (d.jobs, d.results, d.dead):
            b.ch.queue_delete(q)
        b.close()
