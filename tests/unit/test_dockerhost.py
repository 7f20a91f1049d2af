"""Registering runsc with dockerd: merged into what is there, never overwritten, idempotent."""
import json

import pytest

from execd import dockerhost
from execd.errors import ConfigError


def test_registering_keeps_every_other_setting(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"log-driver": "journald", "runtimes": {"kata": {"path": "/usr/bin/kata"}}}))
    assert dockerhost.register_runtime("runsc", "/usr/bin/runsc", daemon_json=str(path)) is True
    config = json.loads(path.read_text())
    assert config["log-driver"] == "journald"
    assert config["runtimes"]["kata"] == {"path": "/usr/bin/kata"}
    assert config["runtimes"]["runsc"] == {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=none"]}


def test_registering_twice_changes_nothing(tmp_path):
    path = tmp_path / "daemon.json"
    assert dockerhost.register_runtime("runsc", "/usr/bin/runsc", daemon_json=str(path)) is True
    before = path.read_text()
    assert dockerhost.register_runtime("runsc", "/usr/bin/runsc", daemon_json=str(path)) is False
    assert path.read_text() == before


def test_a_changed_path_is_updated(tmp_path):
    path = tmp_path / "daemon.json"
    dockerhost.register_runtime("runsc", "/old/runsc", daemon_json=str(path))
    assert dockerhost.register_runtime("runsc", "/usr/bin/runsc", daemon_json=str(path)) is True
    assert json.loads(path.read_text())["runtimes"]["runsc"]["path"] == "/usr/bin/runsc"


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"runtimes": []}'])
def test_a_file_it_cannot_merge_into_is_left_alone(tmp_path, text):
    path = tmp_path / "daemon.json"
    path.write_text(text)
    with pytest.raises(ConfigError):
        dockerhost.register_runtime("runsc", "/usr/bin/runsc", daemon_json=str(path))
    assert path.read_text() == text


def test_reload_without_dockerd_says_so(tmp_path):
    assert dockerhost.reload_dockerd(str(tmp_path / "missing.pid")) is False
