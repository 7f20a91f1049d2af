#!/usr/bin/env python3
"""Rust's compile with the linker language.json picks (gold) against GNU ld, per runtime.

Runs the language's own compile command on the bench's stdio program in a
throwaway container of the current image (no network, the default memory
limit), --n times per linker, alternating, and prints the medians side by side.
The baseline appends `-C link-arg=-fuse-ld=bfd` (the last -fuse-ld wins).

Usage: python3 bench/link_bench.py [--n 7] [--runtimes runc,runsc]
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

BASELINE = ["-C", "link-arg=-fuse-ld=bfd"]


def compile_times(runtime, image, compile_cmd, n):
    """ms per compile, for the chosen linker and the baseline, measured inside one container."""
    variants = {"gold": compile_cmd, "bfd": compile_cmd + BASELINE}
    script = ["cd /tmp && printf %s " + shlex.quote(STDIO_DOUBLE["rust"]) + " > main.rs"]
    for _ in range(n):
        for name, cmd in variants.items():
            script.append("s=$(date +%%s%%N); %s >/dev/null 2>&1 || echo FAILED; e=$(date +%%s%%N); "
                          "echo %s $(( (e - s) / 1000000 ))" % (" ".join(map(shlex.quote, cmd)), name))
    args = ["docker", "run", "--rm", "--network=none", "-m", "256m", "--entrypoint", "sh"]
    if runtime != "runc":
        args.append("--runtime=" + runtime)
    out = subprocess.run(args + [image, "-c", "\n".join(script)], check=True, capture_output=True, text=True).stdout
    if "FAILED" in out:
        sys.exit("a compile failed under %s:\n%s" % (runtime, out))
    times = {name: [] for name in variants}
    for line in out.split("\n"):
        if line:
            name, ms = line.split()
            times[name].append(int(ms))
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=7)
    parser.add_argument("--runtimes", default="runc,runsc")
    args = parser.parse_args()
    rust = languages.LANGUAGES["rust"]
    image = images.image_tag(rust)
    with open(os.path.join(languages.HERE, "rust", "language.json"), encoding="utf-8") as f:
        compile_cmd = json.load(f)["compile"]
    print("rust compile, %d each, image %s" % (args.n, image))
    print("%-8s %-16s %-16s %s" % ("runtime", "gold p50 (max)", "bfd p50 (max)", "bfd / gold"))
    for runtime in args.runtimes.split(","):
        t = compile_times(runtime, image, compile_cmd, args.n)
        gold, bfd = statistics.median(t["gold"]), statistics.median(t["bfd"])
        print("%-8s %-16s %-16s %.2fx" % (runtime, "%d (%d) ms" % (gold, max(t["gold"])),
                                           "%d (%d) ms" % (bfd, max(t["bfd"])), bfd / gold), flush=True)


if __name__ == "__main__":
    main()
