"""One worker process: consume jobs from RabbitMQ, run them, publish, acknowledge.

A blocking pika loop with prefetch 1. Invariant: a job is acknowledged only
after its result was confirmed by the broker; anything that goes wrong before
that leaves the job unacknowledged, and the broker redelivers it.
"""
import json
import logging
import os
import random
import signal
import time

import pika
import pika.exceptions

from execd import amqp, jobs
from execd.errors import ExecdError, ImageError

log = logging.getLogger("execd.consumer")

# Exit codes of a worker process, read by the supervisor.
EXIT_OK = 0  # stopped on request
EXIT_FAILURE = 1  # a passing failure (Docker unreachable ...): restart with backoff
EXIT_BOOT_ERROR = 3  # cannot start at all (config, images): the supervisor halts
EXIT_TOPOLOGY = 4  # the broker refused our queues: back off, an operator must look
EXIT_ORPHANED = 5  # the supervisor went away

REFUSED_CODES = {"invalid_job", "unsupported_language", "code_too_large", "too_many_tests",
                 "input_too_large", "limit_exceeded"}
INACTIVITY_TIMEOUT = 1.0


class Consumer:
    def __init__(self, settings, executor, heartbeat, metrics=None, slot=0):
        self.settings = settings
        self.executor = executor
        self.heartbeat = heartbeat
        self.metrics = metrics
        self.slot = slot
        self.stopping = False
        self.parent = os.getppid()
        self.connection_lost = False

    # -- signals ---------------------------------------------------------------

    def install_signals(self):
        signal.signal(signal.SIGTERM, self._handle_term)
        signal.signal(signal.SIGINT, self._handle_term)
        # Let a pika or Docker call finish instead of failing with EINTR.
        signal.siginterrupt(signal.SIGTERM, False)
        signal.siginterrupt(signal.SIGINT, False)

    def _handle_term(self, signum, frame):
        self.stopping = True

    def _orphaned(self):
        return os.getppid() != self.parent

    # -- main loop -------------------------------------------------------------

    def run(self):
        """Consume until asked to stop; reconnect with capped, jittered backoff."""
        backoff = 0.5
        while not self.stopping:
            if self._orphaned():
                return EXIT_ORPHANED
            self.heartbeat.touch("connecting")
            try:
                self._consume()
                backoff = 0.5
            except amqp.BrokerTopologyError as e:
                log.error("broker refused the topology: %s", e.message)
                return EXIT_TOPOLOGY
            except pika.exceptions.AMQPChannelError as e:
                log.error("channel error, a bug or a topology problem: %r", e)
                return EXIT_TOPOLOGY
            except (amqp.BrokerUnavailable, pika.exceptions.AMQPConnectionError, pika.exceptions.StreamLostError,
                    pika.exceptions.ConnectionClosed, OSError) as e:
                if self.stopping:
                    break
                if self.metrics is not None:
                    self.metrics.amqp_reconnects.inc()
                delay = backoff + random.uniform(0, backoff / 2)
                log.warning("broker connection lost (%r); reconnecting in %.1fs", e, delay)
                self._sleep(delay)
                backoff = min(backoff * 2, 30.0)
        self.heartbeat.touch("stopping")
        return EXIT_ORPHANED if self._orphaned() else EXIT_OK

    def _sleep(self, seconds):
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            self.heartbeat.touch()
            time.sleep(min(0.2, max(end - time.monotonic(), 0)))

    def _consume(self):
        connection = amqp.connect(self.settings.amqp_url)
        self.connection_lost = False
        try:
            channel = amqp.declare_topology(connection, self.settings)
            channel.confirm_delivery()
            channel.basic_qos(prefetch_count=1)
            self.heartbeat.touch("ready")
            log.info("consuming", extra={"queue": self.settings.execution_queue})
            for method, properties, body in channel.consume(self.settings.execution_queue,
                                                            inactivity_timeout=INACTIVITY_TIMEOUT):
                self.heartbeat.touch()
                if method is not None:
                    self._handle(connection, channel, method, properties, body)
                if self.stopping or self._orphaned():
                    break
            # Requeues anything prefetched but not started; prefetch 1 means none.
            channel.cancel()
        finally:
            try:
                if connection.is_open:
                    connection.close()
            except Exception:
                pass

    # -- one message -----------------------------------------------------------

    def _handle(self, connection, channel, method, properties, body):
        started = time.monotonic()
        redeliveries, counted_by_broker = amqp.delivery_count(method, properties)
        extra = {"delivery_tag": method.delivery_tag, "deliveries": redeliveries + 1, "worker_pid": os.getpid(),
                 "slot": self.slot}
        if properties.timestamp and self.metrics is not None:
            self.metrics.queue_wait.observe(max(time.time() - properties.timestamp, 0))

        if redeliveries > self.settings.max_deliveries:
            raw_id = _peek_id(body)
            result = jobs.error_result(raw_id, "internal_error",
                                       "the job was delivered %d times without finishing; it is not run again"
                                       % (redeliveries + 1))
            self._reply(channel, properties, result)
            channel.basic_nack(method.delivery_tag, requeue=False)
            log.error("poison job dead-lettered", extra=dict(extra, job_id=result["id"]))
            self._count(result, started)
            return

        if method.redelivered and not counted_by_broker:
            # A classic queue keeps no delivery count: carry it in a header on a
            # confirmed copy, then drop this delivery. A crash between the two
            # runs the job once more, which at-least-once allows.
            headers = dict(properties.headers or {})
            headers[amqp.REDELIVERIES_HEADER] = redeliveries
            props = pika.BasicProperties(content_type=properties.content_type, delivery_mode=amqp.PERSISTENT,
                                         correlation_id=properties.correlation_id, reply_to=properties.reply_to,
                                         timestamp=properties.timestamp, headers=headers)
            channel.basic_publish("", self.settings.execution_queue, body, props, mandatory=True)
            channel.basic_ack(method.delivery_tag)
            log.warning("redelivered job requeued with its count", extra=extra)
            return

        if self.metrics is not None:
            self.metrics.in_flight.labels("amqp").inc()
        try:
            result = self.executor.execute(body, tick=lambda: self._tick(connection))
        finally:
            if self.metrics is not None:
                self.metrics.in_flight.labels("amqp").dec()
        if self.connection_lost:
            # The job ran, but its delivery is gone with the connection; the
            # broker redelivers it, and reconnecting is the next step.
            raise pika.exceptions.StreamLostError("connection lost while the job ran")
        self._reply(channel, properties, result)
        refused = result["status"] == "error" and result["error"]["code"] in REFUSED_CODES
        if refused:
            channel.basic_nack(method.delivery_tag, requeue=False)
        else:
            channel.basic_ack(method.delivery_tag)
        elapsed = time.monotonic() - started
        self._count(result, started)
        log.info("job done", extra=dict(extra, job_id=result["id"], language=result.get("language"),
                                        verdict=result.get("verdict") or result["error"]["code"],
                                        total_time_ms=result.get("totalTime"), duration_ms=int(elapsed * 1000),
                                        dead_lettered=refused))

    def _tick(self, connection):
        self.heartbeat.touch()
        if self.connection_lost:
            return
        try:
            connection.process_data_events(0)
        except Exception as e:  # keep the job running; the loop reconnects after it
            log.warning("broker connection failed during a job: %r", e)
            self.connection_lost = True

    def _reply(self, channel, properties, result):
        body = json.dumps(result, ensure_ascii=False).encode("utf-8")
        correlation_id = properties.correlation_id or result["id"]
        target = properties.reply_to or self.settings.result_queue
        try:
            amqp.publish_json(channel, target, body, correlation_id)
        except pika.exceptions.UnroutableError:
            if target == self.settings.result_queue:
                raise
            # The caller's reply queue is gone; keep the result where it can be found.
            log.warning("reply_to queue %s is gone; result goes to %s", target, self.settings.result_queue,
                        extra={"job_id": result["id"]})
            amqp.publish_json(channel, self.settings.result_queue, body, correlation_id)

    def _count(self, result, started):
        if self.metrics is not None:
            self.metrics.job_done(result, "amqp", time.monotonic() - started)


def _peek_id(body):
    try:
        return jobs.job_id_of(json.loads(body))
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


def worker_main(settings, slot, heartbeat_path):
    """Entry point of a worker process; returns its exit code."""
    from execd import metrics as metrics_module
    from execd.executor import Executor
    from execd.heartbeat import Heartbeat

    heartbeat = Heartbeat(heartbeat_path)
    heartbeat.touch("starting")
    metrics = metrics_module.Metrics() if os.environ.get(metrics_module.ENV) else None
    consumer = Consumer(settings, None, heartbeat, metrics, slot)
    consumer.install_signals()
    try:
        executor = Executor(settings, observer=metrics).start()
    except ImageError as e:
        log.error("worker cannot start: %s", e.message)
        return EXIT_BOOT_ERROR
    except ExecdError as e:
        log.error("worker cannot start yet: %s", e.message)
        return EXIT_FAILURE
    consumer.executor = executor
    try:
        return consumer.run()
    finally:
        executor.close()
