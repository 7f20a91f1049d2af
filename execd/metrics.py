"""Prometheus metrics in multiprocess mode, aggregated over the parent and every worker.

prometheus_client picks its value class when it is first imported, from
PROMETHEUS_MULTIPROC_DIR, so `prepare_dir()` must run in the parent before
anything imports prometheus_client, and the workers inherit the variable.
Metric objects are created lazily for the same reason.
"""
import os
import shutil
import tempfile

from execd import judge, languages
from execd.errors import ERROR_CODES

ENV = "PROMETHEUS_MULTIPROC_DIR"
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

# Label values come from closed sets only: a job's language and verdict are
# caller-controlled text when the job is refused, and every distinct label
# value is a new time series in every process's file.
VERDICTS = ("pass",) + judge.SEVERITY
_VERDICT_LABELS = frozenset(VERDICTS + ERROR_CODES)


def job_labels(result):
    """(language, verdict) labels of a result: a language's canonical name or
    "invalid", a verdict or error code of the contract or "unknown"."""
    language = languages.resolve(result.get("language"))
    error = result.get("error")
    verdict = result.get("verdict") or (error.get("code") if isinstance(error, dict) else None)
    return (language.name if language is not None else "invalid",
            verdict if isinstance(verdict, str) and verdict in _VERDICT_LABELS else "unknown")


def prepare_dir(environ=None):
    """Use $PROMETHEUS_MULTIPROC_DIR (wiped: stale files lie) or a fresh temp dir."""
    environ = os.environ if environ is None else environ
    path = environ.get(ENV)
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            full = os.path.join(path, name)
            if os.path.isdir(full):
                shutil.rmtree(full, ignore_errors=True)
            else:
                os.unlink(full)
    else:
        path = tempfile.mkdtemp(prefix="execd-metrics-")
        environ[ENV] = path
    return path


class Metrics:
    """Every metric execd exports; one instance per process."""

    def __init__(self):
        from prometheus_client import Counter, Gauge, Histogram

        self.jobs = Counter("execd_jobs_total", "Jobs finished, by language, verdict (or error code) and source",
                            ["language", "verdict", "source"])
        self.job_duration = Histogram("execd_job_duration_seconds", "Time to run a job, validation to result",
                                      ["language", "source"], buckets=DURATION_BUCKETS)
        self.queue_wait = Histogram("execd_queue_wait_seconds", "Time a job waited in the queue (message timestamp)",
                                    buckets=DURATION_BUCKETS)
        self.sandbox_start = Histogram("execd_sandbox_start_seconds", "Time to create and start a sandbox",
                                       ["language"], buckets=DURATION_BUCKETS)
        self.warm_pool = Gauge("execd_warm_pool_size", "Warm sandboxes ready", ["language"],
                               multiprocess_mode="livesum")
        self.live_workers = Gauge("execd_live_workers", "Queue consumer processes alive", multiprocess_mode="livemax")
        self.worker_restarts = Counter("execd_worker_restarts_total", "Queue consumer processes restarted")
        self.amqp_reconnects = Counter("execd_amqp_reconnects_total", "Broker reconnections by consumers")
        self.http_requests = Counter("execd_http_requests_total", "HTTP requests by route and status",
                                     ["route", "status"])
        self.in_flight = Gauge("execd_jobs_in_flight", "Jobs running now", ["source"], multiprocess_mode="livesum")

    # The executor's observer interface.
    def sandbox_started(self, language, seconds):
        self.sandbox_start.labels(language).observe(seconds)

    def pool_size(self, language, size):
        self.warm_pool.labels(language).set(size)

    def job_done(self, result, source, seconds):
        language, verdict = job_labels(result)
        self.jobs.labels(language, verdict, source).inc()
        self.job_duration.labels(language, source).observe(seconds)


def scrape():
    """(body, content type) aggregated from every process's files."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def mark_dead(pid):
    """Drop a dead process's live gauges (called when it is reaped)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)
