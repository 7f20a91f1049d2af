"""Producer clients: run a contract job on an execd service and get its result.

`AmqpClient` is what a battle service uses: RPC over RabbitMQ (the job to the
execution queue with `reply_to` and `correlation_id`, publisher confirms, a
timeout, a reconnect). `HttpClient` calls `POST /api/execute`. Both have
`execute(job) -> result`. A result is the contract's, whatever its status:
a job execd refused comes back as a result with `status: "error"` over AMQP
and is raised as `JobRefused` (holding that result) by both clients, so a
caller handles refusals in one place. Transport trouble raises the other
`ClientError`s. Neither client knows anything of the engine.

execd delivers at least once: every job gets an `id` here if it has none,
so a caller can deduplicate results (a reconnect may run a job twice).
"""
import json
import time
import urllib.error
import urllib.request
import uuid

DEFAULT_TIMEOUT_S = 70.0  # above execd's MAX_JOB_TIME (60 s), so a slow job is not given up early


class ClientError(Exception):
    """Something kept the client from getting a result."""

    code = "client_error"


class JobRefused(ClientError):
    """execd answered with an error result: the job was refused or could not run."""

    def __init__(self, result):
        error = result.get("error") or {}
        super().__init__("%s: %s" % (error.get("code", "?"), error.get("message", "")))
        self.result = result
        self.code = error.get("code", "internal_error")
        self.message = error.get("message", "")


class Unauthorized(ClientError):
    code = "unauthorized"


class Overloaded(ClientError):
    """execd is at capacity (HTTP 503); retry after `retry_after` seconds."""

    code = "overloaded"

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(ClientError):
    """The broker or the service cannot be reached, or refused the publish."""

    code = "unavailable"


class Timeout(ClientError):
    """No result within the timeout. The job may still run: deduplicate by its id."""

    code = "timeout"


class ProtocolError(ClientError):
    """An answer that is not a contract result."""

    code = "protocol_error"


def with_id(job):
    """The job, with an `id` when it has none (a dict copy; other values are left to execd to refuse)."""
    if isinstance(job, dict) and not job.get("id"):
        job = dict(job, id=str(uuid.uuid4()))
    return job


def _checked(result):
    if not isinstance(result, dict) or result.get("status") not in ("completed", "error"):
        raise ProtocolError("not a contract result: %.200r" % (result,))
    if result["status"] == "error":
        raise JobRefused(result)
    return result


class HttpClient:
    """POST /api/execute with a Bearer key. Retries an `overloaded` answer after its Retry-After."""

    def __init__(self, base_url="http://127.0.0.1:3003", api_key=None, timeout=DEFAULT_TIMEOUT_S, retries=2):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries

    def execute(self, job):
        job = with_id(job)
        body = json.dumps(job).encode("utf-8")
        for attempt in range(self.retries + 1):
            try:
                return _checked(self._request("POST", "/api/execute", body))
            except JobRefused as e:
                # HTTP answers a refusal with only {"error"}; give it the result's shape AMQP carries.
                e.result = {"id": job.get("id") if isinstance(job, dict) else None, **e.result}
                raise
            except Overloaded as e:
                if attempt == self.retries:
                    raise
                time.sleep(min(e.retry_after or 1, 10))
        raise AssertionError("unreachable")

    def languages(self):
        return self._request("GET", "/api/languages", None)

    def _request(self, method, path, body):
        req = urllib.request.Request(self.base_url + path, data=body, method=method)
        req.add_header("Accept", "application/json")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if self.api_key:
            req.add_header("Authorization", "Bearer " + self.api_key)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return self._decode(resp.read())
        except urllib.error.HTTPError as e:
            raise self._error(e) from None
        except TimeoutError as e:
            raise Timeout("no answer from %s within %.0f s" % (self.base_url, self.timeout)) from e
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError):
                raise Timeout("no answer from %s within %.0f s" % (self.base_url, self.timeout)) from e
            raise Unavailable("cannot reach %s: %s" % (self.base_url, e.reason)) from e
        except OSError as e:
            raise Unavailable("cannot reach %s: %s" % (self.base_url, e)) from e

    @staticmethod
    def _decode(data):
        try:
            return json.loads(data)
        except ValueError:
            raise ProtocolError("the answer is not JSON: %.200r" % data[:200]) from None

    def _error(self, e):
        try:
            error = json.loads(e.read()).get("error") or {}
        except (ValueError, AttributeError, OSError):
            error = {}
        code, message = error.get("code"), error.get("message", e.reason)
        if e.code == 401:
            return Unauthorized(message)
        if e.code == 503 and code in ("overloaded", "sandbox_unavailable", None):
            retry = e.headers.get("Retry-After") if e.headers else None
            return Overloaded(message, retry_after=float(retry) if retry and retry.isdigit() else None)
        if code:
            # A refusal over HTTP, as the result AMQP would have carried.
            return JobRefused({"status": "error", "error": {"code": code, "message": message}, "results": []})
        return ProtocolError("HTTP %d: %s" % (e.code, message))


class AmqpClient:
    """RPC over RabbitMQ: one connection, one exclusive reply queue, one job at a time.

    Not thread-safe (pika's BlockingConnection is not): use one client per thread.
    """

    def __init__(self, url="amqp://guest:guest@127.0.0.1:5672/%2F", queue="execution_queue",
                 timeout=DEFAULT_TIMEOUT_S, reconnects=2, connection_name="execd-client"):
        self.url = url
        self.connection_name = connection_name  # what RabbitMQ's management lists the connection as
        self.queue = queue
        self.timeout = timeout
        self.reconnects = reconnects
        self._conn = self._channel = self._reply_queue = None
        self._replies = {}
        self.reconnections = 0  # connections lost and re-opened, over this client's life

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        conn, self._conn = self._conn, None
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except Exception:
                pass  # already gone: nothing of ours to release

    def execute(self, job, timeout=None):
        """The job's result, or a ClientError. A connection lost while waiting is re-opened and the
        job published again (same id): execd runs it at least once, callers deduplicate by id."""
        import pika.exceptions

        job = with_id(job)
        body = json.dumps(job).encode("utf-8")
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        for attempt in range(self.reconnects + 1):
            try:
                return _checked(self._call(body, deadline))
            except (pika.exceptions.AMQPConnectionError, pika.exceptions.StreamLostError,
                    pika.exceptions.ChannelClosed, pika.exceptions.ConnectionClosed) as e:
                self._drop()
                if attempt == self.reconnects or time.monotonic() >= deadline:
                    raise Unavailable("the broker at %s: %r" % (self._safe_url(), e)) from e
                self.reconnections += 1
                time.sleep(min(0.5 * (attempt + 1), max(0.0, deadline - time.monotonic())))
        raise AssertionError("unreachable")

    def _connect(self):
        import pika

        if self._conn is not None and self._conn.is_open:
            return
        params = pika.URLParameters(self.url)
        params.client_properties = {"connection_name": self.connection_name}
        self._conn = pika.BlockingConnection(params)
        self._channel = self._conn.channel()
        self._channel.confirm_delivery()
        self._reply_queue = self._channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        self._channel.basic_consume(self._reply_queue, self._on_reply, auto_ack=True)

    def _on_reply(self, channel, method, properties, body):
        self._replies[properties.correlation_id] = body

    def _call(self, body, deadline):
        import pika
        import pika.exceptions

        self._connect()
        correlation_id = str(uuid.uuid4())
        try:
            self._channel.basic_publish("", self.queue, body, pika.BasicProperties(
                reply_to=self._reply_queue, correlation_id=correlation_id, delivery_mode=2,
                content_type="application/json", timestamp=int(time.time())), mandatory=True)
        except pika.exceptions.UnroutableError:
            raise Unavailable("the broker has no queue %r: is execd running?" % self.queue) from None
        except pika.exceptions.NackError:
            raise Unavailable("the broker refused the job (nack)") from None
        while correlation_id not in self._replies:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("no result for job within the timeout (correlation_id %s)" % correlation_id)
            self._conn.process_data_events(time_limit=min(left, 1.0))
        data = self._replies.pop(correlation_id)
        self._replies.clear()  # late answers of calls that timed out: nobody waits for them
        try:
            return json.loads(data)
        except ValueError:
            raise ProtocolError("the result is not JSON: %.200r" % data[:200]) from None

    def _drop(self):
        conn, self._conn = self._conn, None
        self._replies.clear()
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass  # the connection is the broken thing being dropped

    def _safe_url(self):
        import urllib.parse

        parts = urllib.parse.urlsplit(self.url)
        host = parts.hostname or "?"
        return "%s://%s:%s%s" % (parts.scheme, host, parts.port or 5672, parts.path)
