#!/usr/bin/env python3
"""W1 in every language, in one invocation, through the engine.

W1 is each language's sample with 2 tests: solution(n) = n * 2 in function
mode (every language has it). Per language: 5 unmeasured jobs (the pool
learns the demand), then --n jobs back to back: p50/p95 of the whole job,
p50 of compileTime for compiled languages, and the image size. The baseline,
in the same run, is the same program in stdio mode (a main that prints twice
what it reads), so the cost of the function-mode harness shows beside it.

--gap S sleeps S seconds after each measured job: an idle system whose
sandboxes have refilled, to set beside the back-to-back default.

Usage: python3 bench/languages_bench.py [--n 20] [--languages go,rust] [--gap 0.5]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from engine_bench import check, pct, timed, wait_full  # noqa: E402
from execd import languages  # noqa: E402
from execd.config import load_settings  # noqa: E402
from execd.executor import Executor  # noqa: E402

STDIO_DOUBLE = {
    "python": "print(int(input()) * 2)\n",
    "javascript": "console.log(Number(require('fs').readFileSync(0, 'utf8')) * 2);\n",
    "typescript": "const n: number = Number(require('fs').readFileSync(0, 'utf8'));\nconsole.log(n * 2);\n",
    "ruby": "puts STDIN.read.to_i * 2\n",
    "php": "<?php\necho ((int) trim(stream_get_contents(STDIN))) * 2, \"\\n\";\n",
    "c": "#include <stdio.h>\nint main(void) { int n; if (scanf(\"%d\", &n) != 1) return 1; printf(\"%d\\n\", n * 2); return 0; }\n",
    "cpp": "#include <iostream>\nint main() { int n; std::cin >> n; std::cout << n * 2 << \"\\n\"; }\n",
    "go": "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tvar n int\n\tfmt.Scan(&n)\n\tfmt.Println(n * 2)\n}\n",
    "rust": "use std::io::Read;\nfn main() { let mut s = String::new(); std::io::stdin().read_to_string(&mut s).unwrap();"
            " let n: i64 = s.trim().parse().unwrap(); println!(\"{}\", n * 2); }\n",
    "java": "import java.util.Scanner;\npublic class Main { public static void main(String[] a) "
            "{ System.out.println(new Scanner(System.in).nextInt() * 2); } }\n",
}


def stdio_job(name):
    return {"language": name, "mode": "stdio", "code": STDIO_DOUBLE[name],
            "testCases": [{"input": "21\n", "expectedOutput": "42"}, {"input": "0\n", "expectedOutput": "0"}]}


def measure(ex, name, job, n, gap):
    for _ in range(5):
        check(ex.execute(dict(job)), name)
    wait_full(ex, name, timeout=60)
    samples, compiles = [], []
    for _ in range(n):
        ms, result = timed(lambda: ex.execute(dict(job)))
        check(result, name)
        samples.append(ms)
        if "compileTime" in result:
            compiles.append(result["compileTime"])
        time.sleep(gap)
    return samples, compiles


def figures(samples, compiles):
    return ("%.1f / %.1f ms" % (pct(samples, 50), pct(samples, 95)),
            "%d ms" % pct(compiles, 50) if compiles else "-")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--languages", default="", help="comma-separated names (default: all)")
    parser.add_argument("--gap", type=float, default=0.0, help="seconds of idle after each measured job")
    args = parser.parse_args()
    settings = load_settings(None)
    print("%-11s %-22s %-12s | %-22s %-12s | %s" % (
        "language", "function W1 p50 / p95", "compile p50", "stdio W1 p50 / p95", "compile p50", "image"))
    with Executor(settings) as ex:
        wait_full(ex, timeout=120)
        chosen = args.languages.split(",") if args.languages else list(languages.LANGUAGES)
        for name in chosen:
            lang = languages.LANGUAGES[name]
            function = figures(*measure(ex, name, lang.doctor_job(), args.n, args.gap))
            stdio = figures(*measure(ex, name, stdio_job(name), args.n, args.gap))
            size = ex.client.images.get(ex.specs[name].image).attrs["Size"] / 1e6
            print("%-11s %-22s %-12s | %-22s %-12s | %.0f MB" % ((name,) + function + stdio + (size,)), flush=True)


if __name__ == "__main__":
    main()
