"""The container options are the security model: pin every one of them."""
from execd.sandbox import SandboxSpec, container_options


def test_container_is_locked_down():
    o = container_options(SandboxSpec(language="python", image="img", memory_mb=128, runtime="runc"))
    assert o["network_mode"] == "none"
    assert o["read_only"] is True
    assert o["user"] == "10001:10001"
    assert o["cap_drop"] == ["ALL"]
    assert o["security_opt"] == ["no-new-privileges"]
    assert o["mem_limit"] == o["memswap_limit"] == "128m"
    assert o["pids_limit"] == 64 and o["nano_cpus"] == 1_000_000_000
    assert set(o["tmpfs"]) == {"/tmp"} and "noexec" in o["tmpfs"]["/tmp"]
    assert o["environment"] == {}
    assert o["runtime"] == "runc"
    assert o["command"] == ["1", "0"] and o.get("cap_add") is None
    # The runner must be PID 1 itself: that is what keeps the report channel
    # and the runner's signals out of the submission's reach.
    assert o["init"] is False
    assert o["stop_signal"] == "SIGKILL"
    assert "volumes" not in o and "mounts" not in o and "privileged" not in o
    assert {u["Name"] for u in o["ulimits"]} == {"nofile", "fsize", "core"}
    assert o["labels"]["execd.managed"] == "1"


def test_default_runtime_is_left_to_docker():
    assert "runtime" not in container_options(SandboxSpec(language="js", image="i", memory_mb=64))


def test_on_gvisor_the_runner_is_the_sandbox_kernels_root_and_limits_processes_inside():
    o = container_options(SandboxSpec(language="python", image="img", memory_mb=128, runtime="runsc"))
    assert o["runtime"] == "runsc"
    # Root of gVisor's own kernel, so a plain uid boundary guards PID 1; just
    # the capabilities to drop each submission process to 10001 and clean up.
    assert o["user"] == "0:0"
    assert o["cap_drop"] == ["ALL"] and set(o["cap_add"]) == {"SETUID", "SETGID", "KILL", "DAC_OVERRIDE", "FOWNER"}
    assert o["security_opt"] == ["no-new-privileges"]
    # The process limit moves inside (RLIMIT_NPROC, argv); the cgroup keeps a backstop.
    assert o["command"] == ["1", "64"] and o["pids_limit"] > 64
    assert o["network_mode"] == "none" and o["read_only"] is True


class _DeadContainer:
    def __init__(self, **state):
        self.attrs = {"State": state}

    def wait(self, timeout=None):
        return {"StatusCode": self.attrs["State"].get("ExitCode")}

    def reload(self):
        pass


def test_a_sandbox_killed_before_ready_died_of_its_memory_limit():
    from execd.sandbox import _killed_before_ready

    assert _killed_before_ready(_DeadContainer(OOMKilled=True, ExitCode=137))
    # gVisor: the kernel's kill arrives without Docker's flag.
    assert _killed_before_ready(_DeadContainer(OOMKilled=False, ExitCode=137))
    assert not _killed_before_ready(_DeadContainer(OOMKilled=False, ExitCode=1))
