"""One hardened container for one job: create, start, talk over stdin/stdout, remove.

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

from execd.errors import SandboxUnavailable

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


@dataclass
class Outcome:
    """What came back from one run: per-test records and how it ended."""

    records: list = field(default_factory=list)
    accepted: bool = False  # the runner read the job (so a failure is the job's doing)
    compile_error: str = None
    done: bool = False
    failure: str = None  # None, "deadline", "oom", "exited", "protocol"
    exit_code: int = None
    stderr: str = ""  # the runner's own stderr tail, for operators' logs


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
    options = dict(
        image=spec.image,
        command=[str(spec.js_prestart)],
        name=NAME_PREFIX + spec.language + "-" + uuid.uuid4().hex[:12],
        stdin_open=True,
        tty=False,
        detach=True,
        network_mode="none",
        user=SANDBOX_UID,
        read_only=True,
        tmpfs={"/tmp": "rw,nosuid,nodev,noexec,size=%dm,mode=1777" % spec.tmpfs_mb},
        shm_size=1024 * 1024,
        ipc_mode="private",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        pids_limit=spec.pids_limit,
        mem_limit=mem,
        memswap_limit=mem,
        nano_cpus=int(spec.cpus * 1e9),
        ulimits=[Ulimit(name="nofile", soft=spec.nofile, hard=spec.nofile),
                 Ulimit(name="fsize", soft=fsize, hard=fsize),
                 Ulimit(name="core", soft=0, hard=0)],
        init=True,
        hostname="sandbox",
        environment={},
        labels=owner_labels(spec.language, spec.instance),
        log_config=LogConfig(type="none"),
    )
    if spec.runtime:
        options["runtime"] = spec.runtime
    return options


class _Stream:
    """Docker's multiplexed attach stream: 8-byte frame headers, stdout and stderr."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.lines = b""
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
        self.buf += data
        while len(self.buf) >= 8:
            kind, size = self.buf[0], struct.unpack(">I", self.buf[4:8])[0]
            if len(self.buf) < 8 + size:
                break
            payload, self.buf = self.buf[8:8 + size], self.buf[8 + size:]
            if kind == STDERR:
                self.stderr += payload
                del self.stderr[:-STDERR_KEEP]
            else:
                self.lines += payload
        return True

    def next_line(self, deadline, max_bytes, tick=None):
        """The next stdout line as bytes, None at the deadline or EOF; raises on an oversized line.

        `tick()` is called about once a second while waiting, so a caller can
        keep its own connections alive without threads.
        """
        last_tick = time.monotonic()
        while True:
            if tick is not None and time.monotonic() - last_tick >= 0.5:
                tick()
                last_tick = time.monotonic()
            i = self.lines.find(b"\n")
            if i >= 0:
                line, self.lines = self.lines[:i], self.lines[i + 1:]
                return line
            if len(self.lines) > max_bytes:
                raise OverflowError("sandbox message over %d bytes" % max_bytes)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.eof:
                return None
            self.fill(min(remaining, 1.0))


class Sandbox:
    """A started container whose runner is waiting for its one job."""

    def __init__(self, client, container, sock, spec, started_ms):
        self.client = client
        self.container = container
        self.sock = sock
        self.spec = spec
        self.memory_mb = spec.memory_mb
        self.start_ms = started_ms
        self.stream = _Stream(sock)

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
        except docker.errors.DockerException as e:
            raise SandboxUnavailable("cannot create a sandbox: %s" % e) from e
        sandbox = None
        try:
            raw = container.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            sock = getattr(raw, "_sock", raw)
            sock.setblocking(True)
            container.start()
            sandbox = cls(client, container, sock, spec, 0)
            line = sandbox.stream.next_line(time.monotonic() + ready_timeout, 65536)
            if line is None or json.loads(line).get("event") != "ready":
                raise SandboxUnavailable("sandbox runner did not start: %s" % bytes(sandbox.stream.stderr[-500:]))
            sandbox.start_ms = (time.monotonic() - t0) * 1000
            return sandbox
        except (docker.errors.DockerException, OSError, ValueError, OverflowError) as e:
            _remove_quietly(container)
            raise SandboxUnavailable("cannot start a sandbox: %s" % e) from e
        except BaseException:
            _remove_quietly(container)
            raise

    def set_memory_limit(self, memory_mb):
        """Fit a warm container to the job's memory limit (memory + swap, so no swap).

        Returns False when Docker refuses; the caller then starts a sandbox
        created with that limit.
        """
        if memory_mb == self.memory_mb:
            return True
        mem = "%dm" % memory_mb
        try:
            # runc orders the memory and memory+swap writes itself.
            self.container.update(mem_limit=mem, memswap_limit=mem)
        except docker.errors.DockerException as e:
            # Typically: the limit is below what the idle sandbox already uses.
            log.info("cannot fit a warm sandbox to %d MB: %s", memory_mb, e)
            return False
        self.memory_mb = memory_mb
        return True

    def run(self, request, deadline, max_message_bytes, tick=None):
        """Send the job; collect records until done, the deadline, or the container's end."""
        outcome = Outcome()
        data = (json.dumps(request, ensure_ascii=True) + "\n").encode("ascii")
        try:
            self.sock.sendall(data)
        except OSError:
            outcome.failure = "exited"
            self._finish_failed(outcome)
            return outcome
        while True:
            try:
                line = self.stream.next_line(deadline, max_message_bytes, tick)
            except OverflowError:
                outcome.failure = "protocol"
                break
            if line is None:
                outcome.failure = "deadline" if not self.stream.eof else "exited"
                break
            try:
                message = json.loads(line)
                event = message.get("event")
            except (ValueError, AttributeError):
                outcome.failure = "protocol"
                break
            if event == "test":
                if message.get("index") == len(outcome.records):
                    outcome.records.append(message)
            elif event == "accepted":
                outcome.accepted = True
            elif event == "compile_error":
                outcome.compile_error = str(message.get("message", ""))
                outcome.done = True
                return outcome
            elif event == "done":
                outcome.done = True
                return outcome
        self._finish_failed(outcome)
        return outcome

    def _finish_failed(self, outcome):
        """Kill at the deadline, then ask Docker how the container ended."""
        try:
            if outcome.failure == "deadline":
                self.container.kill()
            self.container.wait(timeout=5)
            self.container.reload()
            state = self.container.attrs.get("State", {})
            outcome.exit_code = state.get("ExitCode")
            if state.get("OOMKilled") and outcome.failure != "deadline":
                outcome.failure = "oom"
        except Exception as e:  # the verdict stands; the container is removed anyway
            log.warning("cannot inspect a failed sandbox: %s", e)
        outcome.stderr = bytes(self.stream.stderr).decode("utf-8", "replace")

    def destroy(self):
        try:
            self.sock.close()
        except OSError:
            pass
        _remove_quietly(self.container)


def _remove_quietly(container):
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as e:
        if e.status_code != 409:  # 409: a removal is already in progress
            log.warning("cannot remove sandbox %s: %s", getattr(container, "short_id", "?"), e)
    except Exception as e:
        log.warning("cannot remove sandbox %s: %s", getattr(container, "short_id", "?"), e)


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
