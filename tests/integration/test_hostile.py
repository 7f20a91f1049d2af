"""Hostile programs: each must end within its limits with the right verdict,
leave no container behind (checked when the engine fixture closes), and the
engine must serve the next job normally."""
import json
import time

import pytest

from tests.conftest import contract_result

pytestmark = pytest.mark.docker

TRIVIAL_PY = "def solution(n):\n    return n * 2\n"
TRIVIAL_JS = "function solution(n) { return n * 2; }"


def job(code, tests=("1",), language="python", mode="function", time_limit_ms=1500, **extra):
    cases = [{"input": t} if isinstance(t, str) else t for t in tests]
    return dict(language=language, code=code, mode=mode, testCases=cases, timeLimitMs=time_limit_ms, **extra)


@pytest.fixture
def hostile(run_job):
    """Run a hostile job, bound its wall time, then prove the engine still works."""

    def run(j, max_seconds=None):
        limit = max_seconds or (j["timeLimitMs"] / 1000.0 * len(j["testCases"]) + 8)
        t0 = time.monotonic()
        result = run_job(j)
        elapsed = time.monotonic() - t0
        assert elapsed < limit, "took %.1fs, bound %.1fs" % (elapsed, limit)
        for language, code in (("python", TRIVIAL_PY), ("javascript", TRIVIAL_JS)):
            after = run_job(job(code, [{"input": "21", "expectedOutput": "42"}], language=language))
            assert after["verdict"] == "pass", after
        return result

    return run


def statuses(result):
    return [t["status"] for t in result["results"]]


def output_of(result, i=0):
    return json.loads(result["results"][i]["output"])


def test_infinite_loop_python(hostile):
    r = hostile(job("def solution(n):\n    while True:\n        pass\n", time_limit_ms=1000))
    assert r["verdict"] == "timeout" and statuses(r) == ["timeout"]


def test_infinite_loop_javascript_then_next_test_runs(hostile):
    code = "function solution(n) { if (n < 0) for (;;) {} return n + 1; }"
    r = hostile(job(code, ["-1", {"input": "1", "expectedOutput": "2"}], language="javascript", time_limit_ms=1000))
    assert statuses(r) == ["timeout", "passed"]


def test_sleep(hostile):
    r = hostile(job("import time\ndef solution(n):\n    time.sleep(100)\n", time_limit_ms=1000))
    assert statuses(r) == ["timeout"]
    assert r["results"][0]["executionTime"] < 3000


def test_fork_bomb(hostile, own_kernel):
    code = "import os\ndef solution(n):\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n"
    r = hostile(job(code, ["1", "2"], time_limit_ms=1500))
    # Under gVisor the processes up to the limit also fill the sandbox's
    # memory (each has an address space of the runtime's own on the host).
    expected = ("timeout", "runtime_error", "memory_limit") if own_kernel else ("timeout", "runtime_error")
    assert statuses(r)[0] in expected, r


def test_memory_bomb_python(hostile):
    code = "def solution(n):\n    hog = []\n    while True:\n        hog.append(bytearray(8 * 1024 * 1024))\n"
    r = hostile(job(code, ["1", {"input": "2"}], time_limit_ms=5000, memoryLimitMb=64))
    assert statuses(r)[0] == "memory_limit", r
    assert r["verdict"] == "memory_limit"


def test_memory_bomb_javascript(hostile):
    code = "function solution(n) { const hog = []; for (;;) hog.push(Buffer.alloc(8 * 1024 * 1024, 1)); }"
    r = hostile(job(code, ["1"], language="javascript", time_limit_ms=5000, memoryLimitMb=128))
    assert statuses(r) == ["memory_limit"], r


def test_thread_bomb(hostile):
    code = ("import threading, time\n"
            "def solution(n):\n"
            "    while True:\n"
            "        threading.Thread(target=time.sleep, args=(100,), daemon=True).start()\n")
    r = hostile(job(code, time_limit_ms=2000))
    assert statuses(r) == ["runtime_error"]
    assert "thread" in r["results"][0]["error"].lower()


def test_output_flood_function_mode(hostile, settings):
    code = "import sys\ndef solution(n):\n    chunk = 'x' * 65536\n    for _ in range(1600):\n        sys.stdout.write(chunk)\n    return n\n"
    r = hostile(job(code, [{"input": "7", "expectedOutput": "7"}], time_limit_ms=8000))
    t = r["results"][0]
    assert t["status"] == "passed" and t["truncated"] is True
    assert len(t["stdout"].encode()) <= settings.max_output_bytes


def test_output_flood_stdio_mode(hostile, settings):
    code = "import sys\nchunk = 'y' * 65536\nfor _ in range(1600):\n    sys.stdout.write(chunk)\n"
    r = hostile(job(code, [{"input": "", "expectedOutput": "y"}], mode="stdio", time_limit_ms=8000))
    t = r["results"][0]
    assert t["status"] == "failed" and t["truncated"] is True
    assert len(t["output"].encode()) <= settings.max_output_bytes


def test_filling_the_tmpfs(hostile, settings):
    code = ("def solution(n):\n"
            "    written = 0\n"
            "    try:\n"
            "        for i in range(1000):\n"
            "            with open('/tmp/fill%d' % i, 'wb') as f:\n"
            "                for _ in range(64):\n"
            "                    f.write(b'z' * 65536)\n"
            "                    written += 65536\n"
            "    except OSError as e:\n"
            "        return [written, e.errno]\n"
            "    return [written, 0]\n")
    r = hostile(job(code, time_limit_ms=5000))
    written, err = output_of(r)
    assert err != 0 and written <= settings.sandbox_tmpfs_mb * 1024 * 1024


def test_writing_outside_tmp(hostile):
    code = ("def solution(n):\n"
            "    denied = []\n"
            "    for path in ('/etc/passwd', '/opt/execd/runner.py', '/evil', '/usr/bin/evil', '/var/tmp/evil'):\n"
            "        try:\n"
            "            open(path, 'a').close()\n"
            "        except OSError:\n"
            "            denied.append(path)\n"
            "    return denied\n")
    r = hostile(job(code))
    assert len(output_of(r)) == 5


def test_network_is_unreachable(hostile):
    code = ("import socket\n"
            "def solution(n):\n"
            "    reached = []\n"
            "    for host, port in (('1.1.1.1', 53), ('8.8.8.8', 443), ('127.0.0.1', 3003), ('127.0.0.1', 5672), ('172.17.0.1', 2375)):\n"
            "        try:\n"
            "            socket.create_connection((host, port), timeout=1).close()\n"
            "            reached.append(host)\n"
            "        except OSError:\n"
            "            pass\n"
            "    nics = [l.split(':')[0].strip() for l in open('/proc/net/dev').read().splitlines()[2:]]\n"
            "    return [reached, nics]\n")
    r = hostile(job(code, time_limit_ms=8000))
    reached, nics = output_of(r)
    assert reached == [] and nics == ["lo"]


def test_service_environment_is_not_visible(hostile, monkeypatch):
    monkeypatch.setenv("EXECD_TEST_SECRET", "hunter2-secret")
    code = ("import os\n"
            "def solution(n):\n"
            "    seen = dict(os.environ)\n"
            "    for pid in os.listdir('/proc'):\n"
            "        try:\n"
            "            seen[pid] = open('/proc/%s/environ' % pid, 'rb').read().decode('latin-1')\n"
            "        except OSError:\n"
            "            pass\n"
            "    return seen\n")
    r = hostile(job(code))
    text = r["results"][0]["output"]
    assert "hunter2-secret" not in text and "EXECD_TEST_SECRET" not in text


def test_privileges_are_dropped(hostile, own_kernel):
    code = ("import ctypes, os\n"
            "def solution(n):\n"
            "    status = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read().splitlines() if ':\\t' in l)\n"
            "    prctl = ctypes.CDLL(None).prctl\n"
            "    return {'uid': [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups()],\n"
            "            'cap': [status['CapEff'].strip(), status['CapPrm'].strip()],\n"
            "            'nnp': prctl(39, 0, 0, 0, 0), 'seccomp': prctl(21, 0, 0, 0, 0),\n"
            "            'sock': os.path.exists('/var/run/docker.sock')}\n")
    r = hostile(job(code))
    # Under gVisor the sandbox kernel itself is the syscall filter: Docker's
    # seccomp profile applies to it on the host, not inside.
    out = output_of(r)
    uid = out.pop("uid")
    uids, groups = uid[:4], uid[4]
    assert uids == [10001] * 4 and set(groups) <= {10001}, uid  # gVisor lists the primary group
    assert out == {"cap": ["0000000000000000"] * 2, "nnp": 1, "seccomp": 0 if own_kernel else 2,
                   "sock": False}


def test_killing_pid_1_is_ignored(hostile):
    code = "import os, signal\ndef solution(n):\n    os.kill(1, signal.SIGKILL)\n    return n\n"
    r = hostile(job(code, [{"input": "3", "expectedOutput": "3"}]))
    assert r["verdict"] in ("pass", "runtime_error")


def test_killing_every_process_ends_the_job_cleanly(hostile):
    # ESRCH where nothing else runs as the submission's uid (under gVisor).
    code = ("import os, signal\ndef solution(n):\n    try:\n        os.kill(-1, signal.SIGKILL)\n"
            "    except ProcessLookupError:\n        pass\n    return n\n")
    r = hostile(job(code, ["1", "2"]))
    # The test process itself survives kill(-1); so does the runner (PID 1).
    # The template it killed is replaced by a fresh exec, so test 2 still runs.
    assert r["status"] == "completed" and statuses(r)[1] == "passed", r


def test_daemon_does_not_outlive_its_test(hostile):
    code = ("import os, time\n"
            "def solution(n):\n"
            "    if n == 0:\n"
            "        if os.fork() == 0:\n"
            "            os.setsid()\n"
            "            if os.fork() == 0:\n"
            "                while True:\n"
            "                    time.sleep(0.05)\n"
            "            os._exit(0)\n"
            "        return 0\n"
            "    me = os.getpid()\n"
            "    others = []\n"
            "    for p in os.listdir('/proc'):\n"
            "        if p.isdigit() and int(p) not in (1, me, os.getppid()):\n"
            "            others.append(open('/proc/%s/cmdline' % p, 'rb').read().decode(errors='replace'))\n"
            "    return others\n")
    r = hostile(job(code, ["0", "1"]))
    assert statuses(r) == ["passed", "passed"]
    # Only the runner's test-process template remains (it serves every test).
    assert len(output_of(r, 1)) == 1 and "/opt/execd/runner.py" in output_of(r, 1)[0], r


def test_sigstop_self(hostile):
    code = "import os, signal\ndef solution(n):\n    os.kill(os.getpid(), signal.SIGSTOP)\n    return n\n"
    r = hostile(job(code, time_limit_ms=1000))
    assert statuses(r) == ["timeout"]


def test_closing_stdout(hostile):
    code = "import os\ndef solution(n):\n    os.close(1)\n    os.close(2)\n    print('lost')\n    return n + 1\n"
    r = hostile(job(code, [{"input": "1", "expectedOutput": "2"}]))
    assert r["verdict"] in ("pass", "runtime_error")
    stdio = hostile(job("import os\nos.close(1)\n", [{"input": "", "expectedOutput": ""}], mode="stdio"))
    assert stdio["status"] == "completed"


def test_exiting_before_the_tests_run(hostile):
    py = hostile(job("import os\nos._exit(0)\n", ["1", "2"]))
    assert statuses(py) == ["runtime_error", "runtime_error"]
    js = hostile(job("process.exit(0);", ["1", "2"], language="javascript"))
    assert statuses(js) == ["runtime_error", "runtime_error"]


def test_recursion_bomb(hostile):
    py = hostile(job("def solution(n):\n    return solution(n + 1)\n"))
    assert statuses(py) == ["runtime_error"] and "RecursionError" in py["results"][0]["error"]
    deep = hostile(job("import sys\nsys.setrecursionlimit(10**8)\ndef solution(n):\n    return solution(n + 1)\n",
                       time_limit_ms=5000))
    assert statuses(deep) in (["runtime_error"], ["memory_limit"]), deep
    js = hostile(job("function solution(n) { return solution(n + 1); }", language="javascript"))
    assert statuses(js) == ["runtime_error"] and "RangeError" in js["results"][0]["error"]


def test_files_do_not_survive_into_the_next_job(hostile):
    write = ("def solution(n):\n"
             "    for p in ('/tmp/marker', '/dev/shm/marker'):\n"
             "        try:\n"
             "            open(p, 'w').write('left behind')\n"
             "        except OSError:\n"
             "            pass\n"
             "    return 1\n")
    hostile(job(write))
    check = "import os\ndef solution(n):\n    return [os.path.exists('/tmp/marker'), os.path.exists('/dev/shm/marker')]\n"
    r = hostile(job(check))
    assert output_of(r) == [False, False]


def test_stopping_the_runner_is_ignored(hostile):
    # The runner is PID 1 of the sandbox: SIGSTOP from inside does nothing,
    # so each test's own timer still ends it.
    # Under gVisor the runner is another uid: the kill fails with EPERM.
    code = ("import os, signal\ndef solution(n):\n    try:\n        os.kill(os.getppid(), signal.SIGSTOP)\n"
            "    except PermissionError:\n        pass\n    while True:\n        pass\n")
    r = hostile(job(code, ["1", "2"], time_limit_ms=500), max_seconds=10)
    assert statuses(r) == ["timeout", "timeout"]
    assert r["verdict"] == "timeout"


def test_wall_deadline_kills_the_sandbox(settings, docker_client):
    # MAX_JOB_TIME below the sum of the test limits: the engine's wall
    # deadline ends the job; the test running then is a timeout, the rest
    # never ran and are skipped.
    import dataclasses

    from execd.executor import Executor

    tight = dataclasses.replace(settings, max_job_time=2.0, pool_sizes="python=0,javascript=0")
    with Executor(tight, client=docker_client) as engine:
        t0 = time.monotonic()
        r = contract_result(engine.execute(job("def solution(n):\n    while True:\n        pass\n", ["1", "2", "3"],
                                               time_limit_ms=1500)))
        elapsed = time.monotonic() - t0
    assert statuses(r) == ["timeout", "timeout", "skipped"], r
    assert r["verdict"] == "timeout"
    assert elapsed < 8, elapsed
