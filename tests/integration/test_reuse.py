"""Container reuse on the real engine: a job sees nothing of the one before it
in the same container, and any anomaly retires the container.

The planter leaves a random secret behind by every means it has; the next job
in the same container (the engine's own record says which container ran each
job) searches processes, files, IPC, unix sockets and its own memory for it.
The searcher never holds the marker itself: its patterns spell it with a
character class. Under gVisor, whose kernel hides IPC objects from the
runner, a sandbox cannot verify a reset, so every job gets a fresh one: the
same tests then check exactly that.
"""
import dataclasses
import json
import secrets
import time

import pytest

from execd.executor import Executor
from execd.sandbox import Sandbox
from tests.conftest import contract_result

pytestmark = pytest.mark.docker


PY_PLANTER = r'''
import ctypes, os, socket, time
SECRET = %(secret)r
libc = ctypes.CDLL(None, use_errno=True)

def solution(n):
    for path in ("/tmp/" + SECRET, "/dev/shm/" + SECRET):
        with open(path, "w") as f:
            f.write(SECRET * 100)
    os.makedirs("/tmp/d/" + SECRET, exist_ok=True)
    os.chmod("/tmp/d", 0)
    key = int(SECRET[-6:], 16)
    shmid = libc.shmget(key, 4096, 0o1600)
    libc.shmat.restype = ctypes.c_void_p
    addr = libc.shmat(shmid, None, 0)
    ctypes.memmove(addr, SECRET.encode(), len(SECRET))
    libc.semget(key + 1, 1, 0o1600)
    msq = libc.msgget(key + 2, 0o1600)
    msg = ctypes.create_string_buffer(b"\1\0\0\0\0\0\0\0" + SECRET.encode())
    libc.msgsnd(msq, msg, len(SECRET), 0)
    libc.mq_open.restype = ctypes.c_int
    libc.mq_open(("/" + SECRET[:40]).encode(), os.O_CREAT | os.O_RDWR, 0o600, None)
    held = [SECRET * 1000 for _ in range(200)]
    if os.fork() == 0:
        os.setsid()
        s = socket.socket(socket.AF_UNIX)
        s.bind("\0" + SECRET)
        s.listen()
        keep = held
        while True:
            time.sleep(0.05)
    time.sleep(0.1)
    return 1
'''

PY_SEARCHER = r'''
import ctypes, os, re
MARK = re.compile(rb"L[E]AK[0-9a-f]{32}")
ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: test processes start undumpable; open our own mem

def proc_text(pid, name):
    try:
        with open("/proc/%%s/%%s" %% (pid, name), "rb") as f:
            return f.read()
    except OSError:
        return b""

def solution(n):
    found = []
    me = os.getpid()
    for pid in [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]:
        cmd = proc_text(pid, "cmdline")
        if b"runner.py" not in cmd or MARK.search(cmd + proc_text(pid, "environ")):
            found.append("process %%s: %%r" %% (pid, cmd))
    for top in ("/tmp", "/dev/shm", "/dev/mqueue"):
        for root, dirs, files in os.walk(top):
            for name in dirs + files:
                found.append("file " + os.path.join(root, name))
    for kind in ("shm", "sem", "msg"):
        lines = proc_text("sysvipc", kind).splitlines()[1:]
        found += ["sysv %%s %%r" %% (kind, l) for l in lines]
    for line in proc_text("net", "unix").splitlines()[1:]:
        if MARK.search(line) or b"@" in line:
            found.append("socket %%r" %% line)
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(start)
                chunk = mem.read(end - start)
            except (OSError, OverflowError, ValueError):
                continue
            if MARK.search(chunk):
                found.append("memory %%s" %% line.strip())
    return found
'''

JS_PLANTER = r'''
const fs = require('fs');
const cp = require('child_process');
const SECRET = %(secret)s;
function solution(n) {
  fs.writeFileSync('/tmp/' + SECRET, SECRET.repeat(100));
  fs.writeFileSync('/dev/shm/' + SECRET, SECRET.repeat(100));
  const child = cp.spawn(process.execPath, ['-e', 'const s = ' + JSON.stringify(SECRET.repeat(1000)) + '; setInterval(() => s.length, 50);'],
                         {detached: true, stdio: 'ignore'});
  child.unref();
  globalThis.held = Array.from({length: 200}, () => SECRET.repeat(1000));
  const t = Date.now() + 200; while (Date.now() < t) {}
  return 1;
}
'''

JS_SEARCHER = r'''
const fs = require('fs');
const MARK = new RegExp('L[E]AK[0-9a-f]{32}');
function solution(n) {
  const found = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== 1 && Number(p) !== process.pid)) {
    let cmd = '';
    try { cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1'); } catch (e) {}
    if (!cmd.includes('runner.py') && cmd !== '') found.push('process ' + pid + ' ' + cmd);
  }
  for (const top of ['/tmp', '/dev/shm', '/dev/mqueue']) {
    if (!fs.existsSync(top)) continue;  // gVisor has no /dev/mqueue
    for (const name of fs.readdirSync(top)) found.push('file ' + top + '/' + name);
  }
  const fd = fs.openSync('/proc/self/mem', 'r');
  for (const line of fs.readFileSync('/proc/self/maps', 'utf8').trim().split('\n')) {
    const f = line.split(/\s+/);
    if (!f[1].includes('r') || f[5] === '[vvar]' || f[5] === '[vsyscall]') continue;
    const [a, b] = f[0].split('-').map((x) => parseInt(x, 16));
    for (let pos = a; pos < b; pos += 1 << 24) {
      const len = Math.min(1 << 24, b - pos);
      const buf = Buffer.alloc(len);
      let got = 0;
      try { got = fs.readSync(fd, buf, 0, len, pos); } catch (e) { break; }
      if (MARK.test(buf.toString('latin1', 0, got))) { found.push('memory ' + line); break; }
    }
  }
  return found;
}
'''


@pytest.fixture
def one_sandbox(settings, docker_client):
    """An engine with no warm pool: the first job starts the only sandbox, later ones reuse it."""
    solo = dataclasses.replace(settings, pool_sizes="python=0,javascript=0", pool_max_sandboxes=0,
                               sandbox_max_jobs=200)
    with Executor(solo, client=docker_client) as engine:
        yield engine


@pytest.fixture
def containers(monkeypatch):
    """The id of the container each job ran in, in order, as the engine saw it."""
    seen = []
    real_run = Sandbox.run

    def recording_run(self, *args, **kwargs):
        seen.append(self.id)
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(Sandbox, "run", recording_run)
    return seen


def output(result, i=0):
    assert result["status"] == "completed" and result["results"][i]["status"] == "passed", result
    return json.loads(result["results"][i]["output"])


def run(engine, language, code, time_limit_ms=4000, **extra):
    job = dict(language=language, code=code, testCases=[{"input": "1"}], timeLimitMs=time_limit_ms, **extra)
    return contract_result(engine.execute(job))  # a clean sandbox is back within milliseconds; take() waits for its reset


PROBE = {"python": "def solution(n):\n    return n\n", "javascript": "function solution(n) { return n; }"}


@pytest.mark.parametrize("language", ["python", "javascript"])
def test_nothing_of_a_job_reaches_the_next_in_the_same_container(one_sandbox, containers, reuse_verifiable,
                                                                 language):
    secret = "LEAK" + secrets.token_hex(16)
    if language == "python":
        planted = run(one_sandbox, "python", PY_PLANTER % {"secret": secret})
        searched = run(one_sandbox, "python", PY_SEARCHER % {}, time_limit_ms=10000)
    else:
        planted = run(one_sandbox, "javascript", JS_PLANTER % {"secret": json.dumps(secret)})
        searched = run(one_sandbox, "javascript", JS_SEARCHER)
    assert planted["results"][0]["status"] == "passed", planted
    assert output(searched) == []
    planter, searcher = containers
    assert (planter == searcher) == reuse_verifiable, "reuse_verifiable=%s but ran in %s" % (
        reuse_verifiable, containers)


@pytest.mark.parametrize("language,code,status", [
    ("python", "def solution(n):\n    while True:\n        pass\n", "timeout"),
    ("python", "def solution(n):\n    x = bytearray(400 * 1024 * 1024)\n    return 1\n", "memory_limit"),
    ("javascript", "function solution(n) { for (;;) {} }", "timeout"),
])
def test_an_anomaly_retires_the_container(one_sandbox, containers, reuse_verifiable, language, code,
                                          status):
    for _ in range(2):
        assert output(run(one_sandbox, language, PROBE[language])) == 1
    assert (containers[0] == containers[1]) == reuse_verifiable  # reused while clean (where a reset verifies)
    bad = run(one_sandbox, language, code, time_limit_ms=1000)
    assert bad["results"][0]["status"] == status, bad
    assert output(run(one_sandbox, language, PROBE[language])) == 1
    assert containers[3] != containers[2]  # the container that misbehaved is gone


def test_fresh_container_per_job_when_max_jobs_is_1(settings, docker_client, containers):
    fresh = dataclasses.replace(settings, pool_sizes="python=0", pool_max_sandboxes=0, sandbox_max_jobs=1)
    with Executor(fresh, client=docker_client) as engine:
        for _ in range(3):
            assert output(run(engine, "python", PROBE["python"])) == 1
    assert len(set(containers)) == 3


def test_a_job_never_runs_under_a_higher_memory_limit(one_sandbox):
    # cgroup v1, cgroup v2, or gVisor (whose MemTotal is the container's limit).
    probe = ("import os\n"
             "def solution(n):\n"
             "    if os.path.exists('/sys/fs/cgroup/memory/memory.limit_in_bytes'):\n"
             "        return int(open('/sys/fs/cgroup/memory/memory.limit_in_bytes').read()) // 2**20\n"
             "    if os.path.exists('/sys/fs/cgroup/memory.max'):\n"
             "        return int(open('/sys/fs/cgroup/memory.max').read()) // 2**20\n"
             "    return int(open('/proc/meminfo').readline().split()[1]) // 1024\n")
    assert output(run(one_sandbox, "python", probe, memoryLimitMb=256)) == 256
    assert output(run(one_sandbox, "python", probe, memoryLimitMb=64)) == 64
    assert output(run(one_sandbox, "python", probe, memoryLimitMb=256)) == 256


def test_a_protocol_failure_retires_the_container(one_sandbox, docker_client, containers, reuse_verifiable):
    """A report the host cannot accept (here: a line over the size it will read) kills and removes the
    container; the next job runs in a fresh one."""
    for _ in range(2):
        assert output(run(one_sandbox, "python", PROBE["python"])) == 1
    assert (containers[0] == containers[1]) == reuse_verifiable
    real_run = Sandbox.run  # the containers fixture's recorder
    limited = []

    def tiny_report_limit(self, request, deadline, max_bytes, tick=None):
        limited.append(self.id)
        return real_run(self, request, deadline, 64, tick)

    Sandbox.run = tiny_report_limit
    try:
        broken = run(one_sandbox, "python", PROBE["python"])
    finally:
        Sandbox.run = real_run
    assert broken["verdict"] == "runtime_error", broken
    assert "no valid report" in broken["results"][0]["error"], broken
    assert output(run(one_sandbox, "python", PROBE["python"])) == 1
    assert containers[-1] != limited[0]
    deadline = time.monotonic() + 15
    while docker_client.api.containers(all=True, filters={"id": limited[0]}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not docker_client.api.containers(all=True, filters={"id": limited[0]}), "the broken sandbox was not removed"
