"""The consumer's handling of one message, with the channel, the connection and
the engine faked; the real broker and engine are in tests/integration."""
import dataclasses
import json
import types

import pika
import pytest

from execd import amqp, consumer as consumer_module, jobs
from execd.config import load_settings

GOOD = json.dumps({"id": "j-1", "language": "python", "code": "def solution(n):\n    return n\n",
                   "testCases": [{"input": "1", "expectedOutput": "1"}]}).encode()
PASS = {"id": "j-1", "status": "completed", "verdict": "pass", "language": "python", "results": [], "totalTime": 1}
DOWN = jobs.error_result("j-1", "sandbox_unavailable", "cannot reach the Docker engine", "python")


class FakeChannel:
    def __init__(self):
        self.published = []  # (routing_key, body, properties)
        self.acked, self.nacked = [], []

    def basic_publish(self, exchange, routing_key, body, properties, mandatory=False):
        self.published.append((routing_key, body, properties))

    def basic_ack(self, tag):
        self.acked.append(tag)

    def basic_nack(self, tag, requeue=True):
        self.nacked.append((tag, requeue))


class FakeConnection:
    def process_data_events(self, time_limit=0):
        pass


class FakeHeartbeat:
    def __init__(self):
        self.states = []

    def touch(self, state=None, force=False):
        if state is not None:
            self.states.append(state)


class FakeExecutor:
    """Answers from a script of results (or exceptions); ping from a script of booleans."""

    def __init__(self, results, pings=()):
        self.results = list(results)
        self.pings = list(pings)
        self.runs = 0

    def execute(self, body, tick=None):
        self.runs += 1
        if tick is not None:
            tick()
        item = self.results.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def ping(self):
        return self.pings.pop(0) if self.pings else True


@pytest.fixture
def settings():
    return load_settings(None, environ={"ENGINE_RETRY_INTERVAL": "0.01", "MAX_DELIVERIES": "3",
                                        "DELIVERY_KEY": "unit-test-key"})


def make(settings, executor):
    c = consumer_module.Consumer(settings, executor, FakeHeartbeat())
    return c, FakeChannel()


def deliver(c, channel, body=GOOD, redelivered=False, headers=None, reply_to=None, tag=7):
    method = types.SimpleNamespace(delivery_tag=tag, redelivered=redelivered)
    props = pika.BasicProperties(correlation_id="corr", reply_to=reply_to, headers=headers)
    c._handle(FakeConnection(), channel, method, props, body)


def results_of(channel):
    return [(key, json.loads(body)) for key, body, _ in channel.published]


# -- delivery counts ---------------------------------------------------------------


def test_signed_count_round_trip_and_forgeries(settings):
    key = amqp.delivery_key(settings)
    header = amqp.signed_count(key, 2, GOOD)
    assert amqp.carried_count({amqp.REDELIVERIES_HEADER: header}, key, GOOD) == 2
    assert amqp.carried_count({amqp.REDELIVERIES_HEADER: header}, key, GOOD + b" ") == 0  # another body
    assert amqp.carried_count({amqp.REDELIVERIES_HEADER: header}, b"other key", GOOD) == 0
    for forged in (99, "99", "-5", "2." + "0" * 32, [1], None, b"\xff", "9" * 100, "1e9.abc"):
        assert amqp.carried_count({amqp.REDELIVERIES_HEADER: forged}, key, GOOD) == 0, forged


def test_delivery_count_ignores_publisher_headers_and_is_clamped(settings):
    key = amqp.delivery_key(settings)
    method = types.SimpleNamespace(redelivered=False)
    for headers in ({"x-delivery-count": 99}, {"x-delivery-count": -10**9}, {}, None):
        props = pika.BasicProperties(headers=headers)
        assert amqp.delivery_count(method, props, GOOD, key, ceiling=4) == 0
    props = pika.BasicProperties(headers={amqp.REDELIVERIES_HEADER: amqp.signed_count(key, 50, GOOD)})
    assert amqp.delivery_count(types.SimpleNamespace(redelivered=True), props, GOOD, key, ceiling=4) == 4


def test_key_derived_from_the_broker_url_when_unset():
    a = load_settings(None, environ={"AMQP_URL": "amqp://u:one@h/%2F"})
    b = load_settings(None, environ={"AMQP_URL": "amqp://u:two@h/%2F"})
    assert amqp.delivery_key(a) != amqp.delivery_key(b)


def test_redelivery_is_requeued_with_a_signed_count(settings):
    c, ch = make(settings, FakeExecutor([]))
    deliver(c, ch, redelivered=True)
    [(key, body, props)] = ch.published
    assert key == settings.execution_queue and body == GOOD and ch.acked == [7]
    assert amqp.carried_count(props.headers, c.key, GOOD) == 1


# -- engine outages ------------------------------------------------------------------


def test_job_is_held_while_the_engine_is_down_then_run(settings):
    executor = FakeExecutor([DOWN, DOWN, PASS], pings=[False, False, False, True, False, True])
    c, ch = make(settings, executor)
    deliver(c, ch)
    assert executor.runs == 3
    assert results_of(ch) == [(settings.result_queue, PASS)]
    assert ch.acked == [7] and ch.nacked == []
    assert "waiting_engine" in c.heartbeat.states and c.heartbeat.states[-1] == "ready"


def test_stop_while_holding_requeues_with_the_same_count(settings):
    executor = FakeExecutor([DOWN], pings=[False] * 1000)
    c, ch = make(settings, executor)
    original = c._wait_for_engine

    def stop_then_wait(connection, pause):
        c.stopping = True
        return original(connection, pause)

    c._wait_for_engine = stop_then_wait
    deliver(c, ch)
    [(key, body, props)] = ch.published
    assert key == settings.execution_queue and body == GOOD and ch.acked == [7]
    assert amqp.carried_count(props.headers, c.key, GOOD) == 0  # waiting is not a delivery


def test_repeated_losses_while_the_engine_answers_are_bounded(settings):
    n = consumer_module.MAX_RERUNS_WHILE_ENGINE_UP + 1
    executor = FakeExecutor([DOWN] * n, pings=[True] * 1000)
    c, ch = make(settings, executor)
    c.settings = dataclasses.replace(settings, engine_retry_interval=0.0001)
    deliver(c, ch)
    assert executor.runs == n
    [(key, result)] = results_of(ch)
    assert result["error"]["code"] == "internal_error" and ch.nacked == [(7, False)]


# -- nothing ends the worker ----------------------------------------------------------------


def test_an_unexpected_exception_gets_internal_error_and_dead_letters(settings):
    c, ch = make(settings, FakeExecutor([RecursionError("deep")]))
    deliver(c, ch)
    [(key, result)] = results_of(ch)
    assert result["id"] == "j-1" and result["error"]["code"] == "internal_error"
    assert ch.nacked == [(7, False)] and ch.acked == []


def test_a_failure_after_the_ack_does_not_settle_twice(settings):
    c, ch = make(settings, FakeExecutor([PASS]))
    c._count = lambda result, started: 1 / 0
    deliver(c, ch)
    assert ch.acked == [7] and ch.nacked == [] and len(ch.published) == 1


def test_a_channel_error_reconnects_instead_of_ending_the_worker(settings):
    c, ch = make(settings, FakeExecutor([PASS]))

    def closed(*args, **kwargs):
        raise pika.exceptions.ChannelClosedByBroker(406, "PRECONDITION_FAILED")

    ch.basic_ack = closed
    with pytest.raises(amqp.BrokerUnavailable):
        deliver(c, ch)


def test_refused_results_and_bad_jobs_are_dead_lettered(settings):
    refused = jobs.error_result(None, "invalid_job", "the job is not valid JSON")
    c, ch = make(settings, FakeExecutor([refused]))
    deliver(c, ch, body=b"[" * 5000)
    assert ch.nacked == [(7, False)]


# -- replies -------------------------------------------------------------------------------


@pytest.mark.parametrize("own", ["jobs", "dead"])
def test_reply_to_execds_own_queues_goes_to_results(settings, own):
    jobs_queue, _, dead_queue = settings.queue_names()
    c, ch = make(settings, FakeExecutor([PASS]))
    deliver(c, ch, reply_to=jobs_queue if own == "jobs" else dead_queue)
    assert [key for key, _ in results_of(ch)] == [settings.result_queue]


def test_a_reply_target_that_closed_the_connection_is_not_used_again(settings):
    c, ch = make(settings, FakeExecutor([PASS, PASS]))
    publish = ch.basic_publish

    def killing_publish(exchange, routing_key, body, properties, mandatory=False):
        if routing_key == "amq.rabbitmq.reply-to.forged":
            raise pika.exceptions.ConnectionClosedByBroker(541, "INTERNAL_ERROR")
        publish(exchange, routing_key, body, properties, mandatory)

    ch.basic_publish = killing_publish
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker):
        deliver(c, ch, reply_to="amq.rabbitmq.reply-to.forged")
    deliver(c, ch, reply_to="amq.rabbitmq.reply-to.forged", tag=8)
    assert [key for key, _ in results_of(ch)] == [settings.result_queue] and ch.acked == [8]


def test_results_that_are_not_utf8_encodable_are_escaped():
    body = consumer_module.encode_result({"id": "x", "output": "\ud800"})
    assert json.loads(body)["output"] == "\ud800"
