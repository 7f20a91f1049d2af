"""`execd serve` wiring: the parent's HTTP front end around a swappable engine."""
import logging
import threading
import time

import docker
import docker.errors

from execd import jobs, languages
from execd.errors import ExecdError
from execd.executor import Executor
from execd.health import Health
from execd.http.app import Authenticator, InFlight, create_app
from execd.http.server import HttpServer

log = logging.getLogger("execd.daemon")
ENGINE_RETRY_S = 5.0


class EngineHolder:
    """The HTTP side's engine; replaced on reload, retried while Docker is down."""

    def __init__(self, settings, metrics):
        self.settings = settings
        self.metrics = metrics
        self.current = None
        self.retired = []  # replaced engines, closed once their jobs are done
        self._closed = False
        self._lock = threading.Lock()

    def start(self):
        if not self._try_start():
            threading.Thread(target=self._retry, name="execd-engine-retry", daemon=True).start()

    def _try_start(self):
        try:
            executor = Executor(self.settings, observer=self.metrics).start()
        except ExecdError as e:
            log.error("HTTP engine unavailable: %s", e.message)
            return False
        with self._lock:
            if self._closed:
                executor.close()
                return True
            self.current = executor
        return True

    def _retry(self):
        while not self._closed and not self._try_start():
            time.sleep(ENGINE_RETRY_S)

    def execute(self, raw, tick=None):
        executor = self.current
        if executor is None:
            decoded = raw if isinstance(raw, dict) else None
            return jobs.error_result(jobs.job_id_of(decoded), "sandbox_unavailable",
                                     "the sandbox engine is not available")
        return executor.execute(raw, tick)

    def languages(self):
        return languages.describe_all()

    def ping(self):
        executor = self.current
        client = executor.client if executor is not None else None
        if client is None:
            client = docker.from_env(timeout=2, version="auto")
        try:
            return client.ping()
        except docker.errors.DockerException:
            return False

    def reload(self, settings):
        try:
            new = Executor(settings, observer=self.metrics).start()
        except ExecdError as e:
            log.error("HTTP engine keeps its old settings: %s", e.message)
            return
        with self._lock:
            old, self.current, self.settings = self.current, new, settings
            if old is not None:
                self.retired.append(old)
        if old is not None:
            # Let requests already running on the old engine finish first.
            timer = threading.Timer(settings.max_job_time + 5, self._close_retired, args=(old,))
            timer.daemon = True
            timer.start()

    def _close_retired(self, executor):
        with self._lock:
            if executor not in self.retired:
                return
            self.retired.remove(executor)
        executor.close()

    def close(self):
        with self._lock:
            self._closed = True
            executors = [self.current] + self.retired
            self.current, self.retired = None, []
        for executor in executors:
            if executor is not None:
                executor.close()


class HttpFrontend:
    """What the supervisor starts in its own process: engine, health, Falcon on Waitress."""

    def __init__(self, settings, metrics):
        self.settings = settings
        self.metrics = metrics
        self.engine = EngineHolder(settings, metrics)
        self.health = None
        self.server = None
        self.app = None
        self.executing = InFlight()

    @property
    def draining(self):
        return self.health is not None and self.health.draining

    @draining.setter
    def draining(self, value):
        if self.health is not None:
            self.health.draining = value

    def start(self, supervisor):
        auth = Authenticator.from_settings(self.settings)
        if auth.disabled:
            log.warning("EXECD_AUTH=disabled: /api/execute and /api/languages accept requests without credentials")
        elif not auth.configured:
            log.warning("no EXECD_API_KEYS, API_KEYS_FILE or JWT_SECRET: /api/* refuses every request")
        self.engine.start()
        self.health = Health(self.settings, self.engine.ping, supervisor.workers_state).start()
        self.app = create_app(self.settings, self.engine, self.health, self.metrics, auth, self.executing)
        threads = self.settings.http_concurrency + 4
        self.server = HttpServer(self.app, self.settings.bind, self.settings.port, threads).start()

    def reload(self, settings):
        self.engine.reload(settings)

    def in_flight(self):
        return self.executing.count

    def stop(self):
        if self.server is not None:
            self.server.stop()
        if self.health is not None:
            self.health.stop()
        self.engine.close()
