#!/usr/bin/env python3
"""runc against gVisor (runsc), in one invocation, through the engine.

  warm          - W1-W4 with the pools full before each job (the idle case)
  back-to-back  - W1-W4 with no pause (what a busy service sees): under runc
                  a sandbox is reset and reused; under runsc each job gets a
                  fresh one, since gVisor's kernel hides the IPC objects a
                  reset must check (see the README's security model)
  cold          - W1 with no pool and SANDBOX_MAX_JOBS=1: a sandbox started for each job
  sustained     - W1 from 2 callers for --seconds (jobs/s)

Prints p50/p95 per runtime and the runsc/runc ratio of the p50s.

Usage: python3 bench/runtime_bench.py [--n 30] [--seconds 8]
"""
import argparse
import dataclasses
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from engine_bench import WORKLOADS, bench_engine, pct, run_concurrently, wait_full  # noqa: E402
from execd.config import load_settings  # noqa: E402
from execd.executor import Executor  # noqa: E402

RUNTIMES = ("runc", "runsc")


def measure(runtime, n, seconds):
    settings = dataclasses.replace(load_settings(None), sandbox_runtime=runtime)
    figures = {}
    with Executor(settings) as ex:
        wait_full(ex, timeout=120)
        for name in ("W1", "W2", "W3", "W4"):
            figures["warm " + name] = bench_engine(ex, WORKLOADS[name], n, warm=True)
        for name in ("W1", "W2", "W3", "W4"):
            for _ in range(10):  # unmeasured: the pools learn the demand
                ex.execute(dict(WORKLOADS[name]))
            time.sleep(2.0)
            figures["back-to-back " + name] = bench_engine(ex, WORKLOADS[name], n, warm=False)
        wait_full(ex, timeout=120)
        rate, lat, errors = run_concurrently(lambda: ex.execute(dict(WORKLOADS["W1"])), 2, seconds)
        figures["sustained W1 2 callers"] = (rate, lat, errors)
    with Executor(dataclasses.replace(settings, sandbox_max_jobs=1), warm=False) as ex:
        figures["cold W1"] = bench_engine(ex, WORKLOADS["W1"], max(5, n // 3), warm=False)
    return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    results = {runtime: measure(runtime, args.n, args.seconds) for runtime in RUNTIMES}
    print("%-26s %-24s %-24s %s" % ("", "runc p50 / p95", "runsc p50 / p95", "runsc/runc p50"))
    for key in results["runc"]:
        a, b = results["runc"][key], results["runsc"][key]
        if key.startswith("sustained"):
            print("%-26s %-24s %-24s %.2f" % (key, "%.1f jobs/s (%d errors)" % (a[0], a[2]),
                                              "%.1f jobs/s (%d errors)" % (b[0], b[2]), b[0] / a[0]))
            continue
        print("%-26s %-24s %-24s %.2f" % (key, "%.1f / %.1f ms" % (pct(a, 50), pct(a, 95)),
                                          "%.1f / %.1f ms" % (pct(b, 50), pct(b, 95)), pct(b, 50) / pct(a, 50)))


if __name__ == "__main__":
    main()
