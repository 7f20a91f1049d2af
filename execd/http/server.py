"""Waitress on a daemon thread, guarded at intake. Routes live in app.py.

Plain Waitress reads a whole request body (spooling it to a temp file) before
the app sees it, and keeps slow connections for minutes. Here:

- a request is judged the moment its headers are complete (`IntakeParser`):
  bad credentials on a protected route get 401, a declared body over the
  limit gets 413, and the connection closes without the body being read;
- a body arriving over the limit (chunked) is refused while it arrives;
- a request whose headers and body do not arrive within `request_timeout`
  of its first byte gets 408, however steadily it trickles (`IntakeServer`
  checks on Waitress's maintenance pass); once a request is complete, the
  time the app takes does not count;
- a connection silent for `idle_timeout` is closed (Waitress's channel_timeout).

Every answer given here has the contract's body {"error": {"code", "message"}}.
"""
import json
import logging
import math
import socket
import threading
import time

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask
from waitress.utilities import Error, RequestEntityTooLarge

from execd.http.app import WWW_AUTHENTICATE

log = logging.getLogger("execd.http")

CLEANUP_INTERVAL_S = 1  # how often idle and overdue connections are looked for


class Refusal(Error):
    """A Waitress error response carrying a contract error code."""

    def __init__(self, status, error_code, message):
        super().__init__(message)
        code, _, reason = status.partition(" ")
        self.code, self.reason, self.error_code = int(code), reason, error_code

    @classmethod
    def of(cls, api_error):
        return cls(api_error.status, api_error.code, api_error.message)


class JsonErrorTask(ErrorTask):
    """Answers any request in error (ours or Waitress's own 400/413/431/500) in the contract's shape."""

    def execute(self):
        error = self.request.error
        code = getattr(error, "error_code", None) or ("internal_error" if error.code >= 500 else "invalid_job")
        body = json.dumps({"error": {"code": code, "message": str(error.body)}}, ensure_ascii=True).encode()
        self.status = "%d %s" % (error.code, error.reason)
        self.response_headers.append(("Content-Type", "application/json"))
        if error.code == 401:
            self.response_headers.append(("WWW-Authenticate", WWW_AUTHENTICATE))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)
        self.channel.linger_after_close = True
        self.channel.server.intake.answered(getattr(self.request, "path", None), error.code)


class IntakeParser(HTTPRequestParser):
    """Waitress's parser, plus the intake's verdict as soon as the headers are in."""

    def __init__(self, adj, intake):
        super().__init__(adj)
        self.intake = intake
        # A parser is made when the request's first byte arrives: its clock starts here.
        self.started = time.monotonic()

    def received(self, data):
        in_headers = not self.headers_finished
        consumed = super().received(data)
        if in_headers and self.headers_finished and not self.empty:
            self._judge_headers()
        elif isinstance(self.error, RequestEntityTooLarge):
            # Waitress's own limit, reached by a chunked body while it arrives.
            self.error = Refusal.of(self.intake.too_large())
        if self.error is not None:
            # The connection ends with this request: never invite the body
            # (100 Continue), and do not parse what follows as a new request.
            self.expect_continue = False
            return len(data)
        return consumed

    def _judge_headers(self):
        if self.error is not None and not isinstance(self.error, RequestEntityTooLarge):
            return  # malformed headers: Waitress's 400/501 stands
        try:
            refusal = self.intake.refusal(self.path, self.headers.get("AUTHORIZATION"), self.content_length)
            if refusal is not None:
                self.error = Refusal.of(refusal)
        except Exception:  # a surprise here must not break the server's loop
            log.exception("intake check failed")
            self.error = Refusal("500 Internal Server Error", "internal_error", "internal error")
        if self.error is not None:
            self.completed = True


class IntakeChannel(HTTPChannel):
    """Waitress's channel with the intake's parser, request deadline and lingering close.

    A refusal is sent while the client may still be sending its body. Closing
    with unread data makes the kernel reset the connection, and a client that
    writes its whole body before reading (urllib, most scripts) then sees a
    reset, not the 413. So after a refusal the channel shuts its sending side
    and reads and drops what still arrives, up to LINGER_S and a byte budget
    (twice the body limit), then closes: nothing is kept, and a flood only
    costs the budget.
    """

    error_task_class = JsonErrorTask
    linger_after_close = False
    lingering = False
    closed = False
    LINGER_S = 2.0

    def parser_class(self, adj):
        # Waitress makes each request's parser with self.parser_class(self.adj).
        return IntakeParser(adj, self.server.intake)

    def expire_overdue_request(self, now, timeout):
        """Answer 408 to a request still arriving `timeout` after its first byte.

        Only a request being read counts: one that is complete (running in the
        app, or queued for a thread) is in self.requests, not self.request.
        """
        with self.requests_lock:
            request = self.request
            if (request is None or self.requests or self.will_close or self.close_when_flushed
                    or now - request.started < timeout):
                return
            request.error = Refusal("408 Request Timeout", "invalid_job",
                                    "the request did not arrive within %g s" % timeout)
            request.expect_continue = False
            request.completed = True
            self.request = None
            self.requests.append(request)
            self.server.add_task(self)

    def handle_close(self):
        if self.linger_after_close and not self.lingering and self.connected and not self.total_outbufs_len:
            try:
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                return self._close_now()
            self.lingering = True
            self.linger_until = time.monotonic() + self.LINGER_S
            self.linger_budget = 2 * self.server.intake.max_body_bytes + (1 << 20)
            self.will_close = self.close_when_flushed = False
            return
        self._close_now()

    def _close_now(self):
        if not self.closed:
            self.closed = True
            self.lingering = False
            super().handle_close()

    def readable(self):
        return self.lingering or super().readable()

    def writable(self):
        return not self.lingering and super().writable()

    def handle_read(self):
        if not self.lingering:
            return super().handle_read()
        try:
            data = self.socket.recv(65536)
        except OSError:
            data = b""
        self.linger_budget -= len(data)
        if not data or self.linger_budget <= 0 or time.monotonic() >= self.linger_until:
            self._close_now()

    def end_overdue_linger(self, now):
        if self.lingering and now >= self.linger_until:
            self._close_now()

    def service(self):
        super().service()
        with self.requests_lock:
            if self.request is not None:
                # A pipelined request was not read while the previous one ran.
                self.request.started = time.monotonic()


class IntakeServer(TcpWSGIServer):
    channel_class = IntakeChannel

    def __init__(self, application, intake, adj):
        self.intake = intake
        super().__init__(application, adj=adj)

    def maintenance(self, now):
        super().maintenance(now)  # closes connections idle for channel_timeout
        clock = time.monotonic()
        for channel in list(self.active_channels.values()):
            channel.end_overdue_linger(clock)
            channel.expire_overdue_request(clock, self.intake.request_timeout)


class HttpServer:
    def __init__(self, app, host, port, threads, intake=None):
        """`intake` (app.Intake) defaults to the one create_app attached to `app`."""
        intake = intake or app.intake
        adj = Adjustments(
            host=host, port=port, ident="execd", connection_limit=1000,
            # Enough threads to answer 503 and /health while every execute slot is busy.
            threads=threads,
            # Waitress refuses at >= this, the contract over the limit.
            max_request_body_size=intake.max_body_bytes + 1,
            channel_timeout=max(1, math.ceil(intake.idle_timeout)),
            cleanup_interval=CLEANUP_INTERVAL_S,
            # A job's request needs a few headers; 64 KiB (not 256) bounds what
            # 1000 connections can make the server hold before any check.
            max_request_header_size=65536,
        )
        self.server = IntakeServer(app, intake, adj)
        self.thread = threading.Thread(target=self._serve, name="execd-http", daemon=True)

    @property
    def port(self):
        return int(self.server.effective_port)  # Waitress may give it as text

    def _serve(self):
        try:
            self.server.run()
        except Exception:  # closed at shutdown: asyncore raises on the closed socket
            log.debug("HTTP server loop ended", exc_info=True)

    def start(self):
        self.thread.start()
        log.info("HTTP listening", extra={"port": self.port})
        return self

    def stop(self):
        try:
            self.server.close()
        except Exception:
            log.debug("closing the HTTP server failed", exc_info=True)
        self.thread.join(5)
