#!/usr/bin/env python3
"""Container reuse against a fresh container per job and the naive loop, in one invocation.

  engine   - W1-W4 back to back (no pause, so pools never get to refill at
             leisure) through an in-process Executor, p50/p95; W1 jobs/s
             with 2 and 4 concurrent callers
  http     - W1 back to back and with 2 and 4 callers through `execd serve`
             (WORKERS=2), POST /api/execute
  amqp     - the same through the same daemon as RPCs over RabbitMQ
             (reply_to + correlation_id, one connection per caller)
  warm-up  - each back-to-back series starts with 20 unmeasured jobs and a
             2 s pause, so it measures the steady state, not the pool growing
  modes    - reuse (SANDBOX_MAX_JOBS=200) and fresh (SANDBOX_MAX_JOBS=1) in
             the same run; naive = a container per test case, started, run
             and removed in line (engine only)

Usage: python3 bench/reuse_bench.py [--n 40] [--seconds 8]
"""
import argparse
import dataclasses
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from engine_bench import WORKLOADS, bench_naive, check, pct, run_concurrently, timed, wait_full  # noqa: E402
import daemon_bench  # noqa: E402
from execd.config import load_settings  # noqa: E402
from execd.executor import Executor  # noqa: E402


def back_to_back(call, n, warm_up=20):
    # Unmeasured runs first: the pools learn the demand and grow (container
    # starts compete for the CPU meanwhile), then settle; then n measured runs.
    for _ in range(warm_up):
        call()
    time.sleep(2.0)
    samples = []
    for _ in range(n):
        ms, result = timed(call)
        check(result, "bench")
        samples.append(ms)
    return samples


def line(label, samples):
    print("%-34s p50=%7.1f ms  p95=%7.1f ms  (n=%d)" % (label, pct(samples, 50), pct(samples, 95), len(samples)))


def engine_figures(mode, max_jobs, n, seconds):
    settings = dataclasses.replace(load_settings(None), sandbox_max_jobs=max_jobs)
    with Executor(settings) as ex:
        wait_full(ex)
        for name in ("W1", "W2", "W3", "W4"):
            line("engine %-6s %s back-to-back" % (mode, name), back_to_back(lambda: ex.execute(dict(WORKLOADS[name])), n))
        for callers in (2, 4):
            wait_full(ex)
            rate, lat, errors = run_concurrently(lambda: ex.execute(dict(WORKLOADS["W1"])), callers, seconds)
            print("engine %-6s W1 %d callers: %6.1f jobs/s  p50=%.1f ms p95=%.1f ms errors=%d"
                  % (mode, callers, rate, pct(lat, 50), pct(lat, 95), errors))
        if mode == "reuse":
            for name in ("W1", "W2"):
                wait_full(ex)
                line("engine naive  %s" % name, bench_naive(ex, WORKLOADS[name], max(4, n // 8)))


def daemon_figures(mode, max_jobs, n, seconds, tmp):
    os.environ["SANDBOX_MAX_JOBS"] = str(max_jobs)
    proc, port, queue, _ = daemon_bench.start_daemon(2, tmp)
    try:
        def http_call():
            daemon_bench.http_once(port)  # asserts a pass
            return {"verdict": "pass"}

        rpcs = threading.local()

        def amqp_call():
            if not hasattr(rpcs, "rpc"):  # pika connections are not thread-safe: one per caller
                rpcs.rpc = daemon_bench.Rpc(queue)
            rpcs.rpc.call(WORKLOADS["W1"])  # asserts a pass
            return {"verdict": "pass"}

        for via, call in (("http", http_call), ("amqp", amqp_call)):
            line("%-6s %-6s W1 back-to-back" % (via, mode), back_to_back(call, n))
            for callers in (2, 4):
                rate, lat, errors = run_concurrently(call, callers, seconds)
                print("%-6s %-6s W1 %d callers: %6.1f jobs/s  p50=%.1f ms p95=%.1f ms errors=%d"
                      % (via, mode, callers, rate, pct(lat, 50), pct(lat, 95), errors))
    finally:
        proc.terminate()
        proc.wait(60)
        os.environ.pop("SANDBOX_MAX_JOBS", None)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for mode, max_jobs in (("reuse", 200), ("fresh", 1)):
            engine_figures(mode, max_jobs, args.n, args.seconds)
            daemon_figures(mode, max_jobs, args.n, args.seconds, tmp)


if __name__ == "__main__":
    main()
