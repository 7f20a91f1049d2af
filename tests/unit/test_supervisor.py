"""Supervisor bookkeeping with the process calls faked (gunicorn test_arbiter style)."""
import os
import signal

import pytest

from execd import supervisor as sup
from execd.config import load_settings


@pytest.fixture
def supervisor(tmp_path, monkeypatch):
    spawned = []

    def fake_spawn(path, argv, env):
        pid = 100000 + len(spawned)
        spawned.append(argv)
        return pid

    monkeypatch.setattr(os, "posix_spawn", fake_spawn)
    killed = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append((pid, sig)))
    s = sup.Supervisor(load_settings(None, environ={"WORKERS": "2", "WORKER_START_SECS": "5"}), None, str(tmp_path))
    s.spawned = spawned
    s.killed = killed
    return s


def test_spawns_one_worker_per_slot_with_its_heartbeat(supervisor):
    for slot in supervisor.slots:
        supervisor.spawn_worker(slot)
    assert [s.pid for s in supervisor.slots] == [100000, 100001]
    assert all("--heartbeat" in argv and "worker" in argv for argv in supervisor.spawned)
    assert supervisor.workers_state() == {"configured": 2, "live": 2, "ready": 0, "waitingEngine": 0}


def test_quick_deaths_back_off_exponentially(supervisor):
    slot = supervisor.slots[0]
    delays = []
    for _ in range(4):
        supervisor.spawn_worker(slot)
        supervisor._on_exit(slot.pid, 1 << 8)  # exit code 1, right after start
        delays.append(slot.next_start - sup.time.monotonic())
    assert delays[0] < delays[1] < delays[2] < delays[3] <= sup.MAX_BACKOFF_S * 1.25
    assert slot.pid is None and slot.failures == 4


def test_boot_error_halts(supervisor):
    slot = supervisor.slots[0]
    supervisor.spawn_worker(slot)
    supervisor._on_exit(slot.pid, sup.WORKER_BOOT_ERROR << 8)
    assert supervisor.stopping and supervisor.exit_code == sup.EXIT_HALT


def test_signals_are_only_recorded(supervisor):
    supervisor._record_signal(signal.SIGHUP, None)
    supervisor._record_signal(signal.SIGTERM, None)
    assert list(supervisor.signals) == [signal.SIGHUP, signal.SIGTERM]
    assert not supervisor.stopping


def test_second_term_kills_at_once(supervisor):
    for slot in supervisor.slots:
        supervisor.spawn_worker(slot)
    supervisor.handle_term()
    assert {sig for _, sig in supervisor.killed} == {signal.SIGTERM}
    supervisor.handle_term()
    assert (100000, signal.SIGKILL) in supervisor.killed


def test_silent_worker_is_killed(supervisor):
    slot = supervisor.slots[0]
    supervisor.spawn_worker(slot)
    old = sup.time.time() - supervisor.settings.worker_timeout - 5
    os.utime(slot.heartbeat_path, (old, old))
    supervisor.check_heartbeats()
    assert supervisor.killed == [(slot.pid, signal.SIGKILL)]
