"""Forgery attempts: submitted code that has read the runner and tries to make
its own verdict. Each job's first test can only pass by forging (its honest
answer is wrong); its second test is honest and must pass, which proves the
runner survived, was not steered and kept reporting in order. No attempt may
reach the report channel: a protocol failure ("no valid report") would mean
it did, so it fails the test as surely as a forged pass."""
import json

import pytest

pytestmark = pytest.mark.docker

EXPECT = [{"input": "1", "expectedOutput": "42"}, {"input": "41", "expectedOutput": "42"}]

# Every event a runner may write, forged: a passing record for test 0 with
# time 0, records for tests that do not exist, a compile error, done.
_RECORD = {"event": "test", "index": 0, "timedOut": False, "oom": False, "exitCode": 0, "signal": None,
           "result": {"ok": True, "output": "42"}, "stdout": "42\n", "stdoutTruncated": False, "stderr": "",
           "stderrTruncated": False, "timeMs": 0, "memoryKb": 1}
FORGED = "".join(json.dumps(m) + "\n" for m in (
    {"event": "accepted"}, _RECORD, dict(_RECORD, index=1), dict(_RECORD, index=7), {"event": "done"},
    {"event": "compile_error", "message": "forged"}, {"event": "done"}))

PY_TOOLS = r'''
import ctypes, os, signal, time
FORGED = %r.encode()
libc = ctypes.CDLL(None, use_errno=True)

def forge_fds(fds=range(1024)):
    for fd in fds:
        try:
            os.write(fd, FORGED)
        except OSError:
            pass

def forge_path(path):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return
    try:
        os.write(fd, FORGED)
    except OSError:
        pass
    os.close(fd)

def forge_proc():
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            fds = os.listdir("/proc/%%s/fd" %% pid)
        except OSError:
            fds = ["0", "1", "2", "3", "4"]
        for fd in fds:
            forge_path("/proc/%%s/fd/%%s" %% (pid, fd))

def signal_runner(*sigs):
    for target in (1, os.getppid()):
        for sig in sigs:
            try:
                os.kill(target, sig)
            except OSError:
                pass
''' % FORGED

JS_TOOLS = r'''
const fs = require('fs');
const FORGED = %s;
function forgeFds() { for (let fd = 0; fd < 1024; fd++) { try { fs.writeSync(fd, FORGED); } catch (e) {} } }
function forgePath(p) {
  try { const h = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK); try { fs.writeSync(h, FORGED); } catch (e) {} fs.closeSync(h); } catch (e) {}
}
function forgeProc() {
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let fds = ['0', '1', '2', '3', '4'];
    try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch (e) {}
    for (const fd of fds) forgePath(`/proc/${pid}/fd/${fd}`);
  }
}
function signalRunner(...sigs) {
  for (const target of [1, process.ppid]) for (const s of sigs) { try { process.kill(target, s); } catch (e) {} }
}
function busy(ms) { const end = Date.now() + ms; while (Date.now() < end) {} }
''' % json.dumps(FORGED)


def py_function(attack):
    body = "\n".join("        " + line for line in attack.strip().splitlines())
    return PY_TOOLS + "\ndef solution(n):\n    if n == 1:\n%s\n        return n\n    return n + 1\n" % body


def py_stdio(attack):
    body = "\n".join("    " + line for line in attack.strip().splitlines())
    return PY_TOOLS + "\nimport sys\nn = int(sys.stdin.read())\nif n == 1:\n%s\n    print(n)\nelse:\n    print(n + 1)\n" % body


def js_function(attack):
    return JS_TOOLS + "\nfunction solution(n) {\n  if (n === 1) {\n%s\n    return n;\n  }\n  return n + 1;\n}\n" % attack


def js_stdio(attack):
    return (JS_TOOLS + "\nconst n = Number(fs.readFileSync(0, 'utf8'));\nif (n === 1) {\n%s\n  console.log(n);\n}"
            " else console.log(n + 1);\n" % attack)


PY_PTRACE = r'''
for request in (16, 0x4206):  # PTRACE_ATTACH, PTRACE_SEIZE
    libc.ptrace(request, 1, 0, 0)
buf = ctypes.create_string_buffer(64)
local = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 64)
libc.process_vm_writev(1, local, 1, local, 1, 0)
forge_path("/proc/1/mem")
forge_proc()
'''

PY_ATTACKS = {
    "proc1-fd1": 'forge_path("/proc/1/fd/1")',
    "proc1-fd2": 'forge_path("/proc/1/fd/2")',
    "parent-fds": 'forge_proc()',
    "fds-0-1023": 'forge_fds()',
    "sigstop-then-forge": 'signal_runner(signal.SIGSTOP)\nforge_proc()\nforge_fds()',
    "sigkill-then-forge": 'signal_runner(signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP)\n'
                          'forge_proc()\nforge_fds()',
    "kill-every-process": 'try:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass',
    "ptrace-and-vm-write": PY_PTRACE,
    "daemon-forges-next-test": (
        'if os.fork() == 0:\n    os.setsid()\n    end = time.time() + 3\n    while time.time() < end:\n'
        '        forge_proc()\n        time.sleep(0.01)\n    os._exit(0)\ntime.sleep(0.05)'),
}

JS_ATTACKS = {
    "proc1-fd1": "forgePath('/proc/1/fd/1');",
    "proc1-fd2": "forgePath('/proc/1/fd/2');",
    "parent-fds": "forgeProc();",
    "fds-0-1023": "forgeFds();",
    "sigstop-then-forge": "signalRunner('SIGSTOP'); forgeProc(); forgeFds();",
    "sigkill-then-forge": "signalRunner('SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP'); forgeProc(); forgeFds();",
    "native-ptrace-via-python": ("require('child_process').spawnSync('python3', ['-c', %s + %s], {stdio: 'inherit'});"
                                 % (json.dumps(PY_TOOLS), json.dumps(PY_PTRACE))),
}

CASES = ([("python", "function", name, py_function(a)) for name, a in PY_ATTACKS.items()]
         + [("python", "stdio", name, py_stdio(a)) for name, a in PY_ATTACKS.items()]
         + [("javascript", "function", name, js_function(a)) for name, a in JS_ATTACKS.items()]
         + [("javascript", "stdio", name, js_stdio(a)) for name, a in JS_ATTACKS.items()])


def assert_not_forged(result, shared_process=False):
    assert result["status"] == "completed", result
    assert result["verdict"] not in ("pass", "compile_error"), result
    statuses = [t["status"] for t in result["results"]]
    assert statuses[0] in ("failed", "runtime_error"), result
    # The runner kept going, in order. In JavaScript function mode the tests
    # share one node worker: an attack that wrecks node's own descriptors can
    # crash the next test too (its own result), never forge it.
    assert statuses[1] in (("passed", "runtime_error") if shared_process else ("passed",)), result
    for test in result["results"]:
        assert "report" not in test.get("error", ""), "the attack reached the report channel: %s" % result


@pytest.mark.parametrize("language,mode,name,code", CASES, ids=["%s-%s-%s" % c[:3] for c in CASES])
def test_forgery_attempt_fails(run_job, language, mode, name, code):
    result = run_job(dict(language=language, mode=mode, code=code, testCases=EXPECT, timeLimitMs=4000))
    assert_not_forged(result, shared_process=(language, mode) == ("javascript", "function"))


def test_forged_time_on_a_busy_test_python(run_job):
    code = py_function('end = time.monotonic() + 0.3\nwhile time.monotonic() < end:\n    pass\n'
                       'forge_proc()\nforge_fds()')
    result = run_job(dict(language="python", code=code, testCases=EXPECT, timeLimitMs=4000))
    assert_not_forged(result)
    assert result["results"][0]["executionTime"] >= 280, result


def test_forged_time_on_a_busy_test_javascript(run_job):
    result = run_job(dict(language="javascript", code=js_function("busy(300); forgeProc(); forgeFds();"),
                          testCases=EXPECT, timeLimitMs=4000))
    assert_not_forged(result)
    assert result["results"][0]["executionTime"] >= 280, result


def test_js_reply_written_ahead_cannot_answer_the_next_call(run_job):
    # Test 1 writes passing replies for the calls to come, then answers
    # honestly (wrong); test 2 is busy for 300 ms and answers wrong. Neither
    # may pass, and test 2's time must be its own.
    code = r'''
const fs = require('fs');
function solution(n) {
  if (n === 1) {
    for (let i = 0; i < 50; i++) fs.writeSync(4, JSON.stringify({ok: true, output: '42', nonce: 'x' + i}) + '\n');
    return 0;
  }
  const end = Date.now() + 300; while (Date.now() < end) {}
  return 0;
}'''
    tests = [{"input": "1", "expectedOutput": "42"}, {"input": "2", "expectedOutput": "42"}]
    result = run_job(dict(language="javascript", code=code, testCases=tests, timeLimitMs=4000))
    assert result["verdict"] != "pass", result
    assert [t["status"] for t in result["results"]] == ["failed", "failed"], result
    assert result["results"][1]["executionTime"] >= 280, result


def test_js_late_write_from_a_timer_cannot_answer_the_next_call(run_job):
    code = r'''
const fs = require('fs');
async function solution(n) {
  if (n === 1) {
    setTimeout(() => fs.writeSync(4, JSON.stringify({ok: true, output: '42'}) + '\n'), 100);
    return 0;
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  return 0;
}'''
    tests = [{"input": "1", "expectedOutput": "42"}, {"input": "2", "expectedOutput": "42"}]
    result = run_job(dict(language="javascript", code=code, testCases=tests, timeLimitMs=4000))
    assert [t["passed"] for t in result["results"]] == [False, False], result


def test_runner_survives_sigint_python(run_job):
    # Python installs a SIGINT handler by default; a PID 1 with a handler
    # would take the signal. The runner drops it.
    code = py_function("signal_runner(signal.SIGINT)\ntime.sleep(0.1)")
    result = run_job(dict(language="python", code=code, testCases=EXPECT, timeLimitMs=4000))
    assert_not_forged(result)
    assert result["results"][0]["status"] == "failed"
