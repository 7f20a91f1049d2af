"""Dependency states for /health, refreshed on a timer so a request never blocks.

Docker down, the broker down or workers not ready is "degraded", still 200:
an engine restart is brief and node-wide, queue workers hold their jobs
through it and HTTP answers 503 sandbox_unavailable with Retry-After, so
restarting or unrouting execd would only add to the outage. Draining at
shutdown is 503 "draining".
"""
import logging
import socket
import threading
import time
from urllib.parse import urlparse

from execd import __version__

log = logging.getLogger("execd.health")


class Health:
    def __init__(self, settings, docker_ping, workers_state):
        self.settings = settings
        self.docker_ping = docker_ping  # () -> bool
        self.workers_state = workers_state  # () -> {"configured", "live", "ready"}
        self.docker_up = False
        self.broker_up = False
        self.checked_at = 0.0
        self.draining = False
        self._stop = threading.Event()
        self._thread = None

    def refresh(self):
        try:
            self.docker_up = bool(self.docker_ping())
        except Exception:
            self.docker_up = False
        self.broker_up = broker_reachable(self.settings.amqp_url)
        self.checked_at = time.time()

    def start(self):
        self.refresh()
        self._thread = threading.Thread(target=self._loop, name="execd-health", daemon=True)
        self._thread.start()
        return self

    def _loop(self):
        while not self._stop.wait(self.settings.health_interval):
            self.refresh()

    def stop(self):
        self._stop.set()

    def report(self):
        workers = self.workers_state()
        if self.draining:
            status = "draining"
        elif not self.docker_up or not self.broker_up or workers["ready"] < workers["configured"]:
            status = "degraded"
        else:
            status = "ok"
        body = {
            "status": status,
            "version": __version__,
            "docker": "up" if self.docker_up else "down",
            "sandboxRuntime": self.settings.sandbox_runtime or "default",
            "broker": "up" if self.broker_up else "down",
            "workers": workers,
            "checkedAt": round(self.checked_at, 3),
        }
        return status in ("ok", "degraded"), body


def broker_reachable(url, timeout=1.0):
    """A TCP connect to the broker: cheap, and enough to tell it is there."""
    parsed = urlparse(url)
    port = parsed.port or (5671 if parsed.scheme == "amqps" else 5672)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False
