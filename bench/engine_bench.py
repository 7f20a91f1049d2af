#!/usr/bin/env python3
"""Engine benchmark: execd's engine against a naive `docker run` per test case.

Runs, in one invocation on this machine:
  warm   - the engine with a full warm pool (waits for the pool before each job)
  cold   - the engine with no pool (a container started per job)
  naive  - a fresh container per *test case* on the same image and limits,
           created, attached, run and removed in line (a home-grown loop)
  sustained - W1 from N concurrent callers for a fixed time (jobs/s)
and prints p50/p95 latencies, throughput and the ratios. Also reports the
resident memory of an idle warm container and of the engine process.

Usage: python3 bench/engine_bench.py [--quick] [--json FILE]
"""
import argparse
import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from execd import jobs  # noqa: E402
from execd.config import load_settings  # noqa: E402
from execd.executor import Executor, docker_client  # noqa: E402
from execd.sandbox import Sandbox  # noqa: E402

W3_TESTS = [{"input": str(i), "expectedOutput": str(i * 2)} for i in range(20)]
WORKLOADS = {
    "W1": {"language": "python", "code": "def solution(n): return n * 2",
           "testCases": [{"input": "5", "expectedOutput": "10"}, {"input": "0", "expectedOutput": "0"}]},
    "W2": {"language": "javascript", "code": "function solution(n) { return n * 2; }",
           "testCases": [{"input": "5", "expectedOutput": "10"}, {"input": "0", "expectedOutput": "0"}]},
    "W3": {"language": "python", "code": "def solution(n): return n * 2", "testCases": W3_TESTS},
    "W4": {"language": "python", "mode": "stdio", "code": "n = int(input())\nprint(n * 2)\n",
           "testCases": [{"input": "5\n", "expectedOutput": "10"}, {"input": "0\n", "expectedOutput": "0"}]},
}


def pct(values, p):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1)))))
    return ordered[k]


def wait_full(executor, language=None, timeout=30):
    """Wait until the pools (all of them by default) are full and used
    sandboxes are removed: background Docker work would compete with the
    measured job for the two cores. The sustained mode measures with it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        keys = {k: v for k, v in executor.pool.snapshot().items() if language in (None, k[0])}
        busy = any(v["idle"] < v["target"] or v["resetting"] or v["starting"] for v in keys.values())
        if not busy and not executor.remover.pending():
            return
        time.sleep(0.01)


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return (time.perf_counter() - t0) * 1000, result


def check(result, name):
    if result.get("verdict") != "pass":
        raise SystemExit("%s did not pass: %s" % (name, json.dumps(result)[:500]))


def bench_engine(executor, workload, n, warm):
    samples = []
    for _ in range(n):
        if warm:
            wait_full(executor)
        ms, result = timed(lambda: executor.execute(dict(workload)))
        check(result, "engine")
        samples.append(ms)
    return samples


def bench_naive(executor, workload, n):
    """One container per test case, started, run and removed in line."""
    settings = executor.settings
    job = jobs.validate(dict(workload), settings)
    spec = executor.specs[job.language.name]
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        for case in job.tests:
            sandbox = Sandbox.start(executor.client, spec)
            try:
                request = {"mode": job.mode, "entryPoint": job.entry_point, "code": job.code,
                           "tests": [case.input], "timeLimitMs": job.time_limit_ms,
                           "maxOutputBytes": settings.max_output_bytes, "maxResultBytes": settings.max_compare_bytes}
                outcome = sandbox.run(request, time.monotonic() + 30, 1 << 24)
                if not outcome.done or len(outcome.records) != 1:
                    raise SystemExit("naive run failed: %r" % outcome)
            finally:
                sandbox.destroy()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def run_concurrently(call, callers, seconds):
    """`call()` from `callers` threads for `seconds`: (passing jobs/s, their latencies, failures)."""
    done = []
    errors = []
    stop = time.monotonic() + seconds

    def caller():
        while time.monotonic() < stop:
            ms, result = timed(call)
            (done if result.get("verdict") == "pass" else errors).append(ms)

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    return len(done) / elapsed, done, len(errors)


def bench_sustained(executor, workload, callers, seconds):
    return run_concurrently(lambda: executor.execute(dict(workload)), callers, seconds)


def idle_container_rss_mb(executor, language):
    """Sum of VmRSS of every process in an idle warm container (via /proc of the host)."""
    wait_full(executor, language)
    sandbox = executor.pool._keys[(language, executor.settings.max_memory)].idle[-1]
    top = executor.client.api.top(sandbox.id, ps_args="-o pid,rss")
    rss_kb = 0
    for row in top.get("Processes") or []:
        try:
            rss_kb += int(row[1])
        except (ValueError, IndexError):
            pass
    return rss_kb / 1024.0


def own_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def row(name, mode, samples, baseline=None):
    p50, p95 = statistics.median(samples), pct(samples, 95)
    ratio = "" if baseline is None else "%.1fx" % (statistics.median(baseline) / p50)
    print("%-4s %-8s n=%-3d p50=%8.1f ms  p95=%8.1f ms  %s" % (name, mode, len(samples), p50, p95,
                                                             ("naive/engine p50 " + ratio) if ratio else ""))
    return {"workload": name, "mode": mode, "n": len(samples), "p50_ms": p50, "p95_ms": p95}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    n_warm, n_cold, n_naive, seconds = (10, 5, 3, 5) if args.quick else (40, 15, 6, 15)

    settings = load_settings(None, environ={"LOG_LEVEL": "warning"})
    client = docker_client(settings)
    figures = []
    print("execd engine bench  (%d cores, %s)" % (os.cpu_count(), time.strftime("%Y-%m-%d %H:%M")))
    with Executor(settings, client=client) as warm_engine:
        for name, workload in WORKLOADS.items():
            bench_engine(warm_engine, workload, 2, warm=True)  # warm-up
            warm = bench_engine(warm_engine, workload, n_warm, warm=True)
            naive = bench_naive(warm_engine, workload, n_naive if name != "W3" else max(2, n_naive // 2))
            figures.append(row(name, "warm", warm, naive))
            figures.append(row(name, "naive", naive))
        rate, lat, errors = bench_sustained(warm_engine, WORKLOADS["W1"], 2, seconds)
        print("W1   sustained 2 callers %ds: %.1f jobs/s  p50=%.1f ms p95=%.1f ms errors=%d"
              % (seconds, rate, statistics.median(lat), pct(lat, 95), errors))
        figures.append({"workload": "W1", "mode": "sustained-2", "jobs_per_s": rate, "errors": errors})
        time.sleep(2)
        py_rss = idle_container_rss_mb(warm_engine, "python")
        js_rss = idle_container_rss_mb(warm_engine, "javascript")
        engine_rss = own_rss_mb()
        print("idle warm container RSS: python %.1f MB, javascript %.1f MB; engine process RSS %.1f MB"
              % (py_rss, js_rss, engine_rss))
        figures.append({"idle_rss_mb": {"python": py_rss, "javascript": js_rss}, "engine_rss_mb": engine_rss})
    cold_settings = load_settings(None, environ={"LOG_LEVEL": "warning", "POOL_SIZES": "python=0,javascript=0"})
    with Executor(cold_settings, client=client) as cold_engine:
        cold = bench_engine(cold_engine, WORKLOADS["W1"], n_cold, warm=False)
        figures.append(row("W1", "cold", cold))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
