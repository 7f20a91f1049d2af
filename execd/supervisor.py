"""The supervisor: one loop that owns the worker processes.

Only this module starts (posix_spawn) and reaps (waitpid) processes. Workers
are fresh interpreters (`python -m execd worker`), not forks, so the parent's
threads (HTTP, pools, health) can never leave a child holding a stale lock.
Signal handlers only record the signal; the main loop, woken at least once a
second, handles signals, reaps, checks heartbeats and respawns, in that order.
"""
import collections
import errno
import logging
import os
import random
import select
import signal
import sys
import threading
import time

from execd import heartbeat as heartbeat_module
from execd import notify

log = logging.getLogger("execd.supervisor")

# Exit codes of `execd serve`.
EXIT_OK = 0
EXIT_HALT = 3  # a worker could not boot (config, images): looping would not help

WORKER_BOOT_ERROR = 3  # consumer.EXIT_BOOT_ERROR
TICK_S = 1.0
MAX_BACKOFF_S = 30.0
ROLL_READY_WAIT_S = 60.0


class Slot:
    """Worker slot k: the pid in it, its heartbeat file, and its restart backoff."""

    def __init__(self, index, runtime_dir):
        self.index = index
        self.runtime_dir = runtime_dir
        self.pid = None
        self.generation = 0
        self.started = 0.0
        self.failures = 0
        self.next_start = 0.0
        self.heartbeat_path = None

    def new_heartbeat_path(self):
        self.generation += 1
        self.heartbeat_path = os.path.join(self.runtime_dir, "worker-%d-%d.hb" % (self.index, self.generation))
        return self.heartbeat_path


class Supervisor:
    def __init__(self, settings, config_path, runtime_dir, metrics=None, http=None, reap_sandboxes=None,
                 load_settings=None):
        self.settings = settings
        self.config_path = config_path
        self.runtime_dir = runtime_dir
        self.metrics = metrics
        self.http = http  # object with start(supervisor), reload(settings), in_flight(), stop(), draining
        self.reap_sandboxes = reap_sandboxes  # () -> None; removes sandboxes of dead workers
        self.load_settings = load_settings
        self.slots = [Slot(k, runtime_dir) for k in range(settings.worker_count())]
        self.retiring = {}  # pid -> {"slot", "heartbeat", "term_at", "successor_ready_by"}
        self.signals = collections.deque()
        self.stopping = False
        self.stop_deadline = None
        self.exit_code = EXIT_OK
        self.rolling = collections.deque()
        self._wake_r = self._wake_w = None
        self._reaping = threading.Lock()

    # -- signals -----------------------------------------------------------------

    def install_signals(self):
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, self._record_signal)

    def _record_signal(self, signum, frame):
        # Record only: logging or locking in a handler can deadlock.
        self.signals.append(signum)

    def handle_signals(self):
        while self.signals:
            signum = self.signals.popleft()
            if signum == signal.SIGCHLD:
                continue
            name = signal.Signals(signum).name
            handler = getattr(self, "handle_" + name[3:].lower(), None)
            if handler is not None:
                handler()

    def handle_term(self):
        if self.stopping:
            log.warning("second stop signal: stopping now")
            self.kill_all(signal.SIGKILL)
            self.stop_deadline = time.monotonic()
            return
        log.info("stopping gracefully", extra={"graceful_timeout": self.settings.graceful_timeout})
        self.begin_stop()

    def handle_int(self):
        self.handle_term()

    def handle_quit(self):
        log.warning("SIGQUIT: stopping now; unacknowledged jobs return to the queue")
        self.stopping = True
        if self.http is not None:
            self.http.draining = True
        self.kill_all(signal.SIGKILL)
        self.stop_deadline = time.monotonic()

    def handle_hup(self):
        if self.stopping or self.load_settings is None:
            return
        try:
            settings = self.load_settings(self.config_path)
        except Exception as e:
            log.error("reload refused, keeping the running configuration: %s", getattr(e, "message", e))
            return
        notify.notify("RELOADING=1")
        self.settings = settings
        count = settings.worker_count()
        while len(self.slots) < count:
            self.slots.append(Slot(len(self.slots), self.runtime_dir))
        for slot in self.slots[count:]:
            if slot.pid is not None:
                self.retire(slot, immediately=True)
        self.slots = self.slots[:count]
        if self.http is not None:
            self.http.reload(settings)
        self.rolling = collections.deque(s.index for s in self.slots if s.pid is not None)
        log.info("configuration reloaded; replacing %d workers one at a time", len(self.rolling))
        notify.notify("READY=1")

    # -- processes ---------------------------------------------------------------

    def spawn_worker(self, slot):
        argv = [sys.executable, "-m", "execd"]
        if self.config_path:
            argv += ["--config", self.config_path]
        argv += ["worker", "--slot", str(slot.index), "--heartbeat", slot.new_heartbeat_path()]
        with open(slot.heartbeat_path, "w") as f:
            f.write("starting")
        pid = os.posix_spawn(sys.executable, argv, dict(os.environ))
        slot.pid = pid
        slot.started = time.monotonic()
        log.info("worker started", extra={"slot": slot.index, "worker_pid": pid})
        self._update_live()
        return pid

    def spawn_due(self):
        if self.stopping:
            return
        now = time.monotonic()
        for slot in self.slots:
            if slot.pid is None and now >= slot.next_start:
                try:
                    self.spawn_worker(slot)
                except OSError as e:
                    log.error("cannot start a worker: %s", e, extra={"slot": slot.index})
                    self.schedule_restart(slot, quick_death=True)

    def schedule_restart(self, slot, quick_death):
        # starting -> backoff: a worker that dies young waits 1, 2, 4 ... s.
        slot.failures = slot.failures + 1 if quick_death else 0
        delay = 0.0 if not slot.failures else min(2 ** (slot.failures - 1), MAX_BACKOFF_S)
        delay += random.uniform(0, delay / 4) if delay else 0
        slot.next_start = time.monotonic() + delay
        if delay:
            log.warning("worker restart backing off", extra={"slot": slot.index, "delay_s": round(delay, 2)})

    def reap_workers(self):
        died = False
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            except OSError as e:
                if e.errno == errno.EINTR:
                    continue
                raise
            if pid == 0:
                break
            died = True
            self._on_exit(pid, status)
        if died:
            self._update_live()
            if self.reap_sandboxes is not None and not self._reaping.locked():
                threading.Thread(target=self._reap_sandboxes_quietly, daemon=True).start()

    def _reap_sandboxes_quietly(self):
        # One sweep at a time; a worker that dies meanwhile is caught by the next.
        with self._reaping:
            try:
                self.reap_sandboxes()
            except Exception as e:
                log.warning("cannot remove sandboxes of dead workers: %s", e)

    def _on_exit(self, pid, status):
        if self.metrics is not None:
            from execd import metrics as metrics_module

            metrics_module.mark_dead(pid)
        code = os.waitstatus_to_exitcode(status)
        if pid in self.retiring:
            info = self.retiring.pop(pid)
            log.info("retired worker exited", extra={"slot": info["slot"], "worker_pid": pid, "exit": code})
            return
        slot = next((s for s in self.slots if s.pid == pid), None)
        if slot is None:
            log.debug("reaped an unknown child", extra={"pid": pid})
            return
        slot.pid = None
        lived = time.monotonic() - slot.started
        extra = {"slot": slot.index, "worker_pid": pid, "exit": code, "lived_s": round(lived, 1)}
        if code == -signal.SIGKILL:
            log.error("worker killed by SIGKILL (out of memory?)", extra=extra)
        elif self.stopping and code in (0, -signal.SIGTERM):
            log.info("worker stopped", extra=extra)
        elif code == WORKER_BOOT_ERROR:
            log.error("worker could not boot; halting", extra=extra)
            self.exit_code = EXIT_HALT
            self.begin_stop()
        else:
            log.warning("worker exited", extra=extra)
        if self.stopping:
            return
        if self.metrics is not None:
            self.metrics.worker_restarts.inc()
        self.schedule_restart(slot, quick_death=lived < self.settings.worker_start_secs)

    def check_heartbeats(self):
        """Kill a worker silent past worker_timeout; the broker redelivers its job."""
        for slot in self.slots:
            if slot.pid is None or slot.heartbeat_path is None:
                continue
            age, _ = heartbeat_module.read(slot.heartbeat_path)
            if age is not None and age > self.settings.worker_timeout:
                log.error("worker silent for %.0fs; killing it", age, extra={"slot": slot.index,
                                                                              "worker_pid": slot.pid})
                self._kill(slot.pid, signal.SIGKILL)

    def retire(self, slot, immediately=False):
        """Move slot's worker aside; it gets TERM once its successor is ready."""
        self.retiring[slot.pid] = {"slot": slot.index, "term_at": None,
                                   "ready_by": 0.0 if immediately else time.monotonic() + ROLL_READY_WAIT_S}
        if immediately:
            self._term_retiring(slot.pid)
        slot.pid = None

    def _term_retiring(self, pid):
        info = self.retiring.get(pid)
        if info is not None and info["term_at"] is None:
            info["term_at"] = time.monotonic()
            self._kill(pid, signal.SIGTERM)

    def manage_rolling(self):
        """Replace workers one at a time: start the new one, TERM the old once it is ready."""
        now = time.monotonic()
        waiting = [pid for pid, info in self.retiring.items() if info["term_at"] is None]
        for pid in waiting:
            info = self.retiring[pid]
            successor = self.slots[info["slot"]] if info["slot"] < len(self.slots) else None
            state = heartbeat_module.read(successor.heartbeat_path)[1] if successor and successor.pid else None
            if state == "ready" or now >= info["ready_by"]:
                self._term_retiring(pid)
        for pid, info in list(self.retiring.items()):
            if info["term_at"] is not None and now - info["term_at"] > self.settings.graceful_timeout:
                self._kill(pid, signal.SIGKILL)
        if waiting or not self.rolling or self.stopping:
            return
        slot = self.slots[self.rolling.popleft()]
        if slot.pid is not None:
            self.retire(slot)
            slot.failures = 0
            self.spawn_worker(slot)

    def _kill(self, pid, sig):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    def kill_all(self, sig):
        for pid in self.child_pids():
            self._kill(pid, sig)

    def child_pids(self):
        return [s.pid for s in self.slots if s.pid is not None] + list(self.retiring)

    def _update_live(self):
        if self.metrics is not None:
            self.metrics.live_workers.set(len(self.child_pids()))

    def workers_state(self):
        """{"configured", "live", "ready", "waitingEngine"} for /health, from the heartbeat files."""
        live = ready = waiting = 0
        for slot in self.slots:
            if slot.pid is None:
                continue
            live += 1
            age, state = heartbeat_module.read(slot.heartbeat_path)
            if age is None or age >= self.settings.worker_timeout:
                continue
            if state == "ready":
                ready += 1
            elif state == "waiting_engine":
                waiting += 1
        return {"configured": len(self.slots), "live": live, "ready": ready, "waitingEngine": waiting}

    # -- the loop ------------------------------------------------------------------

    def begin_stop(self):
        if self.stopping:
            return
        self.stopping = True
        self.stop_deadline = time.monotonic() + self.settings.graceful_timeout
        notify.notify("STOPPING=1")
        if self.http is not None:
            self.http.draining = True
        self.kill_all(signal.SIGTERM)

    def sleep(self):
        try:
            select.select([self._wake_r], [], [], TICK_S)
        except InterruptedError:
            pass
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    def run(self):
        self.install_signals()
        # Workers first, then the threads (HTTP, pools) in this process.
        for slot in self.slots:
            self.spawn_worker(slot)
        if self.http is not None:
            self.http.start(self)
        notify.notify("READY=1")
        log.info("execd running", extra={"workers": len(self.slots), "port": self.settings.port})
        while True:
            self.handle_signals()
            self.reap_workers()
            if self.stopping:
                if not self.child_pids() and (self.http is None or self.http.in_flight() == 0):
                    break
                if time.monotonic() >= self.stop_deadline:
                    if self.child_pids():
                        log.warning("graceful timeout passed; killing the remaining workers")
                        self.kill_all(signal.SIGKILL)
                        time.sleep(0.1)
                        self.reap_workers()
                    break
            else:
                self.check_heartbeats()
                self.manage_rolling()
                self.spawn_due()
            self.sleep()
        if self.http is not None:
            self.http.stop()
        if self.reap_sandboxes is not None:
            self._reap_sandboxes_quietly()
        log.info("execd stopped", extra={"exit": self.exit_code})
        return self.exit_code
