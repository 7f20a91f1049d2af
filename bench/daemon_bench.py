#!/usr/bin/env python3
"""End-to-end benchmark of `execd serve`: HTTP and AMQP RPC beside the engine
and the naive baseline, in one invocation; then a flood.

  engine - W1 through an in-process Executor with a warm pool
  naive  - W1 with a fresh container per test case (the home-grown loop)
  http   - W1 POSTed to /api/execute of a running daemon (WORKERS=2)
  amqp   - W1 as an RPC over RabbitMQ (reply_to + correlation_id)
  flood  - N W1 jobs published at once; time until all N results arrive,
           counting lost and duplicated results
  memory - resident memory of the supervisor plus its idle workers

Latency runs leave --gap seconds between jobs so each starts on a warm pool
(refilling a pool costs one Docker container start, ~0.3 s here); the flood
shows the sustained rate, which Docker's container start rate bounds.

Usage: python3 bench/daemon_bench.py [--n 30] [--flood 1000] [--gap 1.0]
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import pika  # noqa: E402

from engine_bench import WORKLOADS, bench_engine, bench_naive, pct  # noqa: E402
from execd.config import load_settings  # noqa: E402
from execd.executor import Executor, docker_client  # noqa: E402

W1 = WORKLOADS["W1"]
KEY = "bench-" + uuid.uuid4().hex
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daemon(workers, tmp):
    tag = uuid.uuid4().hex[:8]
    port = free_port()
    env = dict(os.environ, WORKERS=str(workers), PORT=str(port), EXECUTION_QUEUE="bench-jobs-" + tag,
               RESULT_QUEUE="bench-results-" + tag, EXECD_API_KEYS=KEY, LOG_LEVEL="warning",
               PROMETHEUS_MULTIPROC_DIR=os.path.join(tmp, "metrics-" + tag), INSTANCE_NAME="bench-" + tag)
    log = open(os.path.join(tmp, "daemon-%s.log" % tag), "wb")
    proc = subprocess.Popen([sys.executable, "-m", "execd", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=2) as r:
                body = json.loads(r.read())
                if body["workers"]["ready"] == workers:
                    break
        except OSError:
            pass
        time.sleep(0.3)
    else:
        raise SystemExit("daemon did not become ready")
    time.sleep(3)  # let every warm pool fill
    return proc, port, env["EXECUTION_QUEUE"], env["RESULT_QUEUE"]


def http_once(port):
    req = urllib.request.Request("http://127.0.0.1:%d/api/execute" % port, data=json.dumps(W1).encode(),
                                 headers={"Content-Type": "application/json", "Authorization": "Bearer " + KEY})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as r:
        body = json.loads(r.read())
    ms = (time.perf_counter() - t0) * 1000
    assert body["verdict"] == "pass", body
    return ms


class Rpc:
    def __init__(self, queue):
        self.queue = queue
        self.conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        self.ch = self.conn.channel()
        self.reply = self.ch.queue_declare("", exclusive=True).method.queue
        self.ch.confirm_delivery()

    def call(self, job, timeout=60):
        corr = uuid.uuid4().hex
        t0 = time.perf_counter()
        self.ch.basic_publish("", self.queue, json.dumps(job).encode(),
                              pika.BasicProperties(reply_to=self.reply, correlation_id=corr, delivery_mode=2))
        for method, props, body in self.ch.consume(self.reply, auto_ack=True, inactivity_timeout=timeout):
            if method is None:
                raise SystemExit("RPC timed out")
            if props.correlation_id == corr:
                break
        self.ch.cancel()
        ms = (time.perf_counter() - t0) * 1000
        assert json.loads(body)["verdict"] == "pass"
        return ms

    def flood(self, n, timeout):
        ids = ["flood-%d-%s" % (i, uuid.uuid4().hex[:6]) for i in range(n)]
        t0 = time.perf_counter()
        for job_id in ids:
            self.ch.basic_publish("", self.queue, json.dumps(dict(W1, id=job_id)).encode(),
                                  pika.BasicProperties(reply_to=self.reply, correlation_id=job_id, delivery_mode=2))
        seen = {}
        for method, props, body in self.ch.consume(self.reply, auto_ack=True, inactivity_timeout=timeout):
            if method is None:
                break
            seen[props.correlation_id] = seen.get(props.correlation_id, 0) + 1
            if len(seen) == n:
                break
        elapsed = time.perf_counter() - t0
        self.ch.cancel()
        lost = sum(1 for i in ids if i not in seen)
        dups = sum(c - 1 for c in seen.values())
        return elapsed, lost, dups


def tree_rss_mb(pid):
    total = 0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                pids += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return total / 1024.0


def spaced(fn, n, gap):
    out = []
    for _ in range(n):
        time.sleep(gap)
        out.append(fn())
    return out


def show(label, samples, base=None):
    p50 = statistics.median(samples)
    extra = "" if base is None else "  naive/this p50 %.1fx" % (statistics.median(base) / p50)
    print("W1 %-7s n=%-3d p50=%8.1f ms  p95=%8.1f ms%s" % (label, len(samples), p50, pct(samples, 95), extra))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--flood", type=int, default=1000)
    parser.add_argument("--gap", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="execd-bench-")
    settings = load_settings(None, environ={"LOG_LEVEL": "warning"})
    client = docker_client(settings)
    print("execd daemon bench  (%d cores, WORKERS=%d, %s)" % (os.cpu_count(), args.workers,
                                                              time.strftime("%Y-%m-%d %H:%M")))
    with Executor(settings, client=client) as engine:
        naive = bench_naive(engine, W1, 5)
        eng = bench_engine(engine, W1, args.n, warm=True)
    show("naive", naive)
    show("engine", eng, naive)
    proc, port, jobs_q, results_q = start_daemon(args.workers, tmp)
    try:
        print("memory: supervisor + %d idle workers RSS %.1f MB (containers not counted)"
              % (args.workers, tree_rss_mb(proc.pid)))
        http_once(port)
        show("http", spaced(lambda: http_once(port), args.n, args.gap), naive)
        rpc = Rpc(jobs_q)
        rpc.call(W1)
        show("amqp", spaced(lambda: rpc.call(W1), args.n, args.gap), naive)
        time.sleep(3)
        elapsed, lost, dups = rpc.flood(args.flood, timeout=max(120, args.flood))
        print("flood: %d W1 jobs, all results in %.1f s = %.1f jobs/s; lost %d, duplicated %d"
              % (args.flood, elapsed, (args.flood - lost) / elapsed, lost, dups))
        rpc.ch.queue_delete(jobs_q)
        rpc.ch.queue_delete(results_q)
        rpc.ch.queue_delete(jobs_q + ".dead")
        rpc.conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        print("daemon exit code %s" % proc.wait(120))


if __name__ == "__main__":
    main()
