"""Container reuse on the real engine: a job sees nothing of the one before it
in the same container, and any anomaly retires the container.

The planter leaves a random secret behind by every means it has; the next job
in the same container (its cgroup path names the container) searches
processes, files, IPC, unix sockets and its own memory for it. The searcher
never holds the marker itself: its patterns spell it with a character class.
"""
import dataclasses
import json
import secrets
import time

import pytest

from execd.executor import Executor

pytestmark = pytest.mark.docker

CONTAINER_ID = "open('/proc/self/cgroup').read().strip().splitlines()[-1].rsplit('/', 1)[-1][:12]"

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
    return %(container_id)s
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
    return [%(container_id)s, found]
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
  return fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n').pop().split('/').pop().slice(0, 12);
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
  for (const top of ['/tmp', '/dev/shm', '/dev/mqueue']) for (const name of fs.readdirSync(top)) found.push('file ' + top + '/' + name);
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
  const id = fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n').pop().split('/').pop().slice(0, 12);
  return [id, found];
}
'''


@pytest.fixture
def one_sandbox(settings, docker_client):
    """An engine with no warm pool: the first job starts the only sandbox, later ones reuse it."""
    solo = dataclasses.replace(settings, pool_size_python=0, pool_size_javascript=0, pool_max_sandboxes=0,
                               sandbox_max_jobs=200)
    with Executor(solo, client=docker_client) as engine:
        yield engine


def output(result, i=0):
    assert result["status"] == "completed", result
    return json.loads(result["results"][i]["output"])


def run(engine, language, code, time_limit_ms=4000, **extra):
    job = dict(language=language, code=code, testCases=[{"input": "1"}], timeLimitMs=time_limit_ms, **extra)
    return engine.execute(job)  # a clean sandbox is back within milliseconds; take() waits for its reset


@pytest.mark.parametrize("language", ["python", "javascript"])
def test_nothing_of_a_job_reaches_the_next_in_the_same_container(one_sandbox, language):
    secret = "LEAK" + secrets.token_hex(16)
    if language == "python":
        planted = run(one_sandbox, "python", PY_PLANTER % {"secret": secret, "container_id": CONTAINER_ID})
        searched = run(one_sandbox, "python", PY_SEARCHER % {"container_id": CONTAINER_ID})
    else:
        planted = run(one_sandbox, "javascript", JS_PLANTER % {"secret": json.dumps(secret)})
        searched = run(one_sandbox, "javascript", JS_SEARCHER)
    assert planted["results"][0]["status"] == "passed", planted
    container, found = output(searched)
    assert container == output(planted), "the searcher ran in another container: %s" % searched
    assert found == [], found


@pytest.mark.parametrize("language,code,status", [
    ("python", "def solution(n):\n    while True:\n        pass\n", "timeout"),
    ("python", "def solution(n):\n    x = bytearray(400 * 1024 * 1024)\n    return 1\n", "memory_limit"),
    ("javascript", "function solution(n) { for (;;) {} }", "timeout"),
])
def test_an_anomaly_retires_the_container(one_sandbox, language, code, status):
    probe = {"python": "import os\ndef solution(n):\n    return " + CONTAINER_ID + "\n",
             "javascript": "function solution(n) { return require('fs').readFileSync('/proc/self/cgroup', 'utf8')"
                           ".trim().split('\\n').pop().split('/').pop().slice(0, 12); }"}[language]
    first = output(run(one_sandbox, language, probe))
    assert output(run(one_sandbox, language, probe)) == first  # reused while clean
    bad = run(one_sandbox, language, code, time_limit_ms=1000)
    assert bad["results"][0]["status"] == status, bad
    assert output(run(one_sandbox, language, probe)) != first  # the container that misbehaved is gone


def test_fresh_container_per_job_when_max_jobs_is_1(settings, docker_client):
    fresh = dataclasses.replace(settings, pool_size_python=0, pool_max_sandboxes=0, sandbox_max_jobs=1)
    probe = "def solution(n):\n    return " + CONTAINER_ID + "\n"
    with Executor(fresh, client=docker_client) as engine:
        ids = {output(run(engine, "python", probe)) for _ in range(3)}
    assert len(ids) == 3


def test_a_job_never_runs_under_a_higher_memory_limit(one_sandbox):
    probe = ("def solution(n):\n    return int(open('/sys/fs/cgroup/memory/memory.limit_in_bytes').read()) // 2**20"
             " if __import__('os').path.exists('/sys/fs/cgroup/memory') else"
             " int(open('/sys/fs/cgroup/memory.max').read()) // 2**20\n")
    assert output(run(one_sandbox, "python", probe, memoryLimitMb=256)) == 256
    assert output(run(one_sandbox, "python", probe, memoryLimitMb=64)) == 64
    assert output(run(one_sandbox, "python", probe, memoryLimitMb=256)) == 256


def test_a_protocol_failure_retires_the_container(one_sandbox, docker_client, monkeypatch):
    """A report the host cannot accept (here: a line over the size it will read) kills and removes the
    container; the next job runs in a fresh one."""
    from execd.sandbox import Sandbox
    probe = "def solution(n):\n    return " + CONTAINER_ID + "\n"
    first = output(run(one_sandbox, "python", probe))
    assert output(run(one_sandbox, "python", probe)) == first  # reused while clean
    real_run = Sandbox.run
    monkeypatch.setattr(Sandbox, "run", lambda self, request, deadline, max_bytes, tick=None:
                        real_run(self, request, deadline, 64, tick))
    broken = run(one_sandbox, "python", probe)
    monkeypatch.setattr(Sandbox, "run", real_run)
    assert broken["verdict"] == "runtime_error", broken
    assert "no valid report" in broken["results"][0]["error"], broken
    assert output(run(one_sandbox, "python", probe)) != first
    deadline = time.monotonic() + 15
    while docker_client.api.containers(all=True, filters={"id": first}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not docker_client.api.containers(all=True, filters={"id": first}), "the broken sandbox was not removed"
