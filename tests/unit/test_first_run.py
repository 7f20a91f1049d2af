"""The friendly first run, piece by piece: log format by terminal, the development key, and
`execd config --check`'s cross-value checks."""
import io
import json
import logging
import os
import stat

import pytest

from execd import devmode, logsetup
from execd.config import check_settings, load_settings


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("stream,fmt,expected", [
    (Terminal(), "auto", "text"), (io.StringIO(), "auto", "json"), (Terminal(), "json", "json"),
    (io.StringIO(), "text", "text")])
def test_auto_is_text_on_a_terminal_and_json_otherwise(stream, fmt, expected):
    assert logsetup.resolve_format(fmt, stream) == expected


def test_text_logs_keep_the_extra_fields():
    stream = Terminal()
    logsetup.setup_logging("info", role="supervisor", stream=stream)
    try:
        logging.getLogger("execd").info("execd running", extra={"workers": 2, "port": 3003})
    finally:
        logsetup.setup_logging("info", stream=io.StringIO())
    line = stream.getvalue().strip()
    assert "INFO" in line and "supervisor" in line and line.endswith("execd running  workers=2 port=3003")
    with pytest.raises(ValueError):
        json.loads(line)


def test_a_dev_key_is_made_once_private_and_reused(tmp_path):
    path = tmp_path / ".execd" / "dev-api-key"
    key = devmode.dev_key(str(path))
    assert key.startswith("dev-") and len(key) > 20
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert devmode.dev_key(str(path)) == key
    assert key in devmode.banner(3003, key, str(path))


def test_credentials_count_from_keys_file_or_jwt(tmp_path):
    assert not devmode.has_credentials(load_settings(None, environ={}))
    assert devmode.has_credentials(load_settings(None, environ={"JWT_SECRET": "x" * 32}))
    keys = tmp_path / "keys"
    keys.write_text("# ops\nk1\n")
    assert devmode.has_credentials(load_settings(None, environ={"API_KEYS_FILE": str(keys)}))


def test_config_check_finds_what_loading_cannot():
    problems, warnings = check_settings(load_settings(None, environ={"POOL_SIZES": "cobol=1"}))
    assert problems and "cobol" in problems[0]
    assert any("no API keys" in w for w in warnings)
    problems, warnings = check_settings(load_settings(None, environ={"API_KEYS_FILE": "/nonexistent/keys"}))
    assert problems and "cannot be read" in problems[0]
    problems, warnings = check_settings(load_settings(None, environ={"EXECD_API_KEYS": "k"}))
    assert problems == [] and warnings == []


def test_execd_config_check_exit_codes(monkeypatch, capsys):
    from execd import cli

    monkeypatch.setenv("EXECD_CONFIG", os.devnull)
    monkeypatch.setenv("EXECD_API_KEYS", "k")
    assert cli.main(["config", "--check"]) == cli.EXIT_OK
    assert "configuration OK" in capsys.readouterr().out
    monkeypatch.setenv("POOL_SIZES", "cobol=1")
    assert cli.main(["config", "--check"]) == cli.EXIT_CONFIG
    assert "error: pool_sizes names cobol" in capsys.readouterr().out
    monkeypatch.setenv("MAX_MEMORY", "lots")
    assert cli.main(["config", "--check"]) == cli.EXIT_CONFIG
