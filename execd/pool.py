"""Sandboxes kept for reuse, per (language, memory limit), started and reset off the job path.

A sandbox serves up to SANDBOX_MAX_JOBS jobs within SANDBOX_MAX_AGE seconds,
one at a time. After a clean job it goes to a recycler thread, which waits
for the runner's verified reset (its next "ready") and puts it back; a job
that ended in any anomaly, a reset that does not verify, or a sandbox past
its limits goes to the remover instead, and is never used again. How many
sandboxes a key keeps is sized from demand: the busiest moment of the last
DEMAND_WINDOW_S seconds plus spare ones, at least the configured pool size
for the default memory limit; surplus idle sandboxes are removed.
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


class _Key:
    """One (language, memory limit): its idle sandboxes and the counts that size it."""

    def __init__(self, floor):
        self.idle = collections.deque()  # oldest first; taken from the newest end
        self.floor = floor  # idle sandboxes wanted even without demand
        self.busy = 0  # running a job
        self.resetting = 0
        self.starting = 0
        self.peaks = collections.deque()  # (second, most sandboxes busy or resetting in it)

    def in_use(self):
        return self.busy + self.resetting

    def note_demand(self, now):
        second = int(now)
        if self.peaks and self.peaks[-1][0] == second:
            if self.in_use() > self.peaks[-1][1]:
                self.peaks[-1] = (second, self.in_use())
        else:
            self.peaks.append((second, self.in_use()))

    def target(self, now, window):
        """Sandboxes this key should hold: the recent peak plus spares, at least the floor idle."""
        while self.peaks and self.peaks[0][0] < now - window:
            self.peaks.popleft()
        peak = max((n for _, n in self.peaks), default=0)
        if peak == 0:
            return self.floor
        return peak + max(self.floor, 1)

    def total(self):
        return len(self.idle) + self.busy + self.resetting + self.starting


class SandboxPool:
    """Hands out ready sandboxes and takes them back; thread-safe.

    `factory(language, memory_mb)` starts a sandbox (raises SandboxUnavailable).
    `floors` maps (language, memory_mb) to the idle sandboxes always kept.
    """

    DEMAND_WINDOW_S = 60.0
    RESET_TIMEOUT_S = 10.0
    SWEEP_INTERVAL_S = 1.0

    def __init__(self, factory, floors, remover, max_jobs=200, max_age=300.0, max_sandboxes=16,
                 observer=None, start_threads=2):
        self.factory = factory
        self.remover = remover
        self.max_jobs = max_jobs
        self.max_age = max_age
        self.max_sandboxes = max_sandboxes
        self.observer = observer
        self.start_threads = start_threads
        self._keys = {key: _Key(floor) for key, floor in floors.items()}
        self._cond = threading.Condition()
        self._stopping = False
        self._recycle = queue.Queue()
        self._threads = []

    # -- life cycle --------------------------------------------------------

    def start(self):
        for i in range(self.start_threads):
            self._spawn(self._fill_loop, "execd-pool-fill-%d" % i)
        for i in range(2):
            self._spawn(self._recycle_loop, "execd-pool-recycle-%d" % i)
        return self

    def _spawn(self, target, name):
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def close(self):
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for _ in range(2):
            self._recycle.put(None)
        for t in self._threads:
            t.join(60)
        with self._cond:
            for state in self._keys.values():
                while state.idle:
                    self.remover.submit(state.idle.popleft())
        self._changed()

    # -- jobs --------------------------------------------------------------

    def take(self, language, memory_mb, wait_s=2.0, cold=False):
        """An idle sandbox for this key, or None (the caller starts one; `cold`: it will).

        When none is idle but one is resetting, waits for it up to `wait_s`:
        a reset takes milliseconds, a cold start hundreds.
        """
        deadline = time.monotonic() + (0 if cold else wait_s)
        with self._cond:
            state = self._state(language, memory_mb)
            while True:
                now = time.monotonic()
                while state.idle and not cold:
                    sandbox = state.idle.pop()
                    if self._expired(sandbox, now):
                        self.remover.submit(sandbox)
                        continue
                    state.busy += 1
                    state.note_demand(now)
                    self._cond.notify_all()
                    break
                else:
                    sandbox = None
                if sandbox is not None or cold or not state.resetting or now >= deadline or self._stopping:
                    break
                self._cond.wait(deadline - now)
            if sandbox is None:
                state.busy += 1  # the caller's cold start counts as demand
                state.note_demand(time.monotonic())
                self._cond.notify_all()
        self._changed()
        return sandbox

    def will_reuse(self, sandbox):
        """Whether `sandbox` may serve another job after the one it is about to run."""
        return sandbox.reusable and sandbox.jobs + 1 < self.max_jobs and time.monotonic() - sandbox.created < self.max_age

    def give_back(self, language, memory_mb, sandbox, clean):
        """After a job: a sandbox that ran it cleanly and was told to reset is reused, any other removed.

        Every take() is matched by one give_back(), with sandbox None when the
        caller's own start failed.
        """
        with self._cond:
            state = self._state(language, memory_mb)
            state.busy -= 1
            recycle = clean and sandbox is not None and not self._stopping
            if recycle:
                state.resetting += 1
            self._cond.notify_all()
        if recycle:
            self._recycle.put((language, memory_mb, sandbox))
        elif sandbox is not None:
            self._retire(sandbox, "anomaly or limits")

    def idle(self, language=None):
        with self._cond:
            return sum(len(s.idle) for (lang, _), s in self._keys.items() if language in (None, lang))

    def snapshot(self):
        """{(language, memory_mb): {idle, busy, resetting, starting, target}} for tests and /health."""
        now = time.monotonic()
        with self._cond:
            return {key: {"idle": len(s.idle), "busy": s.busy, "resetting": s.resetting, "starting": s.starting,
                          "target": s.target(now, self.DEMAND_WINDOW_S)} for key, s in self._keys.items()}

    # -- background work -----------------------------------------------------

    def _state(self, language, memory_mb):
        state = self._keys.get((language, memory_mb))
        if state is None:
            state = self._keys[(language, memory_mb)] = _Key(0)
        return state

    def _expired(self, sandbox, now):
        return now - sandbox.created >= self.max_age

    def _retire(self, sandbox, reason):
        log.debug("retiring sandbox %s: %s", getattr(sandbox, "id", "?")[:12], reason)
        if self.observer is not None and hasattr(self.observer, "sandbox_retired"):
            try:
                self.observer.sandbox_retired(sandbox.spec.language, reason)
            except Exception:
                log.exception("observer failed")
        self.remover.submit(sandbox)

    def _recycle_loop(self):
        while True:
            item = self._recycle.get()
            if item is None:
                return
            language, memory_mb, sandbox = item
            try:
                ok = sandbox.await_reset(self.RESET_TIMEOUT_S)
            except Exception:
                log.exception("waiting for a sandbox reset failed")
                ok = False
            with self._cond:
                state = self._state(language, memory_mb)
                state.resetting -= 1
                keep = ok and not self._stopping
                if keep:
                    state.idle.append(sandbox)
                self._cond.notify_all()
            if not keep:
                self._retire(sandbox, "reset failed" if not ok else "stopping")
            self._changed()

    def _next_start(self):
        """The key that most needs a sandbox started, or None; holds the lock."""
        now = time.monotonic()
        total = sum(s.total() for s in self._keys.values())
        if total >= self.max_sandboxes:
            return None
        best, best_gap = None, 0
        for key, state in self._keys.items():
            gap = state.target(now, self.DEMAND_WINDOW_S) - state.total()
            if gap > best_gap:
                best, best_gap = key, gap
        return best

    def _sweep(self):
        """Remove idle sandboxes past their age or beyond their key's target; holds the lock."""
        now = time.monotonic()
        out = []
        for state in self._keys.values():
            for sandbox in [s for s in state.idle if self._expired(s, now)]:
                state.idle.remove(sandbox)
                out.append((sandbox, "max age"))
            while state.idle and state.total() > state.target(now, self.DEMAND_WINDOW_S):
                out.append((state.idle.popleft(), "surplus"))
        return out

    def _fill_loop(self):
        backoff = 0.5
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    retired = self._sweep()
                    key = self._next_start()
                    if key is not None or retired:
                        break
                    self._cond.wait(self.SWEEP_INTERVAL_S)
                if key is not None:
                    self._keys[key].starting += 1
            for sandbox, reason in retired:
                self._retire(sandbox, reason)
            if retired:
                self._changed()
            if key is None:
                continue
            state = self._keys[key]
            try:
                sandbox = self.factory(*key)
            except Exception as e:
                if isinstance(e, SandboxUnavailable):
                    log.warning("cannot warm a %s sandbox: %s", key[0], e)
                else:
                    log.exception("warming a %s sandbox failed", key[0])
                with self._cond:
                    state.starting -= 1
                    self._cond.wait(backoff + random.uniform(0, backoff / 2))
                backoff = min(backoff * 2, MAX_REFILL_BACKOFF_S)
                continue
            backoff = 0.5
            with self._cond:
                state.starting -= 1
                if self._stopping:
                    self.remover.submit(sandbox)
                    return
                state.idle.append(sandbox)
                self._cond.notify_all()
            self._changed()

    def _changed(self):
        if self.observer is None:
            return
        with self._cond:
            sizes = collections.Counter()
            for (language, _), state in self._keys.items():
                sizes[language] += len(state.idle)
        for language, size in sizes.items():
            try:
                self.observer.pool_size(language, size)
            except Exception:
                log.exception("pool change hook failed")
