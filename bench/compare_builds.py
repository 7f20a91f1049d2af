#!/usr/bin/env python3
"""Two builds of the engine side by side: this checkout against a base commit.

For "no regression" claims. The base tree is exported with `git archive`,
its sandbox images are built under their own prefix (execd-base), and both
engines then run the same workloads in alternating rounds within this one
invocation, so the machine's drift hits both alike. Each round is a fresh
process per build; samples start on a full warm pool, as in engine_bench.

Usage: python3 bench/compare_builds.py [--base REF] [--rounds 3] [-n 15] [--workloads W1,W3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The landed 0.1.0, before the trust-boundary work.
DEFAULT_BASE = "9eabdea"

DRIVER = r'''
import json, sys, time
sys.path.insert(0, sys.argv[1])
from execd.config import load_settings
from execd.executor import Executor
n, names = int(sys.argv[2]), sys.argv[3].split(",")
W3 = [{"input": str(i), "expectedOutput": str(i * 2)} for i in range(20)]
WORKLOADS = {
    "W1": {"language": "python", "code": "def solution(n): return n * 2",
           "testCases": [{"input": "5", "expectedOutput": "10"}, {"input": "0", "expectedOutput": "0"}]},
    "W2": {"language": "javascript", "code": "function solution(n) { return n * 2; }",
           "testCases": [{"input": "5", "expectedOutput": "10"}, {"input": "0", "expectedOutput": "0"}]},
    "W3": {"language": "python", "code": "def solution(n): return n * 2", "testCases": W3},
}
def wait_full(ex, timeout=30):
    end = time.monotonic() + timeout
    def settling():
        if hasattr(ex, "pools"):  # builds before container reuse
            return any(len(p) < p.size for p in ex.pools.values())
        return any(v["idle"] < v["target"] or v["resetting"] or v["starting"] for v in ex.pool.snapshot().values())
    while (settling() or ex.remover.pending()) and time.monotonic() < end:
        time.sleep(0.01)
out = {}
with Executor(load_settings(None)) as ex:
    for name in names:
        samples = []
        for _ in range(n):
            wait_full(ex)
            t0 = time.perf_counter()
            r = ex.execute(dict(WORKLOADS[name]))
            samples.append((time.perf_counter() - t0) * 1000)
            if r.get("verdict") != "pass":
                raise SystemExit("%s did not pass: %s" % (name, json.dumps(r)[:300]))
        out[name] = samples
print(json.dumps(out))
'''


def pct(values, p):
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1)))))]


def export_base(ref, into):
    archive = subprocess.run(["git", "-C", ROOT, "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)


def build_images(tree, prefix):
    env = dict(os.environ, IMAGE_PREFIX=prefix, PYTHONPATH=tree)
    subprocess.run([sys.executable, "-c", "import sys; from execd.cli import main; sys.exit(main(['images', 'build']))"],
                   env=env, check=True, cwd=tree, stdout=subprocess.DEVNULL)


def run_round(tree, prefix, n, workloads):
    env = dict(os.environ, IMAGE_PREFIX=prefix, LOG_LEVEL="error")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, "-c", DRIVER, tree, str(n), ",".join(workloads)], env=env,
                          capture_output=True, text=True, cwd=tree)
    if proc.returncode != 0:
        raise SystemExit("bench round failed (%s): %s" % (tree, proc.stderr[-2000:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default=DEFAULT_BASE)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("-n", type=int, default=15, help="samples per workload per round")
    ap.add_argument("--workloads", default="W1,W3")
    args = ap.parse_args()
    workloads = args.workloads.split(",")
    with tempfile.TemporaryDirectory(prefix="execd-bench-base-") as base_tree:
        export_base(args.base, base_tree)
        build_images(base_tree, "execd-base")
        build_images(ROOT, "execd")
        builds = {"base " + args.base: (base_tree, "execd-base"), "this checkout": (ROOT, "execd")}
        samples = {b: {w: [] for w in workloads} for b in builds}
        for _ in range(args.rounds):
            for build, (tree, prefix) in builds.items():
                for w, values in run_round(tree, prefix, args.n, workloads).items():
                    samples[build][w].extend(values)
    print("execd build comparison  (%d cores, %d rounds x %d samples, warm pool)" % (os.cpu_count(), args.rounds,
                                                                                       args.n))
    base_name, this_name = list(builds)
    for w in workloads:
        for build in builds:
            v = samples[build][w]
            print("%s  %-16s n=%-3d p50=%8.1f ms  p95=%8.1f ms" % (w, build, len(v), statistics.median(v),
                                                                   pct(v, 95)))
        ratio = statistics.median(samples[this_name][w]) / statistics.median(samples[base_name][w])
        print("%s  this/base p50 = %.2f" % (w, ratio))


if __name__ == "__main__":
    main()
