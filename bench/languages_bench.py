#!/usr/bin/env python3
"""W1 in every language, in one invocation, through the engine.

W1 is each language's sample with 2 tests: solution(n) = n * 2 in function
mode where the language has it, else a stdio program printing twice what it
reads (C, C++, Go, Rust and Java have stdio only so far). Per language: 5
unmeasured jobs (the pool learns the demand), then --n jobs back to back:
p50/p95 of the whole job, p50 of compileTime for compiled languages, and the
image size.

Usage: python3 bench/languages_bench.py [--n 20]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from engine_bench import check, pct, timed, wait_full  # noqa: E402
from execd import languages  # noqa: E402
from execd.config import load_settings  # noqa: E402
from execd.executor import Executor  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args()
    settings = load_settings(None)
    print("%-11s %-9s %-22s %-16s %s" % ("language", "mode", "W1 p50 / p95", "compile p50", "image"))
    with Executor(settings) as ex:
        wait_full(ex, timeout=120)
        for name, lang in languages.LANGUAGES.items():
            job = lang.doctor_job()
            for _ in range(5):
                check(ex.execute(dict(job)), name)
            wait_full(ex, name, timeout=60)
            samples, compiles = [], []
            for _ in range(args.n):
                ms, result = timed(lambda: ex.execute(dict(job)))
                check(result, name)
                samples.append(ms)
                if "compileTime" in result:
                    compiles.append(result["compileTime"])
            size = ex.client.images.get(ex.specs[name].image).attrs["Size"] / 1e6
            print("%-11s %-9s %-22s %-16s %.0f MB" % (
                name, job.get("mode", "function"), "%.1f / %.1f ms" % (pct(samples, 50), pct(samples, 95)),
                "%d ms" % pct(compiles, 50) if compiles else "-", size))


if __name__ == "__main__":
    main()
