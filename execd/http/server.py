"""Waitress on a daemon thread: start, stop. Routes live in app.py."""
import logging
import threading

import waitress

log = logging.getLogger("execd.http")


class HttpServer:
    def __init__(self, app, host, port, threads):
        # Enough threads to answer 503 and /health while every execute slot is busy.
        self.server = waitress.create_server(app, host=host, port=port, threads=threads,
                                             ident="execd", channel_timeout=120, connection_limit=1000)
        self.thread = threading.Thread(target=self._serve, name="execd-http", daemon=True)

    @property
    def port(self):
        return self.server.effective_port

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
