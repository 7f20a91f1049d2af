"""Messages built to stop workers, against a real daemon and the real RabbitMQ.

Each poison message must get the contract's error result and be
dead-lettered, with no worker restarted; forged delivery-count headers must
neither dead-letter a good job nor keep a bad one alive; reply_to cannot
point results at execd's own queues. The same bodies over HTTP get 4xx.
"""
import json
import time

import pika
import pytest

from tests.integration.test_daemon import TRIVIAL, Broker, Daemon, settled_count

pytestmark = pytest.mark.docker

MAX_MESSAGE_BYTES = 65536
DEEP = "[" * 5000 + "]" * 5000
JOB_FIELDS = '"language": "python", "code": "def solution(n):\\n    return n\\n", "testCases": [{"input": "1"}]'

# name -> (body, the error code it must get)
POISON = {
    "deep-nesting": (DEEP.encode(), "invalid_job"),
    "deep-object": (('{"a":' * 5000 + "1" + "}" * 5000).encode(), "invalid_job"),
    "infinite-time-limit": (("{%s, \"timeLimitMs\": 1e400}" % JOB_FIELDS).encode(), "invalid_job"),
    "nan-memory-limit": (("{%s, \"memoryLimitMb\": NaN}" % JOB_FIELDS).encode(), "invalid_job"),
    "infinity-literal": (("{%s, \"timeLimitMs\": -Infinity}" % JOB_FIELDS).encode(), "invalid_job"),
    "huge-integer": (("{%s, \"memoryLimitMb\": %s}" % (JOB_FIELDS, "9" * 5000)).encode(), None),
    "invalid-utf8": (b'\xff\xfe{"language": "python"}', "invalid_job"),
    "lone-surrogate": (('{"language": "python", "code": "\\ud800", "testCases": [{"input": "1"}]}').encode(),
                       "invalid_job"),
    "json-list": (b"[1, 2, 3]", "invalid_job"),
    "json-string": (b'"a job"', "invalid_job"),
    "json-null": (b"null", "invalid_job"),
    "empty-body": (b"", "invalid_job"),
    "over-message-limit": (b'{"code": "' + b"x" * (MAX_MESSAGE_BYTES + 10) + b'"}', "input_too_large"),
    "deep-function-input": (json.dumps(dict(TRIVIAL, testCases=[{"input": DEEP, "expectedOutput": "1"}])).encode(),
                            "invalid_job"),
}


@pytest.fixture(scope="module")
def daemon(broker, docker_client, tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("poison"), MAX_MESSAGE_BYTES=str(MAX_MESSAGE_BYTES),
               MAX_DELIVERIES="2").start()
    yield d
    assert d.stop() == 0, d.tail()
    b = Broker(broker)
    for q in (d.jobs, d.results, d.dead):
        b.ch.queue_delete(q)
    b.close()


@pytest.fixture
def amqp(broker):
    b = Broker(broker)
    yield b
    b.close()


def metric(daemon, name):
    _, body = daemon.get("/metrics")
    values = [float(line.split()[-1]) for line in body.decode().splitlines() if line.startswith(name + " ")]
    return values[0] if values else 0.0


def publish_raw(amqp, queue, body, correlation_id, reply_to=None, headers=None):
    amqp.ch.basic_publish("", queue, body, pika.BasicProperties(
        correlation_id=correlation_id, reply_to=reply_to, delivery_mode=2, headers=headers))


def test_poison_messages_get_error_results_and_stop_no_worker(daemon, amqp):
    pids = set(daemon.worker_pids())
    dead_before = settled_count(amqp, daemon.dead)
    reply = amqp.reply_queue()
    for name, (body, _) in POISON.items():
        publish_raw(amqp, daemon.jobs, body, name, reply_to=reply)
    got = {props.correlation_id: result for props, result in amqp.collect(reply, len(POISON), timeout=120)}
    assert set(got) == set(POISON), "no result for %s" % sorted(set(POISON) - set(got))
    for name, (_, code) in POISON.items():
        result = got[name]
        assert result["status"] == "error" and result["results"] == [], (name, result)
        if code is not None:
            assert result["error"]["code"] == code, (name, result)
        else:  # a number too big to be a limit: refused either way
            assert result["error"]["code"] in ("invalid_job", "limit_exceeded"), (name, result)
    assert settled_count(amqp, daemon.dead) == dead_before + len(POISON)
    assert metric(daemon, "execd_worker_restarts_total") == 0
    assert set(daemon.worker_pids()) == pids
    status, body = daemon.get("/health")
    assert status == 200 and body["status"] == "ok", body


def test_poison_bodies_over_http_are_4xx(daemon):
    for name, (body, code) in POISON.items():
        if name == "over-message-limit":
            continue  # over HTTP the body limit is HTTP_MAX_BODY_BYTES
        status, answer, _ = daemon.request("POST", "/api/execute", body)
        assert 400 <= status < 500, (name, status, answer)
        assert answer["error"]["code"] in ("invalid_job", "limit_exceeded"), (name, answer)


def test_forged_delivery_counts_are_ignored(daemon, amqp):
    # Headers that would dead-let a good job at once, or make a bad one immortal,
    # if execd believed them.
    reply = amqp.reply_queue()
    forged = [{"x-delivery-count": 99}, {"x-delivery-count": -1000000},
              {"x-execd-redeliveries": 99}, {"x-execd-redeliveries": "99.00000000000000000000000000000000"},
              {"x-execd-redeliveries": "-5"}, {"x-delivery-count": "many", "x-execd-redeliveries": [1, 2]}]
    for i, headers in enumerate(forged):
        publish_raw(amqp, daemon.jobs, json.dumps(dict(TRIVIAL, id="forged-%d" % i)).encode(), str(i),
                    reply_to=reply, headers=headers)
    got = {props.correlation_id: result for props, result in amqp.collect(reply, len(forged), timeout=90)}
    assert len(got) == len(forged)
    for i in range(len(forged)):
        assert got[str(i)]["verdict"] == "pass", (forged[i], got[str(i)])
    assert metric(daemon, "execd_worker_restarts_total") == 0


def test_reply_to_cannot_name_execds_own_queues(daemon, amqp):
    depth_before = amqp.count(daemon.jobs)
    dead_before = settled_count(amqp, daemon.dead)
    publish_raw(amqp, daemon.jobs, json.dumps(dict(TRIVIAL, id="loop-1")).encode(), "loop-1", reply_to=daemon.jobs)
    publish_raw(amqp, daemon.jobs, json.dumps(dict(TRIVIAL, id="loop-2")).encode(), "loop-2", reply_to=daemon.dead)
    got = {result["id"]: result for _, result in amqp.collect(daemon.results, 2, timeout=60)}
    assert set(got) == {"loop-1", "loop-2"} and all(r["verdict"] == "pass" for r in got.values())
    time.sleep(1)
    assert amqp.count(daemon.jobs) == depth_before
    assert settled_count(amqp, daemon.dead) == dead_before


def test_forged_direct_reply_to_cannot_stall_the_workers(daemon, amqp):
    # RabbitMQ 3.10 closes the publishing connection (541) for a direct
    # reply-to name that decodes to no channel. Workers reconnect, remember
    # the name, and the result ends up in the results queue.
    forged = "amq.rabbitmq.reply-to.g1h2AA5yZXBseUAyNzk5NjQyMAAAC1oAAAAAAAAAAAAAAAAAAAAA.abc"
    publish_raw(amqp, daemon.jobs, json.dumps(dict(TRIVIAL, id="direct-1")).encode(), "direct-1", reply_to=forged)
    got = [result for _, result in amqp.collect(daemon.results, 1, timeout=120)]
    assert got and got[0]["id"] == "direct-1", got
    assert got[0]["status"] == "completed" or got[0]["error"]["code"] == "internal_error", got
    daemon.wait_ready(timeout=60)
    assert metric(daemon, "execd_worker_restarts_total") == 0
    # Still serving.
    reply = amqp.reply_queue()
    publish_raw(amqp, daemon.jobs, json.dumps(dict(TRIVIAL, id="after-direct")).encode(), "after", reply_to=reply)
    [(_, result)] = amqp.collect(reply, 1, timeout=60)
    assert result["verdict"] == "pass"
