"""Per-slot heartbeat file: the worker touches it; the supervisor reads its age.

The file's mtime is the heartbeat and its content the worker's state
("starting", "connecting", "ready", "waiting_engine", "stopping"), so /health can tell a live
worker from one that is waiting for the broker.
"""
import os
import time


class Heartbeat:
    """The worker's side."""

    def __init__(self, path):
        self.path = path
        self.state = None
        self._last = 0.0

    def touch(self, state=None, force=False):
        now = time.monotonic()
        if state is not None and state != self.state:
            self.state = state
            tmp = self.path + ".tmp"
            with open(tmp, "w") as f:
                f.write(state)
            os.replace(tmp, self.path)
            self._last = now
            return
        # utime at most a few times a second: it is called from busy loops.
        if force or now - self._last >= 0.25:
            try:
                os.utime(self.path)
            except FileNotFoundError:
                with open(self.path, "w") as f:
                    f.write(self.state or "starting")
            self._last = now


def read(path):
    """(seconds since the last beat, state) or (None, None) when absent."""
    try:
        age = time.time() - os.stat(path).st_mtime
        with open(path) as f:
            return age, f.read().strip()
    except OSError:
        return None, None
