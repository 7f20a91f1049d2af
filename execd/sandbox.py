"""One hardened container: create, start, run jobs over stdin/stdout one at a time, remove.

Code, inputs and results cross only the container's attached stdin and
stdout; the host never opens, writes or copies a file inside a sandbox, and
mounts nothing into it. Timeouts, OOM and early exits are data in the
Outcome; Docker failures raise SandboxUnavailable.
"""
import json
import logging
import os
import select
import socket
import struct
import time
import uuid
from dataclasses import dataclass, field

import docker
import docker.errors
from docker.types import LogConfig, Ulimit

from execd.errors import SandboxKilled, SandboxOutOfMemory, SandboxUnavailable
from execd.protocol import LineBuffer, ProtocolError, Report

log = logging.getLogger("execd.sandbox")

NAME_PREFIX = "execd-sbx-"
LABEL_MANAGED = "execd.managed"
LABEL_LANGUAGE = "execd.language"
LABEL_OWNER_PID = "execd.owner-pid"
LABEL_OWNER_HOST = "execd.owner-host"
LABEL_INSTANCE = "execd.instance"
SANDBOX_UID = "10001:10001"
STDOUT, STDERR = 1, 2
STDERR_KEEP = 8192
# Runtimes whose containers share the host's kernel. Any other (gVisor's
# runsc, Kata) gives each sandbox a kernel of its own, whose threads the pids
# cgroup counts too: there the process limit moves inside (RLIMIT_NPROC, per
# sandbox on such a kernel) and the cgroup keeps a backstop with headroom.
HOST_KERNEL_RUNTIMES = ("", "runc", "crun", "io.containerd.runc.v2")
OWN_KERNEL_TASK_HEADROOM = 512


def own_kernel(runtime):
    return runtime not in HOST_KERNEL_RUNTIMES


@dataclass(frozen=True)
class SandboxSpec:
    """Everything that shapes a container of one language."""

    language: str
    image: str
    memory_mb: int
    pids_limit: int = 64
    tmpfs_mb: int = 16
    cpus: float = 1.0
    nofile: int = 256
    fsize_mb: int = 16
    runtime: str = ""
    js_prestart: int = 1
    instance: str = ""
    build_dir_mb: int = 0  # an exec-capable tmpfs at /box for a compiled language's program


@dataclass
class Outcome:
    """What came back from one run: per-test records and how it ended."""

    records: list = field(default_factory=list)
    accepted: bool = False  # the runner read the job (so a failure is the job's doing)
    compile_error: str = None
    compile_time_ms: int = None
    compile_output: str = None
    done: bool = False
    failure: str = None  # None, "deadline", "oom", "exited", "protocol"
    protocol_error: str = None  # how the report broke the protocol, when failure == "protocol"
    exit_code: int = None
    stderr: str = ""  # the runner's own stderr tail, for operators' logs

    @property
    def clean(self):
        """The run ended as the protocol says and nothing in it was killed: the sandbox may be reset and reused."""
        if self.failure is not None or not (self.done or self.compile_error is not None):
            return False
        return not any(r.get("timedOut") or r.get("oom") for r in self.records)


def owner_host():
    """Who may judge whether an owner pid is alive: this host *and* pid namespace.

    Two execd containers on one host (or one with --network host, sharing the
    hostname) must never take each other's live sandboxes for orphans.
    """
    try:
        pidns = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        pidns = 0
    return "%s/%d" % (socket.gethostname(), pidns)


def owner_labels(language, instance=""):
    return {LABEL_MANAGED: "1", LABEL_LANGUAGE: language, LABEL_OWNER_PID: str(os.getpid()),
            LABEL_OWNER_HOST: owner_host(), LABEL_INSTANCE: instance}


def container_options(spec):
    """docker create options: every limit is set here, before the container exists."""
    mem = "%dm" % spec.memory_mb
    fsize = spec.fsize_mb * 1024 * 1024
    nproc, pids_limit, user, caps = 0, spec.pids_limit, SANDBOX_UID, []
    if own_kernel(spec.runtime):
        # The runner is the sandbox kernel's root, with just what it needs to
        # drop each submission process to SANDBOX_UID and to clean up after
        # it (see runner.py); the host's kernel never sees that root.
        nproc, pids_limit, user = spec.pids_limit, spec.pids_limit + OWN_KERNEL_TASK_HEADROOM, "0:0"
        caps = ["SETUID", "SETGID", "KILL", "DAC_OVERRIDE", "FOWNER"]
    options = dict(
        image=spec.image,
        command=[str(spec.js_prestart), str(nproc)],
        name=NAME_PREFIX + spec.language + "-" + uuid.uuid4().hex[:12],
        stdin_open=True,
        tty=False,
        detach=True,
        network_mode="none",
        user=user,
        read_only=True,
        tmpfs=dict({"/tmp": "rw,nosuid,nodev,noexec,size=%dm,mode=1777" % spec.tmpfs_mb},
                   # Only where a program must be built and run: the one place that allows exec.
                   **({"/box": "rw,nosuid,nodev,exec,size=%dm,mode=1777" % spec.build_dir_mb}
                      if spec.build_dir_mb else {})),
        shm_size=1024 * 1024,
        ipc_mode="private",
        cap_drop=["ALL"],
        cap_add=caps or None,
        security_opt=["no-new-privileges"],
        pids_limit=pids_limit,
        mem_limit=mem,
        memswap_limit=mem,
        nano_cpus=int(spec.cpus * 1e9),
        ulimits=[Ulimit(name="nofile", soft=spec.nofile, hard=spec.nofile),
                 Ulimit(name="fsize", soft=fsize, hard=fsize),
                 Ulimit(name="core", soft=0, hard=0)],
        # No docker-init: the runner itself is PID 1, which makes it immune to
        # signals from inside the sandbox and the only holder of the report
        # channel (see runner.py). It reaps orphans itself.
        init=False,
        # PID 1 ignores SIGTERM; a `docker stop` (or an engine shutdown) kills at once.
        stop_signal="SIGKILL",
        hostname="sandbox",
        environment={},
        labels=owner_labels(spec.language, spec.instance),
        log_config=LogConfig(type="none"),
    )
    if spec.runtime:
        options["runtime"] = spec.runtime
    return options


class _Stream:
    """Docker's multiplexed attach stream: 8-byte frame headers, stdout and stderr.

    Linear in the bytes received: frames are cut from a bytearray at an
    offset, and stdout goes into a LineBuffer.
    """

    def __init__(self, sock, max_line=65536):
        self.sock = sock
        self.frames = bytearray()
        self.lines = LineBuffer(max_line)
        self.stderr = bytearray()
        self.eof = False

    def fill(self, timeout):
        if self.eof:
            return False
        ready, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not ready:
            return False
        try:
            data = self.sock.recv(262144)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.frames += data
        pos = 0
        while len(self.frames) - pos >= 8:
            kind = self.frames[pos]
            size = struct.unpack_from(">I", self.frames, pos + 4)[0]
            if len(self.frames) - pos < 8 + size:
                break
            payload = self.frames[pos + 8:pos + 8 + size]
            pos += 8 + size
            if kind == STDERR:
                self.stderr += payload
                del self.stderr[:-STDERR_KEEP]
            else:
                self.lines.feed(payload)
        del self.frames[:pos]
        return True

    def next_line(self, deadline, tick=None):
        """The next stdout line as bytes, None at the deadline or EOF; raises OverflowError on an oversized line.

        `tick()` is called about once a second while waiting, so a caller can
        keep its own connections alive without threads.
        """
        last_tick = time.monotonic()
        while True:
            if tick is not None and time.monotonic() - last_tick >= 0.5:
                tick()
                last_tick = time.monotonic()
            line = self.lines.next_line()
            if line is not None:
                return line
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.eof:
                return None
            self.fill(min(remaining, 1.0))


class Sandbox:
    """A started container whose runner is waiting for a job."""

    def __init__(self, client, container, sock, spec, started_ms):
        self.client = client
        self.container = container
        self.sock = sock
        self.spec = spec
        self.memory_mb = spec.memory_mb
        self.start_ms = started_ms
        self.stream = _Stream(sock)
        self.created = time.monotonic()
        self.jobs = 0  # jobs sent to it
        self.reusable = False  # the runner can verify a reset here (its ready line says)

    @property
    def id(self):
        return self.container.id

    @classmethod
    def start(cls, client, spec, ready_timeout=30.0):
        """Create, attach, start and wait for the runner's ready line."""
        t0 = time.monotonic()
        try:
            container = client.containers.create(**container_options(spec))
        except docker.errors.ImageNotFound as e:
            raise SandboxUnavailable("sandbox image %s is missing; run `execd images build`" % spec.image) from e
        except (docker.errors.DockerException, OSError) as e:  # requests' connection errors are OSErrors
            raise SandboxUnavailable("cannot create a sandbox: %s" % e) from e
        sandbox = None
        try:
            raw = container.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            sock = getattr(raw, "_sock", raw)
            sock.setblocking(True)
            container.start()
            sandbox = cls(client, container, sock, spec, 0)
            line = sandbox.stream.next_line(time.monotonic() + ready_timeout)
            ready = json.loads(line) if line is not None else None
            if not isinstance(ready, dict) or ready.get("event") != "ready":
                if _killed_before_ready(container):
                    raise SandboxOutOfMemory("the sandbox ran out of its %d MB before it was ready" % spec.memory_mb)
                raise SandboxUnavailable("sandbox runner did not start: %s" % bytes(sandbox.stream.stderr[-500:]))
            sandbox.reusable = ready.get("reusable") is True
            sandbox.start_ms = (time.monotonic() - t0) * 1000
            return sandbox
        except SandboxUnavailable:
            _remove_quietly(container)
            raise
        except (docker.errors.DockerException, OSError, ValueError, OverflowError) as e:
            _remove_quietly(container)
            raise SandboxUnavailable("cannot start a sandbox: %s" % e) from e
        except BaseException:
            _remove_quietly(container)
            raise

    def await_reset(self, timeout):
        """After a clean job with `reuse`: True once the runner reports its reset verified (ready again)."""
        try:
            line = self.stream.next_line(time.monotonic() + timeout)
            return line is not None and json.loads(line).get("event") == "ready"
        except (ValueError, OverflowError, RecursionError, AttributeError):
            return False

    def run(self, request, deadline, max_message_bytes, tick=None):
        """Send the job; collect its report until complete, the deadline, or the container's end.

        Raises SandboxUnavailable when the engine went away during the run
        (the job is not to blame and may run again).
        """
        outcome = Outcome()
        self.jobs += 1
        report = Report(len(request["tests"]))
        self.stream.lines.max_line = max_message_bytes
        data = (json.dumps(request, ensure_ascii=True) + "\n").encode("ascii")
        try:
            self.sock.sendall(data)
        except OSError:
            outcome.failure = "exited"
            try:
                self._finish_failed(outcome)
            except SandboxUnavailable as e:
                e.accepted = False
                raise
            return outcome
        while True:
            try:
                line = self.stream.next_line(deadline, tick)
            except OverflowError:
                outcome.failure, outcome.protocol_error = "protocol", "a report line over %d bytes" % max_message_bytes
                break
            if line is None:
                outcome.failure = "deadline" if not self.stream.eof else "exited"
                break
            try:
                message = json.loads(line)
            except (ValueError, RecursionError):
                outcome.failure, outcome.protocol_error = "protocol", "the report holds a line that is not JSON"
                break
            try:
                complete = report.accept(message)
            except ProtocolError as e:
                outcome.failure, outcome.protocol_error = "protocol", str(e)
                break
            if complete:
                break
        outcome.accepted = report.accepted
        outcome.records = report.records
        outcome.compile_error = report.compile_error
        outcome.compile_time_ms = report.compile_time_ms
        outcome.compile_output = report.compile_output
        outcome.done = report.done
        if outcome.failure is not None:
            try:
                self._finish_failed(outcome)
            except SandboxUnavailable as e:
                e.accepted = outcome.accepted  # before acceptance, a fresh sandbox may retry at once
                raise
        return outcome

    def _finish_failed(self, outcome):
        """Stop the container, then ask Docker how it ended.

        The runner is PID 1 and immune to everything inside the sandbox, so a
        container that ended by SIGKILL without an OOM kill was killed from
        outside: the engine went away (a dockerd restart stops every
        container) or someone removed it. That is not the job's doing, so it
        raises SandboxUnavailable and the caller may run the job again.
        """
        outcome.stderr = bytes(self.stream.stderr).decode("utf-8", "replace")
        stopped_by_us = outcome.failure in ("deadline", "protocol")
        try:
            if stopped_by_us:
                try:
                    self.container.kill()
                except docker.errors.APIError as e:
                    if e.status_code != 409:  # 409: it had stopped already
                        raise
            self.container.wait(timeout=5)
            self.container.reload()
            state = self.container.attrs.get("State", {})
        except docker.errors.NotFound as e:
            if stopped_by_us:
                return  # the verdict stands
            raise SandboxUnavailable("the sandbox vanished during the run") from e
        except Exception as e:  # connection refused, timeouts: the engine is gone
            raise SandboxUnavailable("the Docker engine went away during the run: %s" % e) from e
        outcome.exit_code = state.get("ExitCode")
        if outcome.failure in ("deadline", "protocol"):
            return
        if state.get("OOMKilled"):
            outcome.failure = "oom"
        elif outcome.exit_code == 137:
            raise SandboxKilled("the sandbox was killed from outside during the run", outcome)

    def destroy(self):
        """Remove the container; False when the engine could not, so the caller retries later."""
        try:
            self.sock.close()
        except OSError:
            pass
        return _remove_quietly(self.container)


def _killed_before_ready(container):
    """Whether a sandbox that never became ready died of its memory limit: Docker's OOMKilled
    flag, or a SIGKILL (exit 137) that we did not send. Before ready no submitted code has run,
    so nothing but the kernel's OOM killer kills it; under gVisor Docker often loses the flag."""
    try:
        container.wait(timeout=5)
        container.reload()
        state = container.attrs.get("State", {})
        return bool(state.get("OOMKilled")) or state.get("ExitCode") == 137
    except Exception:
        return False


def _remove_quietly(container):
    """True once the container is gone (or going), False when the engine failed."""
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as e:
        if e.status_code != 409:  # 409: a removal is already in progress
            log.warning("cannot remove sandbox %s: %s", getattr(container, "short_id", "?"), e)
            return False
    except Exception as e:
        log.warning("cannot remove sandbox %s: %s", getattr(container, "short_id", "?"), e)
        return False
    return True


def reap_orphans(client, everything=False):
    """Remove sandboxes left by dead execd processes on this host (all of them with `everything`)."""
    host = owner_host()
    removed = 0
    try:
        # The low-level list: the high-level one inspects each container and
        # races with removals happening meanwhile.
        containers = client.api.containers(all=True, filters={"label": LABEL_MANAGED + "=1"})
    except docker.errors.DockerException as e:
        raise SandboxUnavailable("cannot list sandboxes: %s" % e) from e
    for info in containers:
        labels = info.get("Labels") or {}
        if not everything:
            if labels.get(LABEL_OWNER_HOST) != host:
                continue
            try:
                owner = int(labels.get(LABEL_OWNER_PID, "0"))
            except ValueError:
                owner = 0
            if owner > 0 and _alive(owner):
                continue
        try:
            client.api.remove_container(info["Id"], force=True)
            removed += 1
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as e:
            if e.status_code != 409:
                log.warning("cannot remove sandbox %s: %s", info["Id"][:12], e)
        except docker.errors.DockerException as e:
            log.warning("cannot remove sandbox %s: %s", info["Id"][:12], e)
    return removed


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
