"""The Docker host's own configuration: registering a sandbox runtime (gVisor's runsc) with dockerd.

Merges into an existing /etc/docker/daemon.json (never overwrites what an
operator put there), writes it atomically, and reloads dockerd with SIGHUP,
which applies `runtimes` without stopping a container. Used by
`execd runtime register` and by `.ci/provision`.
"""
import json
import os
import signal
import tempfile

from execd.errors import ConfigError

DAEMON_JSON = "/etc/docker/daemon.json"
DOCKER_PID_FILE = "/var/run/docker.pid"
# Sandboxes never have a network; runsc refuses to start with one enabled in
# the root network namespace unless told there is none.
RUNSC_ARGS = ("--network=none",)


def merged(config, name, path, args):
    """`config` with runtime `name` -> (path, args) in it, and whether that changed anything."""
    if not isinstance(config, dict):
        raise ConfigError("daemon.json does not hold a JSON object")
    runtimes = config.get("runtimes", {})
    if not isinstance(runtimes, dict):
        raise ConfigError("daemon.json's \"runtimes\" is not a JSON object")
    want = {"path": path, "runtimeArgs": list(args)}
    if runtimes.get(name) == want:
        return config, False
    result = dict(config)
    result["runtimes"] = dict(runtimes, **{name: want})
    return result, True


def register_runtime(name, path, args=RUNSC_ARGS, daemon_json=DAEMON_JSON):
    """Add or update runtime `name` in daemon.json; True when the file changed."""
    try:
        with open(daemon_json, encoding="utf-8") as f:
            text = f.read()
        config = json.loads(text) if text.strip() else {}
    except FileNotFoundError:
        config = {}
    except ValueError as e:
        raise ConfigError("%s is not valid JSON (%s); fix it first, execd will not overwrite it" % (daemon_json, e))
    config, changed = merged(config, name, path, args)
    if not changed:
        return False
    directory = os.path.dirname(daemon_json) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".daemon.json.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, daemon_json)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def reload_dockerd(pid_file=DOCKER_PID_FILE):
    """SIGHUP dockerd so it rereads daemon.json; False when no dockerd runs here."""
    try:
        with open(pid_file) as f:
            pid = int(f.read().strip())
        os.kill(pid, signal.SIGHUP)
        return True
    except (OSError, ValueError):
        return False
