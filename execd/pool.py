"""Warm pools of started sandboxes, one per language, refilled in the background.

A sandbox leaves the pool once and is never returned: one container, one job.
Used containers are removed by a small background remover so that removal is
off the job's critical path.
"""
import collections
import logging
import queue
import random
import threading
import time

from execd.errors import SandboxUnavailable

log = logging.getLogger("execd.pool")

# Short: after an engine restart every warm sandbox is dead, and jobs start
# cold until the pools refill.
MAX_REFILL_BACKOFF_S = 5.0


class Remover:
    """Destroys used sandboxes on background threads.

    A removal the engine refused (it is restarting) is retried every
    RETRY_INTERVAL_S for up to RETRY_FOR_S, so an outage leaks no container.
    """

    RETRY_INTERVAL_S = 2.0
    RETRY_FOR_S = 600.0

    def __init__(self, threads=2):
        self._queue = queue.Queue()
        self._retries = collections.deque()  # (due, give_up_at, sandbox)
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._loop, name="execd-remover-%d" % i, daemon=True)
                         for i in range(threads)]
        for t in self._threads:
            t.start()

    def submit(self, sandbox):
        self._queue.put((sandbox, None))

    def pending(self):
        """Sandboxes submitted and not yet removed."""
        with self._lock:
            return self._queue.unfinished_tasks + len(self._retries)

    def _loop(self):
        while True:
            try:
                sandbox, give_up_at = self._queue.get(timeout=self.RETRY_INTERVAL_S / 2)
            except queue.Empty:
                self._requeue_due()
                continue
            try:
                if sandbox is None:
                    return
                if not sandbox.destroy():
                    self._retry_later(sandbox, give_up_at)
            except Exception:
                log.exception("removing a sandbox failed")
            finally:
                self._queue.task_done()
            self._requeue_due()

    def _retry_later(self, sandbox, give_up_at):
        now = time.monotonic()
        give_up_at = give_up_at or now + self.RETRY_FOR_S
        if now >= give_up_at:
            log.error("giving up removing sandbox %s", getattr(sandbox, "id", "?"))
            return
        with self._lock:
            self._retries.append((now + self.RETRY_INTERVAL_S, give_up_at, sandbox))

    def _requeue_due(self, everything=False):
        now = time.monotonic()
        with self._lock:
            while self._retries and (everything or self._retries[0][0] <= now):
                _, give_up_at, sandbox = self._retries.popleft()
                self._queue.put((sandbox, give_up_at))

    def close(self, timeout=30.0):
        """Finish every pending removal (one more try for those waiting to retry), then stop."""
        self._requeue_due(everything=True)
        for _ in self._threads:
            self._queue.put((None, None))
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(deadline - time.monotonic(), 0))


class WarmPool:
    """Keeps `size` ready sandboxes made by `factory()`; `take()` never blocks."""

    def __init__(self, name, factory, size, remover, on_change=None):
        self.name = name
        self.factory = factory
        self.size = size
        self.remover = remover
        self.on_change = on_change
        self._ready = collections.deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._starting = 0
        self._threads = []
        self.last_error = None

    def start(self, threads=1):
        if self.size <= 0:
            return
        for i in range(threads):
            t = threading.Thread(target=self._fill_loop, name="execd-pool-%s-%d" % (self.name, i), daemon=True)
            t.start()
            self._threads.append(t)

    def take(self):
        with self._cond:
            sandbox = self._ready.popleft() if self._ready else None
            self._cond.notify_all()
        self._changed()
        return sandbox

    def __len__(self):
        return len(self._ready)

    def _changed(self):
        if self.on_change is not None:
            try:
                self.on_change(self.name, len(self._ready))
            except Exception:
                log.exception("pool change hook failed")

    def _fill_loop(self):
        backoff = 0.5
        while True:
            with self._cond:
                while not self._stopping and len(self._ready) + self._starting >= self.size:
                    self._cond.wait(1.0)
                if self._stopping:
                    return
                self._starting += 1
            try:
                sandbox = self.factory()
            except SandboxUnavailable as e:
                self.last_error = str(e)
                log.warning("cannot warm a %s sandbox: %s", self.name, e)
                with self._cond:
                    self._starting -= 1
                    self._cond.wait(backoff + random.uniform(0, backoff / 2))
                backoff = min(backoff * 2, MAX_REFILL_BACKOFF_S)
                continue
            except Exception:
                log.exception("warming a %s sandbox failed", self.name)
                with self._cond:
                    self._starting -= 1
                    self._cond.wait(backoff)
                backoff = min(backoff * 2, MAX_REFILL_BACKOFF_S)
                continue
            backoff = 0.5
            self.last_error = None
            with self._cond:
                self._starting -= 1
                if self._stopping:
                    self.remover.submit(sandbox)
                    return
                self._ready.append(sandbox)
            self._changed()

    def close(self):
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for t in self._threads:
            t.join(60)
        with self._cond:
            while self._ready:
                self.remover.submit(self._ready.popleft())
        self._changed()
