#!/usr/bin/env python3
"""Rust's and Go's compile as language.json does it, against the usual way, per runtime.

The usual ways are the baselines: rustc linking with GNU ld (language.json
asks for gold) and `go build` (language.json calls the toolchain's compile and
link on the precompiled standard library). Each runs the bench's stdio
program in one throwaway container of the current image per runtime (no
network, 256 MB), --n times per variant, alternating, and prints the medians
side by side.

Usage: python3 bench/compile_bench.py [--n 7] [--runtimes runc,runsc]
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from languages_bench import STDIO_DOUBLE  # noqa: E402
from execd import images, languages  # noqa: E402

GO_BUILD_ENV = "GOCACHE=/tmp/b/.cache GOPATH=/tmp/b/.gopath GO111MODULE=off CGO_ENABLED=0"
BASELINES = {
    "rust": ("GNU ld", lambda execd: execd + ["-C", "link-arg=-fuse-ld=bfd"]),  # the last -fuse-ld wins
    "go": ("go build", lambda execd: ["env"] + GO_BUILD_ENV.split() + ["/usr/lib/go-1.19/bin/go", "build", "-o", "main", "."]),
}


def manifest(name):
    with open(os.path.join(languages.HERE, name, "language.json"), encoding="utf-8") as f:
        return json.load(f)


def compile_times(runtime, name, n):
    """{variant: [ms, ...]} for language.json's compile and the baseline, in one container."""
    m = manifest(name)
    ours = m["compile"]
    baseline_name, baseline = BASELINES[name]
    variants = {"execd": ours, baseline_name: baseline(ours)}
    script = ["mkdir -p /tmp/b && cd /tmp/b && printf %s " + shlex.quote(STDIO_DOUBLE[name]) + " > " + m["source"]]
    for _ in range(n):
        for label, cmd in variants.items():
            script.append("rm -rf main main.a .cache; s=$(date +%%s%%N); %s >/dev/null 2>&1 || echo FAILED; "
                          "e=$(date +%%s%%N); echo %s $(( (e - s) / 1000000 ))"
                          % (" ".join(map(shlex.quote, cmd)), label.replace(" ", "_")))
            script.append("./main </dev/null >/dev/null 2>&1; test -x main || echo FAILED")
    args = ["docker", "run", "--rm", "--network=none", "-m", "256m", "--entrypoint", "sh"]
    if runtime != "runc":
        args.append("--runtime=" + runtime)
    image = images.image_tag(languages.LANGUAGES[name])
    out = subprocess.run(args + [image, "-c", "\n".join(script)], check=True, capture_output=True, text=True).stdout
    if "FAILED" in out:
        sys.exit("a %s compile failed under %s:\n%s" % (name, runtime, out))
    times = {label: [] for label in variants}
    for line in out.split("\n"):
        if line:
            label, ms = line.split()
            times[label.replace("_", " ")].append(int(ms))
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=7)
    parser.add_argument("--runtimes", default="runc,runsc")
    args = parser.parse_args()
    print("compile of the stdio sample, %d each, p50 (max)" % args.n)
    print("%-6s %-8s %-18s %-22s %s" % ("lang", "runtime", "execd", "baseline", "baseline / execd"))
    for name in BASELINES:
        for runtime in args.runtimes.split(","):
            t = compile_times(runtime, name, args.n)
            label = BASELINES[name][0]
            ours, base = statistics.median(t["execd"]), statistics.median(t[label])
            print("%-6s %-8s %-18s %-22s %.2fx" % (
                name, runtime, "%d (%d) ms" % (ours, max(t["execd"])),
                "%s %d (%d) ms" % (label, base, max(t[label])), base / ours), flush=True)


if __name__ == "__main__":
    main()
