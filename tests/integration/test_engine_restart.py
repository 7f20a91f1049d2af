"""A Docker engine restart in the middle of a flood of AMQP jobs costs latency, not results.

Restarts the real dockerd (SIGTERM, down for a few seconds, started again the
way `.ci/provision` starts it), so it takes the engine lock exclusively.
"""
import contextlib
import fcntl
import os
import signal
import subprocess
import threading
import time

import docker
import pytest

from tests.integration.test_daemon import TRIVIAL, Broker, Daemon

pytestmark = pytest.mark.docker

PID_FILE = "/var/run/docker.pid"
LOCK_FILE = "/tmp/execd-dockerd.lock"
JOBS = 120


@contextlib.contextmanager
def engine_lock():
    with open(LOCK_FILE, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def engine_answers():
    try:
        return docker.from_env(timeout=3).ping()
    except Exception:
        return False


def stop_dockerd(timeout=60):
    with open(PID_FILE) as f:
        pid = int(f.read().strip())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not os.path.exists("/proc/%d" % pid), "dockerd did not stop"


def start_dockerd(timeout=60):
    subprocess.run(["bash", "-c", "setsid dockerd >>/var/log/execd-dockerd.log 2>&1 < /dev/null &"], check=True)
    deadline = time.monotonic() + timeout
    while not engine_answers():
        assert time.monotonic() < deadline, "dockerd did not come back"
        time.sleep(0.3)


def test_engine_restart_during_a_flood_loses_no_result(broker, docker_client, tmp_path):
    if os.geteuid() != 0 or not os.path.exists(PID_FILE):
        pytest.fail("restarting dockerd needs root and %s" % PID_FILE, pytrace=False)
    with engine_lock():
        d = Daemon(tmp_path, ENGINE_RETRY_INTERVAL="0.5", MAX_DELIVERIES="3").start()
        b = Broker(broker)
        health_seen = []
        watching = threading.Event()

        def watch_health():
            while not watching.is_set():
                try:
                    health_seen.append(d.get("/health")[1]["status"])
                except Exception:
                    pass
                time.sleep(0.3)

        watcher = threading.Thread(target=watch_health, daemon=True)
        try:
            reply = b.reply_queue()
            for i in range(JOBS):
                b.publish(d.jobs, dict(TRIVIAL, id="flood-%d" % i), reply_to=reply, correlation_id=str(i))
            results = b.collect(reply, 15, timeout=120)
            assert len(results) == 15
            watcher.start()
            t_down = time.monotonic()
            stop_dockerd()
            time.sleep(2)
            start_dockerd()
            outage_s = time.monotonic() - t_down
            results += b.collect(reply, JOBS - len(results), timeout=300)
            watching.set()
            ids = [r["id"] for _, r in results]
            verdicts = {}
            for _, r in results:
                verdicts[r.get("verdict") or r["error"]["code"]] = verdicts.get(r.get("verdict") or
                                                                               r["error"]["code"], 0) + 1
            print("engine down %.1f s; %d results, %d distinct, verdicts %s; health seen %s" % (
                outage_s, len(ids), len(set(ids)), verdicts, sorted(set(health_seen))))
            assert set(ids) == {"flood-%d" % i for i in range(JOBS)}, "lost: %s" % (
                sorted({"flood-%d" % i for i in range(JOBS)} - set(ids)))
            assert verdicts == {"pass": len(ids)}, verdicts
            assert "degraded" in health_seen
            assert b.count(d.dead) == 0
        finally:
            watching.set()
            if not engine_answers():
                start_dockerd()
            code = d.stop()
            for q in (d.jobs, d.results, d.dead):
                b.ch.queue_delete(q)
            b.close()
        assert code == 0, d.tail()
        left = docker_client.containers.list(all=True, filters={"label": "execd.instance=" + d.instance})
        assert left == [], "sandboxes left behind: %s" % [c.name for c in left]
