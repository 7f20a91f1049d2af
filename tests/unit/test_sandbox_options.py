"""The container options are the security model: pin every one of them."""
from execd.sandbox import SandboxSpec, container_options


def test_container_is_locked_down():
    o = container_options(SandboxSpec(language="python", image="img", memory_mb=128, runtime="runsc"))
    assert o["network_mode"] == "none"
    assert o["read_only"] is True
    assert o["user"] == "10001:10001"
    assert o["cap_drop"] == ["ALL"]
    assert o["security_opt"] == ["no-new-privileges"]
    assert o["mem_limit"] == o["memswap_limit"] == "128m"
    assert o["pids_limit"] == 64 and o["nano_cpus"] == 1_000_000_000
    assert set(o["tmpfs"]) == {"/tmp"} and "noexec" in o["tmpfs"]["/tmp"]
    assert o["environment"] == {}
    assert o["runtime"] == "runsc"
    # The runner must be PID 1 itself: that is what keeps the report channel
    # and the runner's signals out of the submission's reach.
    assert o["init"] is False
    assert o["stop_signal"] == "SIGKILL"
    assert "volumes" not in o and "mounts" not in o and "privileged" not in o
    assert {u["Name"] for u in o["ulimits"]} == {"nofile", "fsize", "core"}
    assert o["labels"]["execd.managed"] == "1"


def test_default_runtime_is_left_to_docker():
    assert "runtime" not in container_options(SandboxSpec(language="js", image="i", memory_mb=64))
