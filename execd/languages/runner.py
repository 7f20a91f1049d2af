"""In-sandbox runner: PID 1 of every sandbox container.

It never receives expected outputs (the host judges). It runs as the same
unprivileged uid as the submission, so what keeps the submission away from
the report channel (this process's stdout) is the kernel's rules for PID 1 of
a pid namespace and for undumpable processes, which `harden()` sets up and
checks before the runner says it is ready:
  - PID 1 gets no signal from inside its namespace unless it installed a
    handler; only SIGCHLD has one (it only wakes the wait loop), so SIGKILL,
    SIGSTOP, SIGTERM and SIGINT from the submission do nothing;
  - undumpable: no same-uid process may ptrace it, open /proc/1/fd/*, or read
    /proc/1/mem (ptrace_may_access needs CAP_SYS_PTRACE, which nothing has);
  - every test process gets only its own pipes: fds 0-3 (Python) or 0-4
    (node) are dup'ed into place and every other descriptor is closed before
    submitted code runs;
  - time and memory are measured here, from outside the test's processes
    (monotonic clock around the process's life, wait4's rusage, VmHWM), and
    a node worker's reply counts only when it carries the nonce of the call
    it answers, so nothing written ahead of a call can stand for it.

Protocol (a container serves jobs one at a time, one language):
  runner -> host  {"event": "ready", "reusable"}              once warm, and
                  again after every verified reset; reusable is false
                  where the kernel hides what a reset must check (gVisor)
  host -> runner  one JSON line: {mode, entryPoint, code, tests, timeLimitMs,
                  maxOutputBytes, maxResultBytes, reuse}
  runner -> host  {"event": "accepted"}, then
                  {"event": "compile_error", "message"} and stop, or
                  {"event": "test", "index", ...} per test, then
                  {"event": "done"}
  With `reuse` the runner then resets the sandbox (see `reset_sandbox`) and
  says ready again; a reset that does not verify ends the container.

A job must see nothing of an earlier one, including in memory: no test
process is ever forked from this runner, whose heap has held every job's
data. Python tests are forked from the *template*, a process forked from the
runner before the first job, which only ever receives descriptors (never job
data) and clones each test as a child of PID 1 (CLONE_PARENT), so the runner
still waits for it and measures it. A test reads its own code and input from
a pipe. JavaScript runs in node processes exec'd fresh for each job (stdio:
for each test); function mode runs a job's tests in one worker, one fresh
module instance per test, because node starts too slowly to pay that cost per
test; a worker that times out or dies is replaced for the remaining tests. No
spare node is started while a test runs: it would spend the job's memory.
Every other language is `exec` (ExecRunner): the commands of the image's
language.json compile the host-prepared source once per job in /box (the
only exec-capable tmpfs), then each test execs the program afresh with fds
0-3, as the sandbox user.

Where the host says the sandbox has a kernel of its own (gVisor, argv[3]),
that kernel may not guard PID 1 as Linux does; there the runner and the
template run as that kernel's root and every submission process drops to
uid 10001 (enter_sandbox_user), so a plain uid boundary guards the channel.

This file uses only the standard library and must stay importable by the
Python in every image.
"""
import builtins
import ctypes
import fcntl
import io
import json
import os
import resource
import select
import signal
import socket
import stat
import struct
import sys
import time
import traceback

# Imported once here so that each forked test does not pay for them again
# (a fork re-importing traceback alone cost 16 ms). The common algorithmic
# modules ride along: submissions import them and a fork shares them.
import bisect, collections, functools, heapq, itertools, math, re, string  # noqa: E401,F401

LANGUAGE = sys.argv[1] if len(sys.argv) > 1 else "python"
PRESPAWN = int(sys.argv[2]) if len(sys.argv) > 2 else 1
# Set by the host where the sandbox has a kernel of its own (gVisor). There
# the pids cgroup also counts the runtime's own threads, so the sandbox's
# process limit is RLIMIT_NPROC, which such a kernel counts per sandbox; and
# since such a kernel may not enforce what guards PID 1 on Linux (signals
# from inside its namespace, undumpable /proc files), the runner and the
# template run as the sandbox kernel's root and every submission process as
# SANDBOX_UID: a plain uid boundary then guards the report channel.
NPROC_LIMIT = int(sys.argv[3]) if len(sys.argv) > 3 else 0
SANDBOX_UID = SANDBOX_GID = 10001
BOOTSTRAP_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bootstrap.js")
PY_FILENAME = "solution.py"
READ_CHUNK = 65536
WORKER_READY_TIMEOUT = 20.0


def emit(obj):
    data = (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8", "replace")
    view = memoryview(data)
    while view:
        try:
            n = os.write(1, view)
        except InterruptedError:
            continue
        view = view[n:]


def set_nonblocking(fd):
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)


def close_quietly(*fds):
    for fd in fds:
        if fd is not None and fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


def read_oom_kills():
    """The sandbox cgroup's OOM-kill counter: the kernel's word, not a guess."""
    for path in ("/sys/fs/cgroup/memory/memory.oom_control", "/sys/fs/cgroup/memory.events"):
        try:
            with open(path) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            continue
    return None


def raise_oom_score():
    # Make the submission, not the runner, the OOM killer's first choice.
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass


PR_GET_DUMPABLE, PR_SET_DUMPABLE = 3, 4


class HardeningFailed(Exception):
    pass


def harden():
    """Make this process what the security model needs, or refuse to start.

    A runner that cannot verify it is PID 1 and undumpable never says ready,
    so the host never gives it a job (fail closed).
    """
    if os.getpid() != 1:
        raise HardeningFailed("the runner must be PID 1 of its sandbox (no init process)")
    if (os.getuid() == 0) != (NPROC_LIMIT > 0):
        # Root only on a kernel of the sandbox's own, where the host asks for
        # the uid split; on the host's kernel the runner is unprivileged.
        raise HardeningFailed("the runner runs as uid %d, which this runtime does not call for" % os.getuid())
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 or libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise HardeningFailed("cannot make the runner undumpable")
    # PID 1 ignores every signal it has no handler for. Python installs one
    # for SIGINT; drop it. SIGPIPE and SIGXFSZ stay ignored (write errors are
    # reported as errors); SIGCHLD gets a handler below.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD, signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT):
            continue
        try:
            if signal.getsignal(sig) not in (signal.SIG_DFL, signal.SIG_IGN, None):
                signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass


def enter_sandbox_user():
    """In a new submission process, before any of its code: drop to SANDBOX_UID (no capabilities
    survive the change), under the per-sandbox process limit. Where the runner is not root it
    is SANDBOX_UID already."""
    if os.getuid() != 0:
        return
    os.setgroups([])
    os.setgid(SANDBOX_GID)
    os.setuid(SANDBOX_UID)
    if os.getuid() != SANDBOX_UID or os.geteuid() != SANDBOX_UID:
        os._exit(70)
    resource.setrlimit(resource.RLIMIT_NPROC, (NPROC_LIMIT, NPROC_LIMIT))


def reset_child_signals():
    """Dispositions a test process should have: the defaults (ignored ones survive exec)."""
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)


def close_other_fds(keep_upto):
    """Close every descriptor above `keep_upto`: a test holds only its own pipes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    top = max(4096, soft if soft != resource.RLIM_INFINITY else 0, hard if hard != resource.RLIM_INFINITY else 0)
    os.closerange(keep_upto + 1, min(top, 1 << 20))


def reset_peak_rss(pid):
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


class PipeReader:
    """Reads whatever a non-blocking pipe holds; subclasses keep it (`accept`)."""

    def __init__(self, fd, cap):
        self.fd = fd
        self.cap = cap
        self.eof = False
        set_nonblocking(fd)

    def read_available(self):
        while not self.eof:
            try:
                data = os.read(self.fd, READ_CHUNK)
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            except OSError:
                data = b""
            if not data:
                self.eof = True
                return
            self.accept(data)


class Capture(PipeReader):
    """A pipe read into a capped buffer; bytes past the cap are drained and dropped."""

    def __init__(self, fd, cap):
        super().__init__(fd, cap)
        self.chunks = []
        self.size = 0
        self.truncated = False

    def accept(self, data):
        room = self.cap - self.size
        if room > 0:
            self.chunks.append(data[:room])
            self.size += min(room, len(data))
        if len(data) > room:
            self.truncated = True

    def take(self):
        data = b"".join(self.chunks)
        self.chunks = []
        self.size = 0
        truncated, self.truncated = self.truncated, False
        return data, truncated

    def text(self):
        data, truncated = self.take()
        return data.decode("utf-8", "replace"), truncated


class LineReader(PipeReader):
    """Reads newline-framed JSON messages from a worker's result pipe."""

    def __init__(self, fd, cap):
        super().__init__(fd, cap)
        self.buf = bytearray()
        self.overflow = False

    def accept(self, data):
        if len(self.buf) <= self.cap:
            self.buf += data
        else:
            self.overflow = True

    def discard(self):
        """Drop whatever is buffered or waiting in the pipe (written ahead of a call)."""
        self.read_available()
        self.buf = bytearray()
        self.overflow = False

    def pop_line(self):
        i = self.buf.find(b"\n")
        if i < 0:
            return None
        line = bytes(self.buf[:i])
        del self.buf[:i + 1]
        return parse_child_result(line)

    def pop_rest(self):
        """Whatever a short-lived child wrote before exiting (no newline needed)."""
        data = bytes(self.buf)
        self.buf = bytearray()
        if not data.strip():
            return None
        if self.overflow:
            return {"ok": False, "error": "return value larger than the result limit"}
        return parse_child_result(data)


CORRUPTED = {"ok": False, "error": "the submission corrupted the result channel"}


def parse_child_result(data):
    """A test process's own result message, reduced to the fields the host reads.

    The process may write anything here; it can only ever describe its own
    output, never its time, memory, exit status or another test.
    """
    try:
        message = json.loads(data.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return dict(CORRUPTED)
    if not isinstance(message, dict) or not isinstance(message.get("ok"), bool):
        return dict(CORRUPTED)
    clean = {"ok": message["ok"]}
    for name in ("output", "error"):
        if isinstance(message.get(name), str):
            clean[name] = message[name]
    for name in ("nonce", "compileError", "loaded"):
        if name in message:
            clean[name] = message[name]
    return clean


class Child:
    """One process running submission code, with its pipes."""

    def __init__(self, pid, stdin_w, out_r, err_r, res_r, ctl_w=None):
        self.pid = pid
        self.stdin_w = stdin_w
        self.out_r = out_r
        self.err_r = err_r
        self.res_r = res_r
        self.ctl_w = ctl_w
        self.status = None  # raw wait status once reaped
        self.rusage = None

    def poll(self):
        if self.status is None:
            try:
                pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.status = 0
                return True
            if pid == 0:
                return False
            self.status, self.rusage = status, rusage
        return True

    def kill(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass

    def wait(self):
        while self.status is None:
            try:
                pid, status, rusage = os.wait4(self.pid, 0)
                self.status, self.rusage = status, rusage
            except ChildProcessError:
                self.status = 0
            except InterruptedError:
                continue

    def close(self):
        close_quietly(self.stdin_w, self.out_r, self.err_r, self.res_r, self.ctl_w)
        self.stdin_w = self.out_r = self.err_r = self.res_r = self.ctl_w = None


class Runner:
    def __init__(self, job):
        self.job = job
        self.mode = job.get("mode", "function")
        self.entry = job.get("entryPoint") or "solution"
        self.code = job["code"]
        self.time_limit = job["timeLimitMs"] / 1000.0
        self.max_output = int(job["maxOutputBytes"])
        self.max_result = int(job["maxResultBytes"])
        self.compare_cap = self.max_result
        # The comparison field is captured up to the larger result cap; the
        # host truncates it for the report after judging.
        self.stdout_cap = self.compare_cap if self.mode == "stdio" else self.max_output

    # -- the wait loop -----------------------------------------------------

    def pump(self, child, captures, results, writes, deadline, until):
        """Move bytes between pipes until `until()` holds or the deadline passes.

        Returns True when the deadline passed first.
        """
        pending = []
        for fd, data in writes:
            if fd is None:
                continue
            if not data:
                close_quietly(fd)
                continue
            set_nonblocking(fd)
            pending.append((fd, memoryview(data)))
        writes = pending
        readers = [c for c in captures] + ([results] if results else [])
        while True:
            for r in readers:
                r.read_available()
            if until():
                for fd, _ in writes:
                    close_quietly(fd)
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                for fd, _ in writes:
                    close_quietly(fd)
                return True
            rfds = [r.fd for r in readers if not r.eof] + [WAKEUP_R]
            wfds = [fd for fd, _ in writes]
            try:
                readable, writable, _ = select.select(rfds, wfds, [], min(remaining, 0.05))
            except InterruptedError:
                continue
            if WAKEUP_R in readable:
                drain_wakeup()
            if writable:
                still = []
                for fd, view in writes:
                    if fd in writable:
                        try:
                            n = os.write(fd, view[:READ_CHUNK])
                            view = view[n:]
                        except BlockingIOError:
                            pass
                        except OSError:
                            # The child closed its stdin: the rest is dropped.
                            view = view[:0]
                        if not view:
                            close_quietly(fd)
                            continue
                    still.append((fd, view))
                writes = still
            child.poll()

    # -- per-test records --------------------------------------------------

    def record(self, index, child, out, err, result, timed_out, started, ended, oom_before, memory_kb):
        stdout, stdout_trunc = out.text()
        stderr, stderr_trunc = err.text()
        exit_code = sig = None
        status = child.status
        if status is not None and not timed_out:
            if os.WIFSIGNALED(status):
                sig = os.WTERMSIG(status)
            elif os.WIFEXITED(status):
                exit_code = os.WEXITSTATUS(status)
        oom_after = read_oom_kills()
        oom = bool(oom_before is not None and oom_after is not None and oom_after > oom_before and not timed_out)
        if memory_kb is None and child.rusage is not None:
            memory_kb = int(child.rusage.ru_maxrss)
        return {
            "event": "test",
            "index": index,
            "timedOut": timed_out,
            "oom": oom,
            "exitCode": exit_code,
            "signal": sig,
            "result": result,
            "stdout": stdout,
            "stdoutTruncated": stdout_trunc,
            "stderr": stderr,
            "stderrTruncated": stderr_trunc,
            "timeMs": int(round((ended - started) * 1000)),
            "memoryKb": memory_kb,
        }


class PythonRunner(Runner):
    """Each test is a clone of the template: a fresh interpreter in ~1 ms that never held another job."""

    def __init__(self, job, template):
        super().__init__(job)
        self.template = template

    def run(self):
        # Compiled here only to report syntax errors once; each test compiles its own copy.
        try:
            compile(self.code, PY_FILENAME, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError) as e:
            emit({"event": "compile_error", "message": format_syntax_error(e)})
            return
        for index, test_input in enumerate(self.job["tests"]):
            emit(self.run_test(index, test_input))
        emit({"event": "done"})

    def run_test(self, index, test_input):
        spec = json.dumps({"code": self.code, "input": test_input, "mode": self.mode, "entryPoint": self.entry,
                           "timeLimitMs": self.job["timeLimitMs"], "maxResultBytes": self.max_result},
                          ensure_ascii=True).encode("ascii")
        pipes = [os.pipe() for _ in range(5)]  # stdin, stdout, stderr, result, spec
        (in_r, in_w), (out_r, out_w), (err_r, err_w), (res_r, res_w), (spec_r, spec_w) = pipes
        oom_before = read_oom_kills()
        started = time.monotonic()
        pid = self.template.spawn([in_r, out_w, err_w, res_w, spec_r])
        close_quietly(in_r, out_w, err_w, res_w, spec_r)
        if pid is None:
            close_quietly(in_w, out_r, err_r, res_r, spec_w)
            return internal_record(index, "could not start the test process")
        child = Child(pid, in_w, out_r, err_r, res_r)
        out = Capture(out_r, self.stdout_cap)
        err = Capture(err_r, self.max_output)
        results = LineReader(res_r, self.max_result + 4096)
        stdin_data = test_input.encode("utf-8") if self.mode == "stdio" else b""
        deadline = started + self.time_limit
        timed_out = self.pump(child, (out, err), results, [(in_w, stdin_data), (spec_w, spec)], deadline, child.poll)
        ended = time.monotonic()
        if timed_out:
            child.kill()
        child.wait()
        if kill_strays({self.template.pid}) and not timed_out:
            # Processes the test left behind ran (and could write results)
            # until now: the test's time runs until they are gone.
            ended = time.monotonic()
        for r in (out, err, results):
            r.read_available()
        result = results.pop_rest()
        rec = self.record(index, child, out, err, result, timed_out, started, ended, oom_before, None)
        child.close()
        return rec


class Builder(Runner):
    """A runner whose image has a manifest (/opt/execd/language.json): it writes the job's
    host-named files to BUILD_DIR and, when the manifest says how, compiles them once per job."""

    def __init__(self, job, manifest):
        super().__init__(job)
        self.manifest = manifest
        memory_mb = int(job.get("memoryLimitMb") or 256)
        # Manifest commands and env values may name {memoryMb}, {heapMb} (a JVM heap that leaves
        # room for the rest) and {stackMb}: a stack small enough that a runaway recursion ends
        # as the language's stack overflow, well before it could exhaust the memory limit.
        self.words = {"memoryMb": str(memory_mb), "heapMb": str(max(16, memory_mb * 5 // 8)),
                      "stackMb": str(min(64, max(2, memory_mb // 8)))}
        self.env = dict(EXEC_ENV, **{k: v.format(**self.words) for k, v in manifest.get("env", {}).items()})

    def command(self, key):
        return [part.format(**self.words) for part in self.manifest[key]]

    def keep_pids(self):
        """Processes of the runner's own that a compile's clean-up must spare."""
        return set()

    def build(self):
        """Write the files and compile them: None once built (after emitting `compiled` for a
        compile), else the compile error's text."""
        for name, text in self.job["files"].items():
            if os.path.basename(name) != name or name.startswith("."):
                raise ValueError("bad file name %r" % name)  # the host names them; never a path
            with open(os.path.join(BUILD_DIR, name), "w", encoding="utf-8") as f:
                f.write(text)
        if not self.manifest.get("compile"):
            return None
        limit = int(self.job.get("compileTimeLimitMs") or 10000) / 1000.0
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        res_r, res_w = os.pipe()
        started = time.monotonic()
        # Compilers run threads (rustc's codegen units, Go's backend): CPU time adds up across
        # them, so the CPU backstop is every core's share of the wall limit, which stays the limit.
        cores = max(1, len(os.sched_getaffinity(0)))
        pid = self.spawn(self.command("compile"), [in_r, out_w, out_w, res_w], cpu_limit=limit * cores)
        close_quietly(in_r, out_w, res_w)
        child = Child(pid, in_w, out_r, None, res_r)
        out = Capture(out_r, self.max_output)
        timed_out = self.pump(child, (out,), None, [(in_w, b"")], started + limit, child.poll)
        elapsed = int(round((time.monotonic() - started) * 1000))
        if timed_out:
            child.kill()
        child.wait()
        kill_strays(self.keep_pids())
        out.read_available()
        text, _ = out.text()
        close_quietly(out_r, res_r)
        status = child.status
        if timed_out:
            return ("compilation exceeded the compile time limit of %d s\n%s" % (limit, text)).rstrip()
        if status is None or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return text.rstrip() or "the compiler failed (%s)" % (
                signal_name(os.WTERMSIG(status)) if status is not None and os.WIFSIGNALED(status) else
                "exit code %s" % (os.WEXITSTATUS(status) if status is not None else "?"))
        emit({"event": "compiled", "timeMs": elapsed, "output": text})
        return None

    def spawn(self, argv, fds, cpu_limit):
        """fork + exec `argv` as the sandbox user with `fds` as 0-3, in BUILD_DIR; the pid."""
        pid = os.fork()
        if pid == 0:
            try:
                enter_sandbox_user()
                reset_child_signals()
                os.setsid()
                parked = [os.dup(fd) for fd in fds]
                for target, fd in enumerate(parked):
                    os.dup2(fd, target)
                close_other_fds(3)
                limit = int(cpu_limit) + 2
                resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 1))
                os.chdir(BUILD_DIR)
                os.execve(argv[0], argv, self.env)
            finally:
                os._exit(127)
        return pid


class ExecRunner(Builder):
    """A language run by the commands of its manifest: built once per job (see Builder), then
    every test execs the program afresh, as the sandbox user, with fds 0-3."""

    def run(self):
        problem = self.build()
        if problem is not None:
            emit({"event": "compile_error", "message": problem})
            return
        for index, test_input in enumerate(self.job["tests"]):
            emit(self.run_test(index, test_input))
        emit({"event": "done"})

    def run_test(self, index, test_input):
        pipes = [os.pipe() for _ in range(4)]  # stdin, stdout, stderr, result
        (in_r, in_w), (out_r, out_w), (err_r, err_w), (res_r, res_w) = pipes
        oom_before = read_oom_kills()
        started = time.monotonic()
        pid = self.spawn(self.command("run"), [in_r, out_w, err_w, res_w], cpu_limit=self.time_limit)
        close_quietly(in_r, out_w, err_w, res_w)
        child = Child(pid, in_w, out_r, err_r, res_r)
        out = Capture(out_r, self.stdout_cap)
        err = Capture(err_r, self.max_output)
        results = LineReader(res_r, self.max_result + 4096)
        # Function mode: the harness reads the arguments (JSON) from stdin.
        timed_out = self.pump(child, (out, err), results, [(in_w, test_input.encode("utf-8"))],
                              started + self.time_limit, child.poll)
        ended = time.monotonic()
        if timed_out:
            child.kill()
        child.wait()
        if kill_strays(set()) and not timed_out:
            ended = time.monotonic()
        for r in (out, err, results):
            r.read_available()
        result = results.pop_rest() if self.mode == "function" else None
        rec = self.record(index, child, out, err, result, timed_out, started, ended, oom_before, None)
        child.close()
        return rec


EXEC_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": "/tmp"}


def signal_name(number):
    """SIGXCPU for 24: what a compiler's death is reported as."""
    try:
        return "killed by signal %s" % signal.Signals(number).name
    except ValueError:
        return "killed by signal %d" % number


def load_manifest():
    """The image's language.json (exec languages, TypeScript), or None."""
    try:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "language.json"), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def format_syntax_error(e):
    if isinstance(e, SyntaxError):
        return "".join(traceback.format_exception_only(type(e), e)).rstrip()
    return "%s: %s" % (type(e).__name__, e)


def short_error(e):
    text = "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__
    return text[:1000]


class TestSpec:
    """What one Python test process is told, read from its own spec pipe."""

    def __init__(self, spec):
        self.mode = spec["mode"]
        self.entry = spec["entryPoint"]
        self.time_limit = spec["timeLimitMs"] / 1000.0
        self.max_result = int(spec["maxResultBytes"])


def python_child(runner, code_obj, test_input):
    """Runs in the test process with fds 0-3 in place; never returns."""
    reset_child_signals()
    limit = int(runner.time_limit) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 1))
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8", errors="replace")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="backslashreplace")
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace")
    namespace = {"__name__": "__main__", "__builtins__": builtins, "__file__": PY_FILENAME}
    result = None
    exit_code = 0
    try:
        exec(code_obj, namespace)
        if runner.mode == "function":
            fn = namespace.get(runner.entry)
            if not callable(fn):
                raise NameError("entry point %r is not a function" % runner.entry)
            args = json.loads("[" + test_input + "]")
            value = fn(*args)
            output = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            result = {"ok": True, "output": output}
    except SystemExit as e:
        if runner.mode == "function":
            result = {"ok": False, "error": "SystemExit: exit() called before the function returned"}
            exit_code = 1
        elif e.code is None or isinstance(e.code, int):
            exit_code = (e.code or 0) & 0xFF
        else:
            exit_code = 1
            try:
                sys.stderr.write("%s\n" % (e.code,))
            except Exception:
                pass
    except BaseException as e:
        exit_code = 1
        result = {"ok": False, "error": short_error(e)}
        try:
            # Drop the runner's own frame so the trace starts at the submission.
            tb = e.__traceback__.tb_next if e.__traceback__ is not None else None
            sys.stderr.write("".join(traceback.format_exception(type(e), e, tb)))
        except Exception:
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    if result is not None:
        try:
            data = json.dumps(result, ensure_ascii=False).encode("utf-8", "replace")
            if len(data) > runner.max_result + 1024:
                data = json.dumps({"ok": False, "error": "return value larger than the result limit"}).encode()
            view = memoryview(data)
            while view:
                view = view[os.write(3, view):]
        except Exception:
            pass
    os._exit(exit_code)


class JavaScriptRunner(Builder):
    """node starts slowly, so workers are started before the job arrives. With a manifest that
    compiles (TypeScript), the job's files are transpiled first and the workers run the output."""

    def __init__(self, job, spares, manifest=None):
        super().__init__(job, manifest or {})
        self.spares = spares  # ready node processes, oldest first

    def keep_pids(self):
        return self.spare_pids()

    def take_worker(self):
        while self.spares:
            child = self.spares.pop(0)
            if await_ready(child, time.monotonic() + WORKER_READY_TIMEOUT):
                return child
            child.kill()
            child.wait()
            child.close()
        return spawn_node_worker(wait_ready=True)

    def spare_pids(self, *extra):
        return {c.pid for c in self.spares} | {c.pid for c in extra if c is not None}

    def run(self):
        if self.manifest.get("compile"):
            problem = self.build()
            if problem is not None:
                emit({"event": "compile_error", "message": problem})
                return
            with open(os.path.join(BUILD_DIR, self.manifest["output"]), encoding="utf-8") as f:
                self.code = f.read()
        if self.mode == "stdio":
            return self.run_stdio()
        return self.run_function()

    def load(self, worker):
        """Compile the submission in a fresh worker; returns a compile error or None."""
        msg = {"type": "load", "code": self.code, "entryPoint": self.entry, "mode": self.mode}
        write_all(worker.ctl_w, (json.dumps(msg) + "\n").encode("utf-8"))
        lines = LineReader(worker.res_r, self.max_result + 4096)
        reply = wait_line(worker, lines, time.monotonic() + WORKER_READY_TIMEOUT)
        worker.lines = lines
        if reply is None:
            return None
        return reply.get("compileError")

    def run_function(self):
        worker = None
        out = err = None
        for index, test_input in enumerate(self.job["tests"]):
            if worker is None:
                worker = self.take_worker()
                if worker is None:
                    emit(internal_record(index, "could not start node"))
                    continue
                out = Capture(worker.out_r, self.stdout_cap)
                err = Capture(worker.err_r, self.max_output)
                compile_error = self.load(worker)
                if compile_error is not None:
                    emit({"event": "compile_error", "message": compile_error})
                    worker.kill()
                    worker.wait()
                    return
                # Function mode never reads stdin: give it EOF.
                close_quietly(worker.stdin_w)
                worker.stdin_w = None
            lines = worker.lines
            lines.discard()  # whatever the worker wrote ahead of this call cannot answer it
            nonce = os.urandom(16).hex()
            oom_before = read_oom_kills()
            reset_peak_rss(worker.pid)
            started = time.monotonic()
            msg = (json.dumps({"type": "call", "input": test_input, "nonce": nonce}) + "\n").encode("utf-8")
            reply = []

            def done(reply=reply, lines=lines, worker=worker, nonce=nonce):
                while not reply:
                    line = lines.pop_line()
                    if line is None:
                        break
                    answer = answer_of(line, nonce)
                    if answer is not None:
                        reply.append(answer)
                return bool(reply) or worker.poll()

            timed_out = self.pump(worker, (out, err), lines, [(os.dup(worker.ctl_w), msg)], started + self.time_limit, done)
            ended = time.monotonic()
            memory_kb = peak_rss_kb(worker.pid)
            if timed_out or not reply:
                worker.kill()
                worker.wait()
                for r in (out, err, lines):
                    r.read_available()
                while not reply and not timed_out:
                    rest = lines.pop_line()
                    if rest is None:
                        break
                    answer = answer_of(rest, nonce)
                    if answer is not None:
                        reply.append(answer)
            else:
                # The reply was written after the test's synchronous stdout
                # writes, so what the pipes hold now belongs to this test.
                out.read_available()
                err.read_available()
            rec = self.record(index, worker, out, err, reply[0] if reply else None, timed_out, started, ended, oom_before, memory_kb)
            if worker.status is not None:
                worker.close()
                worker = None
            else:
                rec["exitCode"] = 0 if reply and reply[0].get("ok") else 1
            emit(rec)
            kill_strays(self.spare_pids(worker))
        if worker is not None:
            worker.kill()
            worker.wait()
            worker.close()
        emit({"event": "done"})

    def run_stdio(self):
        for index, test_input in enumerate(self.job["tests"]):
            worker = self.take_worker()
            if worker is None:
                emit(internal_record(index, "could not start node"))
                continue
            out = Capture(worker.out_r, self.stdout_cap)
            err = Capture(worker.err_r, self.max_output)
            compile_error = self.load(worker)
            if compile_error is not None:
                emit({"event": "compile_error", "message": compile_error})
                worker.kill()
                worker.wait()
                return
            lines = worker.lines
            oom_before = read_oom_kills()
            started = time.monotonic()
            go = (json.dumps({"type": "run"}) + "\n").encode("utf-8")
            write_all(worker.ctl_w, go)
            timed_out = self.pump(
                worker, (out, err), lines, [(worker.stdin_w, test_input.encode("utf-8"))],
                started + self.time_limit, worker.poll,
            )
            worker.stdin_w = None  # closed by pump
            ended = time.monotonic()
            if timed_out:
                worker.kill()
            worker.wait()
            if kill_strays(self.spare_pids()) and not timed_out:
                ended = time.monotonic()  # its leftovers ran until now
            for r in (out, err, lines):
                r.read_available()
            result = lines.pop_line() or lines.pop_rest()
            emit(self.record(index, worker, out, err, result, timed_out, started, ended, oom_before, None))
            worker.close()
        emit({"event": "done"})


def answer_of(reply, nonce):
    """A node worker's reply to the call with `nonce`, or None for any other line.

    Lines written ahead of the call (or by a timer of an earlier test) cannot
    know the nonce, so they are passed over: they can neither answer this
    call nor cut its measured time short.
    """
    if not hmac_equal(reply.get("nonce"), nonce):
        return None
    reply.pop("nonce", None)
    return reply


def hmac_equal(a, b):
    # Imported here, not at the top: secrets pulls in hashlib and OpenSSL
    # (4 MB), which every Python test clone would copy (~0.25 ms a fork).
    import secrets
    return isinstance(a, str) and secrets.compare_digest(a.encode(), b.encode())


def internal_record(index, message):
    # A worker that cannot even start in this sandbox's memory is the job's memory limit.
    oom = bool(read_oom_kills())
    return {"event": "test", "index": index, "timedOut": False, "oom": oom, "exitCode": None, "signal": None,
            "result": {"ok": False, "error": message}, "stdout": "", "stdoutTruncated": False, "stderr": "",
            "stderrTruncated": False, "timeMs": 0, "memoryKb": None}


def write_all(fd, data):
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            select.select([], [fd], [], 1.0)
        except InterruptedError:
            continue


def wait_line(child, lines, deadline):
    while True:
        lines.read_available()
        line = lines.pop_line()
        if line is not None:
            return line
        if lines.eof or child.poll():
            return None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            select.select([lines.fd], [], [], min(remaining, 0.05))
        except InterruptedError:
            pass


def spawn_node_worker(wait_ready):
    """Start `node bootstrap.js` with fds 0-4 as pipes; it waits on fd 3."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    ctl_r, ctl_w = os.pipe()
    res_r, res_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            enter_sandbox_user()
            reset_child_signals()
            os.setsid()
            os.dup2(in_r, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            # ctl_r/res_w may already sit on 3 or 4; park them above first.
            c, r = os.dup(ctl_r), os.dup(res_w)
            os.dup2(c, 3)
            os.dup2(r, 4)
            close_other_fds(4)
            os.execv("/usr/bin/node", ["node", BOOTSTRAP_JS])
        finally:
            os._exit(70)
    close_quietly(in_r, out_w, err_w, ctl_r, res_w)
    child = Child(pid, in_w, out_r, err_r, res_r, ctl_w)
    child.ready = False
    if wait_ready:
        if not await_ready(child, time.monotonic() + WORKER_READY_TIMEOUT):
            child.kill()
            child.wait()
            child.close()
            return None
    return child


def await_ready(child, deadline):
    """The worker writes one byte 'R' on fd 4 once node has loaded."""
    if child.ready:
        return True
    while time.monotonic() < deadline:
        r, _, _ = select.select([child.res_r], [], [], 0.05)
        if r:
            try:
                data = os.read(child.res_r, 1)
            except InterruptedError:
                continue
            child.ready = data == b"R"
            return child.ready
        if child.poll():
            return False
    return False


def kill_strays(keep):
    """SIGKILL every process in the sandbox but PID 1 (this runner) and `keep`; returns how many.

    Catches fork+setsid daemons that left the test's process tree.
    """
    me = os.getpid()
    killed = 0
    for _ in range(100):
        strays = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid in (1, me) or pid in keep:
                continue
            try:
                with open("/proc/%d/stat" % pid) as f:
                    state = f.read().rpartition(")")[2].split()[0]
            except (OSError, IndexError):
                continue
            if state in ("Z", "X"):
                continue
            strays.append(pid)
        reap_any()
        if not strays:
            return killed
        killed += len(strays)
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.002)
        reap_any()
    return killed


def reap_any():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# -- the template: where Python tests come from ------------------------------

CLONE_PARENT = 0x8000
SYS_CLONE = {"x86_64": 56, "aarch64": 220}.get(os.uname().machine)
SYS_IOPRIO = {"x86_64": (251, 252), "aarch64": (30, 31)}.get(os.uname().machine)  # (set, get)
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long


def clone_as_sibling():
    """fork(), but the child's parent is PID 1: the runner waits for it and reads its rusage.

    Python's own before/after-fork steps run around the raw clone, as in os.fork().
    """
    api = ctypes.pythonapi
    api.PyOS_BeforeFork()
    pid = LIBC.syscall(ctypes.c_long(SYS_CLONE), ctypes.c_long(CLONE_PARENT | signal.SIGCHLD),
                       ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0))
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0
    err = ctypes.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, "clone failed")
    return pid


def fork_orphan():
    """fork() twice, so the test is orphaned at once and PID 1 adopts it (and waits for it).

    For kernels that ignore CLONE_PARENT (gVisor does); it costs one more fork.
    """
    r, w = os.pipe()
    middle = os.fork()
    if middle == 0:
        pid = -1
        try:
            os.close(r)
            pid = os.fork()
            if pid == 0:
                os.close(w)
                return 0
            os.write(w, struct.pack("=q", pid))
        finally:
            if pid != 0:
                os._exit(0)
    os.close(w)
    try:
        data = os.read(r, 8)
    finally:
        os.close(r)
        os.waitpid(middle, 0)  # once it is gone, PID 1 has adopted the test
    return struct.unpack("=q", data)[0] if len(data) == 8 else -1


def clone_parent_works():
    """Whether a CLONE_PARENT child is PID 1's (Linux) or, as under gVisor, still ours."""
    r, w = os.pipe()
    pid = clone_as_sibling()
    if pid == 0:
        os._exit(0)
    os.close(w)
    os.read(r, 1)  # EOF: the probe has exited
    os.close(r)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        return True  # PID 1's child: PID 1 reaps it once the template says ready
    return False


def undumpable(pid):
    """The kernel hands an undumpable process's /proc files to root."""
    try:
        return os.stat("/proc/%d/status" % pid).st_uid == 0
    except OSError:
        return False


def template_main(fd):
    """The template's loop: one test process per descriptor set PID 1 sends. Never returns.

    It receives descriptors and nothing else, so no test forked from it can
    inherit another job's code, inputs or outputs.
    """
    if LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:  # exec'd replacements start dumpable
        os._exit(78)
    sock = socket.socket(fileno=fd)
    spawn = clone_as_sibling if clone_parent_works() else fork_orphan
    warm_up()
    sock.send(b"R")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 16, 8)
        except OSError:
            os._exit(0)
        if not message or len(fds) != 5:
            os._exit(0)
        try:
            pid = spawn()
        except OSError:
            pid = -1
        if pid == 0:
            test_process(fds)
        close_quietly(*fds)
        try:
            sock.send(struct.pack("=q", pid))
        except OSError:
            os._exit(0)


def warm_up():
    """Do once here what every test does first (parse a spec, compile, run, encode), so each clone
    inherits it done instead of paying for it in copied pages; then freeze the heap so the clones'
    garbage collections leave it alone."""
    import gc
    spec = json.loads(json.dumps({"code": "def solution(n):\n    return [n, str(n)]\n", "input": "1"}))
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    exec(compile(spec["code"], PY_FILENAME, "exec", dont_inherit=True), namespace)
    json.dumps(namespace["solution"](*json.loads("[" + spec["input"] + "]")), separators=(",", ":"),
               ensure_ascii=False, allow_nan=False)
    io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8", errors="replace")
    gc.collect()
    gc.freeze()


def test_process(fds):
    """A Python test: place its pipes at fds 0-4, read its spec from 4, run the submission. Never returns."""
    try:
        enter_sandbox_user()
        parked = [os.dup(fd) for fd in fds]
        for target, fd in enumerate(parked):
            os.dup2(fd, target)
        close_other_fds(4)
        chunks = []
        while True:
            data = os.read(4, READ_CHUNK)
            if not data:
                break
            chunks.append(data)
        os.close(4)
        spec = json.loads(b"".join(chunks))
        code_obj = compile(spec["code"], PY_FILENAME, "exec", dont_inherit=True)
        python_child(TestSpec(spec), code_obj, spec["input"])
    finally:
        os._exit(70)


class Template:
    """PID 1's handle on the template process."""

    READY_TIMEOUT = 20.0
    SPAWN_TIMEOUT = 5.0

    def __init__(self):
        self.pid = None
        self.sock = None
        self.inodes = set()  # the socket pairs': the only unix sockets a clean sandbox holds
        self.replaced = False

    def start(self, fresh):
        """Start the template: forked before the first job, exec'd anew once this runner has held job data."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.inodes |= {os.fstat(ours.fileno()).st_ino, os.fstat(theirs.fileno()).st_ino}
        pid = os.fork()
        if pid == 0:
            try:
                parked = os.dup(theirs.fileno())
                null = os.open("/dev/null", os.O_RDWR)
                os.dup2(null, 0)
                os.dup2(null, 1)  # never the report channel
                os.dup2(parked, 3)
                close_other_fds(3)
                if fresh:
                    os.execv(sys.executable, [sys.executable, "-I", "-S", os.path.abspath(__file__), "template"])
                template_main(3)
            finally:
                os._exit(70)
        theirs.close()
        self.pid, self.sock = pid, ours
        ready, _, _ = select.select([ours], [], [], self.READY_TIMEOUT)
        try:
            hello = ours.recv(1) if ready else b""
        except OSError:
            hello = b""
        reap_any()  # the template's CLONE_PARENT probe
        if hello != b"R" or not undumpable(pid):
            self.stop()
            return False
        return True

    def spawn(self, fds):
        """A new test process's pid, or None. A template the submission killed or stopped is replaced."""
        for _ in range(2):
            if self.pid is not None:
                pid = self._request(fds)
                if pid is not None:
                    return pid
                self.stop()
            self.replaced = True
            if not self.start(fresh=True):
                return None
        return None

    def _request(self, fds):
        try:
            os.kill(self.pid, signal.SIGCONT)  # an earlier test may have stopped it
            socket.send_fds(self.sock, [b"S"], fds)
            ready, _, _ = select.select([self.sock], [], [], self.SPAWN_TIMEOUT)
            data = self.sock.recv(8) if ready else b""
        except OSError:
            return None
        if len(data) != 8:
            return None
        pid = struct.unpack("=q", data)[0]
        return pid if pid > 0 else None

    def stop(self):
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
        if self.sock is not None:
            self.sock.close()
        self.pid = self.sock = None


# -- the reset between jobs --------------------------------------------------
#
# Everything a job can leave behind: processes, files in the writable
# mounts, SysV and POSIX IPC objects, unix sockets, memory, and the
# per-process attributes a same-uid process may set on another (rlimits via
# prlimit, nice, scheduling policy, CPU affinity, I/O priority), which would
# otherwise reach the next job's processes. Undone, then verified; anything
# that does not verify ends the container.

BUILD_DIR = "/box"  # where a compiled language's source and program live: a tmpfs that allows exec
SCRATCH_DIRS = ("/tmp", "/dev/shm", "/dev/mqueue") + ((BUILD_DIR,) if os.path.isdir(BUILD_DIR) else ())
IPC_RMID = 0
MEMORY_SLACK = 16 * 1024 * 1024
RLIMITS = sorted({v for k, v in vars(resource).items() if k.startswith("RLIMIT_")})


def ioprio(pid, value=None):
    if SYS_IOPRIO is None:
        return None
    if value is None:
        return LIBC.syscall(ctypes.c_long(SYS_IOPRIO[1]), ctypes.c_long(1), ctypes.c_long(pid))
    return LIBC.syscall(ctypes.c_long(SYS_IOPRIO[0]), ctypes.c_long(1), ctypes.c_long(pid), ctypes.c_long(value))


def process_state(pid):
    """What another same-uid process could have changed about `pid`."""
    try:
        return {"rlimits": [resource.prlimit(pid, r) for r in RLIMITS],
                "nice": os.getpriority(os.PRIO_PROCESS, pid),
                "policy": os.sched_getscheduler(pid),
                "affinity": sorted(os.sched_getaffinity(pid)),
                "ioprio": ioprio(pid)}
    except OSError:
        return None


def restore_process_state(pid, want):
    """Put back what can be put back; what cannot (a lowered hard limit, a raised nice) fails the check."""
    have = process_state(pid)
    if have is None or want is None:
        return
    for r, now, then in zip(RLIMITS, have["rlimits"], want["rlimits"]):
        if now != then:
            try:
                resource.prlimit(pid, r, then)
            except (OSError, ValueError):
                pass
    steps = (("policy", lambda: os.sched_setscheduler(pid, want["policy"], os.sched_param(0))),
             ("nice", lambda: os.setpriority(os.PRIO_PROCESS, pid, want["nice"])),
             ("affinity", lambda: os.sched_setaffinity(pid, want["affinity"])),
             ("ioprio", lambda: ioprio(pid, want["ioprio"])))
    for name, put_back in steps:
        if have[name] != want[name]:
            try:
                put_back()
            except OSError:
                pass


class Baseline:
    """The sandbox as it was before its first job, to verify each reset against."""

    def __init__(self, pids):
        self.states = {pid: process_state(pid) for pid in pids}
        self.memory = memory_in_use()


def memory_in_use():
    """Unreclaimable memory of the sandbox's cgroup (anonymous + tmpfs/shm), bytes."""
    for path, keys in (("/sys/fs/cgroup/memory.stat", ("anon", "shmem")),
                       ("/sys/fs/cgroup/memory/memory.stat", ("rss", "shmem"))):
        try:
            with open(path) as f:
                values = dict(line.split(None, 1) for line in f if " " in line)
            return sum(int(values.get(key, 0)) for key in keys)
        except (OSError, ValueError):
            continue
    return None


def remove_tree(top):
    """Remove everything below `top`, iteratively (a job may nest directories deeply)."""
    stack = [(os.path.join(top, name), False) for name in os.listdir(top)]
    while stack:
        path, emptied = stack.pop()
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            try:
                os.unlink(path)
            except OSError:
                pass
        elif emptied:
            try:
                os.rmdir(path)
            except OSError:
                pass
        else:
            try:
                os.chmod(path, 0o700)  # a job may have locked its own directories
                names = os.listdir(path)
            except OSError:
                names = []
            stack.append((path, True))
            stack.extend((os.path.join(path, name), False) for name in names)


def sysv_ids(kind):
    """Ids of the SysV IPC objects of `kind` (shm, sem, msg) in this IPC namespace."""
    try:
        with open("/proc/sysvipc/" + kind) as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return None  # cannot tell (gVisor has no /proc/sysvipc)
    return [int(fields[1]) for fields in (line.split() for line in lines) if len(fields) > 1 and fields[1].isdigit()]


def remove_sysv_ipc():
    for shmid in sysv_ids("shm") or ():
        LIBC.shmctl(shmid, IPC_RMID, None)
    for semid in sysv_ids("sem") or ():
        LIBC.semctl(semid, 0, IPC_RMID)
    for msqid in sysv_ids("msg") or ():
        LIBC.msgctl(msqid, IPC_RMID, None)


def unix_socket_inodes():
    try:
        with open("/proc/net/unix") as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return None
    return {int(fields[6]) for fields in (line.split() for line in lines) if len(fields) > 6 and fields[6].isdigit()}


def other_processes(keep):
    me = os.getpid()
    return [int(n) for n in os.listdir("/proc") if n.isdigit() and int(n) not in (1, me) and int(n) not in keep]


def reset_sandbox(keep, baseline, own_sockets):
    """Undo what the last job left; None once the sandbox verifies clean, else what is wrong."""
    kill_strays(keep)
    for top in SCRATCH_DIRS:
        try:
            remove_tree(top)
        except OSError:
            pass
    remove_sysv_ipc()
    for pid, state in baseline.states.items():
        restore_process_state(pid, state)
    return verify_clean(keep, baseline, own_sockets)


def verify_clean(keep, baseline, own_sockets):
    problems = []
    deadline = time.monotonic() + 0.5
    while True:
        reap_any()
        left = other_processes(keep)
        sockets = unix_socket_inodes()
        strays = None if sockets is None else sockets - own_sockets
        # Closing descriptors of dead processes can lag their exit a little.
        if (not left and strays == set()) or time.monotonic() > deadline:
            break
        time.sleep(0.005)
    if left:
        problems.append("%d processes left" % len(left))
    if strays is None:
        problems.append("cannot list unix sockets")
    elif strays:
        problems.append("%d unix sockets left" % len(strays))
    for top in SCRATCH_DIRS:
        try:
            if os.listdir(top):
                problems.append("files left in %s" % top)
        except OSError:
            problems.append("cannot list %s" % top)
    for kind in ("shm", "sem", "msg"):
        ids = sysv_ids(kind)
        if ids is None:
            problems.append("cannot list SysV %s objects" % kind)
        elif ids:
            problems.append("SysV %s objects left" % kind)
    memory = memory_in_use()
    if memory is None or baseline.memory is None:
        problems.append("cannot read the sandbox's memory use")
    elif memory > baseline.memory + MEMORY_SLACK:
        problems.append("memory in use %d KiB above idle" % ((memory - baseline.memory) // 1024))
    for pid, state in baseline.states.items():
        if state is None or process_state(pid) != state:
            problems.append("process %d's limits or scheduling changed" % pid)
    return "; ".join(problems) or None


WAKEUP_R = WAKEUP_W = -1


def why_reset_unverifiable():
    """What this kernel does not let the runner enumerate, or None when every reset can be verified.

    gVisor (as Debian packages it) has no /proc/sysvipc, no /dev/mqueue and
    no memory cgroup inside the sandbox: a job's SysV or POSIX IPC objects
    could outlive it unseen, so such a sandbox serves one job only.
    """
    missing = [what for what, ok in (
        ("/proc/sysvipc", all(sysv_ids(kind) is not None for kind in ("shm", "sem", "msg"))),
        ("/dev/mqueue", os.path.isdir("/dev/mqueue")),
        ("the memory cgroup", memory_in_use() is not None)) if not ok]
    return ", ".join(missing) or None


def drain_wakeup():
    try:
        while os.read(WAKEUP_R, 512):
            pass
    except OSError:
        pass


def start_spares(count):
    """Fresh node workers for the next job: forked and exec'd at once, so none holds an earlier job."""
    spares = [c for c in (spawn_node_worker(wait_ready=False) for _ in range(max(count, 1))) if c is not None]
    ready = []
    for child in spares:
        if await_ready(child, time.monotonic() + WORKER_READY_TIMEOUT):
            ready.append(child)
        else:
            child.kill()
            child.wait()
            child.close()
    return ready


def open_fds():
    return len(os.listdir("/proc/self/fd")) - 1  # less the one listdir held


def main():
    global WAKEUP_R, WAKEUP_W
    if LANGUAGE == "template":  # a replacement template, exec'd by the runner with its socket on fd 3
        template_main(3)
    # Set once here and inherited by every fork (the write costs ~1 ms per
    # process). The runner is small, so the OOM killer still picks the
    # submission; if it ever picks the runner, the host sees the sandbox
    # OOM-killed and reports memory_limit all the same. Before harden():
    # an undumpable process's /proc files belong to root.
    raise_oom_score()
    try:
        harden()
    except HardeningFailed as e:
        sys.stderr.write("execd runner: %s\n" % e)
        return 78
    unverifiable = why_reset_unverifiable()
    template = None
    manifest = load_manifest()
    if LANGUAGE == "python":
        # Before any job data and before the wakeup fd: the template inherits neither.
        template = Template()
        if not template.start(fresh=False):
            sys.stderr.write("execd runner: the test process template did not start\n")
            return 78
    WAKEUP_R, WAKEUP_W = os.pipe()
    set_nonblocking(WAKEUP_R)
    set_nonblocking(WAKEUP_W)
    signal.set_wakeup_fd(WAKEUP_W)
    # A handler (not SIG_DFL) so SIGCHLD reaches the wakeup fd.
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    keep = {template.pid} if template else set()
    baseline = Baseline([1] + sorted(keep))
    own_sockets = set(template.inodes) if template else set()
    idle_fds = open_fds()
    stdin = sys.stdin.buffer
    while True:
        spares = start_spares(PRESPAWN) if LANGUAGE == "javascript" else []
        emit({"event": "ready", "reusable": unverifiable is None})
        line = stdin.readline()
        if not line.strip():
            return 0
        job = json.loads(line)
        emit({"event": "accepted"})
        if LANGUAGE == "javascript":
            runner = JavaScriptRunner(job, spares, manifest)
            runner.run()
            spares = runner.spares
        elif LANGUAGE == "exec":
            ExecRunner(job, manifest).run()
        else:
            PythonRunner(job, template).run()
        if not job.get("reuse") or unverifiable:
            return 0
        for child in spares:
            child.close()
        problem = reset_sandbox(keep, baseline, own_sockets)
        if template is not None and template.replaced:
            problem = "the test process template was killed during the job"
        elif open_fds() != idle_fds:
            problem = (problem + "; " if problem else "") + "the runner holds %d descriptors, not %d" % (
                open_fds(), idle_fds)
        if problem:
            sys.stderr.write("execd runner: reset failed, retiring: %s\n" % problem)
            return 75


if __name__ == "__main__":
    sys.exit(main())
