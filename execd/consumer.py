"""One worker process: consume jobs from RabbitMQ, run them, publish, acknowledge.

A blocking pika loop with prefetch 1. Invariant: a job is acknowledged only
after its result was confirmed by the broker; anything that goes wrong before
that leaves the job unacknowledged, and the broker redelivers it.
"""
import collections
import copy
import json
import logging
import os
import random
import signal
import time

import pika
import pika.exceptions

from execd import amqp, jobs
from execd.errors import REFUSAL_CODES, ExecdError, ImageError, JobError

log = logging.getLogger("execd.consumer")

# Exit codes of a worker process, read by the supervisor.
EXIT_OK = 0  # stopped on request
EXIT_FAILURE = 1  # a passing failure (Docker unreachable ...): restart with backoff
EXIT_BOOT_ERROR = 3  # cannot start at all (config, images): the supervisor halts
EXIT_TOPOLOGY = 4  # the broker refused our queues: back off, an operator must look
EXIT_ORPHANED = 5  # the supervisor went away

# Results whose job is rejected into the dead-letter queue after its reply:
# refused jobs, and jobs the service failed, which an operator may want to re-run.
DEAD_LETTER_CODES = frozenset(REFUSAL_CODES + ("internal_error",))
# The engine could not run the job: hold it, never answer it with an error.
ENGINE_CODES = {"sandbox_unavailable"}
MAX_RERUNS_WHILE_ENGINE_UP = 5
MAX_ENGINE_WAIT_STEP_S = 30.0
CONNECTION_ERRORS = (amqp.BrokerUnavailable, pika.exceptions.AMQPConnectionError, pika.exceptions.StreamLostError,
                     pika.exceptions.ConnectionClosed, OSError)
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
        self.key = amqp.delivery_key(settings)
        self.refused_targets = BoundedSet(1024)

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
            except CONNECTION_ERRORS as e:
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
        """Answer one message. Nothing a message holds may end the worker: only a
        lost broker connection leaves here as an exception."""
        delivery = Delivery(channel, method)
        try:
            self._handle_delivery(connection, delivery, properties, body)
        except CONNECTION_ERRORS:
            raise
        except pika.exceptions.AMQPChannelError as e:
            # The broker closed the channel over something this message asked
            # for; reconnect (the unsettled delivery comes back counted).
            raise amqp.BrokerUnavailable("channel closed while handling a message: %r" % e) from e
        except Exception:
            log.exception("handling a message failed", extra={"delivery_tag": method.delivery_tag})
            if delivery.settled:
                return
            result = jobs.error_result(_peek_id(body, self.settings), "internal_error",
                                       "the service failed to handle this message")
            try:
                self._reply(channel, properties, result)
                delivery.reject()
            except Exception as e:
                # Even the error result cannot be published: reconnect and let
                # the broker redeliver it, counted, rather than end the worker.
                raise amqp.BrokerUnavailable("cannot publish an error result: %r" % e) from e
            self._count(result, time.monotonic())

    def _handle_delivery(self, connection, delivery, properties, body):
        started = time.monotonic()
        method = delivery.method
        ceiling = self.settings.max_deliveries + 1
        redeliveries = amqp.delivery_count(method, properties, body, self.key, ceiling)
        extra = {"delivery_tag": method.delivery_tag, "deliveries": redeliveries + 1, "worker_pid": os.getpid(),
                 "slot": self.slot}
        if isinstance(properties.timestamp, int) and self.metrics is not None:
            self.metrics.queue_wait.observe(max(time.time() - properties.timestamp, 0))

        if redeliveries > self.settings.max_deliveries:
            result = jobs.error_result(_peek_id(body, self.settings), "internal_error",
                                       "the job was delivered %d times without finishing; it is not run again"
                                       % (redeliveries + 1))
            self._reply(delivery.channel, properties, result)
            delivery.reject()
            log.error("poison job dead-lettered", extra=dict(extra, job_id=result["id"]))
            self._count(result, started)
            return

        if method.redelivered:
            # The broker's flag is the only count it keeps on a classic queue:
            # carry the count on a confirmed copy, then drop this delivery. A
            # crash between the two runs the job once more (at least once).
            self._requeue(delivery, properties, body, redeliveries)
            log.warning("redelivered job requeued with its count", extra=extra)
            return

        result = self._execute(connection, body, extra)
        if self.connection_lost:
            # The job ran, but its delivery is gone with the connection; the
            # broker redelivers it, and reconnecting is the next step.
            raise pika.exceptions.StreamLostError("connection lost while the job ran")
        if result is None:
            # Asked to stop while the job waited for the engine: put it back
            # with the count it had; waiting is not a delivery.
            self._requeue(delivery, properties, body, redeliveries)
            log.info("job waiting for the engine put back in the queue", extra=extra)
            return
        self._reply(delivery.channel, properties, result)
        dead = result["status"] == "error" and result["error"]["code"] in DEAD_LETTER_CODES
        if dead:
            delivery.reject()
        else:
            delivery.ack()
        elapsed = time.monotonic() - started
        self._count(result, started)
        log.info("job done", extra=dict(extra, job_id=result["id"], language=result.get("language"),
                                        verdict=result.get("verdict") or result["error"]["code"],
                                        total_time_ms=result.get("totalTime"), duration_ms=int(elapsed * 1000),
                                        dead_lettered=dead))

    def _execute(self, connection, body, extra):
        """The job's result. While the engine is unavailable the job is held (its
        delivery unacknowledged, so no other comes) and run again once the engine
        answers. None when asked to stop meanwhile."""
        losses_while_up = 0
        while True:
            if self.metrics is not None:
                self.metrics.in_flight.labels("amqp").inc()
            try:
                result = self.executor.execute(body, tick=lambda: self._tick(connection))
            finally:
                if self.metrics is not None:
                    self.metrics.in_flight.labels("amqp").dec()
            if self.connection_lost or not _engine_failed(result):
                return result
            if self.executor.ping():
                # The engine answers but the run failed: a start-up hiccup, or
                # something about this job. Bounded, so no job holds a worker forever.
                losses_while_up += 1
                if losses_while_up > MAX_RERUNS_WHILE_ENGINE_UP:
                    log.error("sandbox failed repeatedly while the engine was up",
                              extra=dict(extra, job_id=result["id"], error=result["error"]["message"]))
                    return jobs.error_result(result["id"], "internal_error",
                                             "the sandbox failed %d times while the Docker engine was up: %s"
                                             % (losses_while_up, result["error"]["message"]), result.get("language"))
            else:
                losses_while_up = 0
            log.warning("Docker engine unavailable; holding the job until it answers",
                        extra=dict(extra, job_id=result["id"], error=result["error"]["message"]))
            pause = min(self.settings.engine_retry_interval * (2 ** losses_while_up), MAX_ENGINE_WAIT_STEP_S)
            if not self._wait_for_engine(connection, pause):
                return None
            log.info("Docker engine answers again; running the held job", extra=dict(extra, job_id=result["id"]))

    def _wait_for_engine(self, connection, pause):
        """Sleep `pause`, then until the engine answers, keeping the broker
        connection alive. False when the worker is to stop instead."""
        self.heartbeat.touch("waiting_engine")
        try:
            not_before = time.monotonic() + pause
            while True:
                if self.stopping or self._orphaned() or self.connection_lost:
                    return False
                now = time.monotonic()
                if now >= not_before and self.executor.ping():
                    return True
                self._tick(connection)
                time.sleep(min(0.2, self.settings.engine_retry_interval))
        finally:
            self.heartbeat.touch("ready")

    def _requeue(self, delivery, properties, body, count):
        """A confirmed copy carrying `count` in execd's signed header, then ack the original."""
        headers = dict(properties.headers or {})
        headers[amqp.REDELIVERIES_HEADER] = amqp.signed_count(self.key, count, body)
        props = copy.copy(properties)
        props.headers = headers
        props.delivery_mode = amqp.PERSISTENT
        delivery.channel.basic_publish("", self.settings.execution_queue, body, props, mandatory=True)
        delivery.ack()

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
        body = encode_result(result)
        correlation_id = properties.correlation_id or result["id"]
        target = self._reply_target(properties.reply_to)
        if target != self.settings.result_queue:
            try:
                amqp.publish_json(channel, target, body, correlation_id)
                return
            except (pika.exceptions.ConnectionClosedByBroker, pika.exceptions.ChannelClosedByBroker) as e:
                if e.reply_code != 320:  # not a broker shutdown: this target made it close
                    self.refused_targets.add(target)
                raise
            except CONNECTION_ERRORS:
                raise
            except Exception as e:  # unroutable (the queue is gone), nacked (full) ...
                log.warning("reply_to queue %s refused the result (%r); it goes to %s", target, e,
                            self.settings.result_queue, extra={"job_id": result["id"]})
        amqp.publish_json(channel, self.settings.result_queue, body, correlation_id)

    def _reply_target(self, reply_to):
        """reply_to, unless empty or one of execd's own inbound queues (a result
        there would be taken for a job, or buried with the dead letters)."""
        if not reply_to:
            return self.settings.result_queue
        if reply_to in self.refused_targets:
            # Publishing there made the broker close our channel or connection
            # before (RabbitMQ does so for a forged direct reply-to name).
            return self.settings.result_queue
        jobs_queue, _, dead_queue = self.settings.queue_names()
        if reply_to in (jobs_queue, dead_queue):
            log.warning("reply_to names execd's own queue %s; the result goes to %s", reply_to,
                        self.settings.result_queue)
            return self.settings.result_queue
        return reply_to

    def _count(self, result, started):
        if self.metrics is not None:
            self.metrics.job_done(result, "amqp", time.monotonic() - started)


class BoundedSet:
    """A set that forgets its oldest members beyond `limit`."""

    def __init__(self, limit):
        self.limit = limit
        self._items = collections.OrderedDict()

    def add(self, item):
        self._items[item] = None
        self._items.move_to_end(item)
        while len(self._items) > self.limit:
            self._items.popitem(last=False)

    def __contains__(self, item):
        return item in self._items


class Delivery:
    """One delivery and whether it was settled, so a failure after the ack
    never settles it twice (a second ack closes the channel)."""

    def __init__(self, channel, method):
        self.channel = channel
        self.method = method
        self.settled = False

    def ack(self):
        self.channel.basic_ack(self.method.delivery_tag)
        self.settled = True

    def reject(self):
        """Dead-letter it: rejected without requeue."""
        self.channel.basic_nack(self.method.delivery_tag, requeue=False)
        self.settled = True


def encode_result(result):
    """UTF-8 JSON; text that cannot be UTF-8 (lone surrogates) is escaped instead."""
    try:
        return json.dumps(result, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(result, ensure_ascii=True).encode("ascii")


def _engine_failed(result):
    return result["status"] == "error" and result["error"]["code"] in ENGINE_CODES


def _peek_id(body, settings):
    """The job's id for an error result, when the body yields one."""
    try:
        return jobs.job_id_of(jobs.decode(body, max_bytes=settings.max_message_bytes))
    except JobError:  # decode is total: any other body error is a JobError
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
