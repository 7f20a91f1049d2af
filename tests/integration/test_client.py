"""execd.client and `execd submit` against a real daemon, broker and engine: results, typed
errors, timeouts and a reconnect after the broker dropped the client's connection."""
import json
import subprocess
import sys
import threading
import time
import uuid

import pika
import pytest

from execd import client
from tests.conftest import contract_result
from tests.integration.test_daemon import API_KEY, TRIVIAL, daemon, sleeper  # noqa: F401 (daemon: a fixture)

pytestmark = pytest.mark.docker

FAILING = dict(TRIVIAL, testCases=[{"input": "21", "expectedOutput": "43"}])
INVALID = {"language": "python", "code": 42, "testCases": []}


@pytest.fixture
def amqp_client(daemon, broker):
    with client.AmqpClient(broker, queue=daemon.jobs, timeout=60) as c:
        yield c


@pytest.fixture
def http_client(daemon):
    return client.HttpClient("http://127.0.0.1:%d" % daemon.port, api_key=API_KEY, timeout=60)


def test_amqp_execute_returns_the_result_with_the_id_it_gave_the_job(amqp_client):
    res = contract_result(amqp_client.execute(TRIVIAL))
    assert res["status"] == "completed" and res["verdict"] == "pass", res
    uuid.UUID(res["id"])  # the client gave the job an id to deduplicate by
    assert amqp_client.execute(FAILING)["verdict"] == "fail"
    mine = amqp_client.execute(dict(TRIVIAL, id="battle-7.round-2"))
    assert mine["id"] == "battle-7.round-2"


@pytest.mark.parametrize("make", ["amqp_client", "http_client"])
def test_a_refused_job_raises_job_refused_with_the_error_result(make, request):
    c = request.getfixturevalue(make)
    with pytest.raises(client.JobRefused) as e:
        c.execute(INVALID)
    assert e.value.code == "invalid_job" and "code" in e.value.message
    assert contract_result(e.value.result)["status"] == "error" and e.value.result["results"] == []


def test_http_execute_and_its_typed_errors(daemon, http_client):
    assert contract_result(http_client.execute(TRIVIAL))["verdict"] == "pass"
    assert "python" in [lang["name"] for lang in http_client.languages()["languages"]]
    with pytest.raises(client.Unauthorized):
        client.HttpClient("http://127.0.0.1:%d" % daemon.port, api_key="wrong").execute(TRIVIAL)
    with pytest.raises(client.Unavailable):
        client.HttpClient("http://127.0.0.1:9", api_key=API_KEY, timeout=5).execute(TRIVIAL)


def test_amqp_timeout_and_a_missing_queue_are_typed_errors(broker):
    conn = pika.BlockingConnection(pika.URLParameters(broker))
    idle = conn.channel().queue_declare("", exclusive=True).method.queue  # nobody consumes it
    try:
        with client.AmqpClient(broker, queue=idle, timeout=1.5) as c:
            started = time.monotonic()
            with pytest.raises(client.Timeout):
                c.execute(TRIVIAL)
            assert time.monotonic() - started < 10
        with client.AmqpClient(broker, queue="no-such-queue-" + uuid.uuid4().hex, timeout=5) as c:
            with pytest.raises(client.Unavailable, match="no queue"):
                c.execute(TRIVIAL)
    finally:
        conn.close()


def client_connection_pids():
    """rabbitmqctl close_connection takes the connection's Erlang pid."""
    out = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid", "client_properties"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return [line.split("\t")[0] for line in out.splitlines() if "amqp_client_under_test" in line]


def test_amqp_reconnects_when_the_broker_drops_the_connection_mid_job(daemon, broker):
    c = client.AmqpClient(broker, queue=daemon.jobs, timeout=60, connection_name="amqp_client_under_test")

    dropped = []

    def drop_it():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            names = client_connection_pids()
            if names:
                time.sleep(0.5)  # the job is published and its result awaited
                for name in names:
                    dropped.append(name)
                    subprocess.run(["rabbitmqctl", "-q", "close_connection", name, "test drops the client"],
                                   capture_output=True, timeout=30, check=True)
                return
            time.sleep(0.2)

    dropper = threading.Thread(target=drop_it)
    dropper.start()
    try:
        res = c.execute(sleeper(6))  # long enough for rabbitmqctl (about 1 s a call) to find and drop it
    finally:
        dropper.join()
        c.close()
    assert dropped, "the test never found the client's connection"
    assert c.reconnections == 1
    assert res["status"] == "completed" and res["verdict"] == "pass", res


def submit(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "execd", "submit", *args], input=stdin, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("job,exit_code", [(TRIVIAL, 0), (FAILING, 1), (INVALID, 2)])
def test_execd_submit_exit_codes_over_amqp_and_http(daemon, broker, job, exit_code):
    over_amqp = submit("--job", "-", "--amqp-url", broker, "--queue", daemon.jobs, stdin=json.dumps(job))
    assert over_amqp.returncode == exit_code, over_amqp.stderr
    over_http = submit("--job", "-", "--http", "http://127.0.0.1:%d" % daemon.port, "--api-key", API_KEY,
                       stdin=json.dumps(job))
    assert over_http.returncode == exit_code, over_http.stderr
    for done in (over_amqp, over_http):
        result = contract_result(json.loads(done.stdout))
        assert result["status"] == ("error" if exit_code == 2 else "completed")


def test_execd_submit_says_why_when_no_result_comes(broker):
    done = submit("--job", "-", "--amqp-url", broker, "--queue", "no-such-queue-" + uuid.uuid4().hex,
                  "--timeout", "5", stdin=json.dumps(TRIVIAL))
    assert done.returncode == 2 and "unavailable" in done.stderr and done.stdout == ""
