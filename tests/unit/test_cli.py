import json

import pytest

from execd import cli


def test_build_job_from_options(tmp_path):
    tests = tmp_path / "t.json"
    tests.write_text(json.dumps([{"input": "1", "expectedOutput": "2"}]))
    args = cli.make_parser().parse_args(["run", "--language", "py", "--code", "x", "--tests", str(tests),
                                         "--time-limit-ms", "500", "--mode", "stdio"])
    assert cli.build_job(args) == {"language": "py", "code": "x", "testCases": [{"input": "1", "expectedOutput": "2"}],
                                   "mode": "stdio", "timeLimitMs": 500}


def test_run_needs_a_job_or_the_parts():
    args = cli.make_parser().parse_args(["run", "--language", "py"])
    with pytest.raises(SystemExit):
        cli.build_job(args)


def test_bad_config_exits_before_anything_starts(capsys, monkeypatch):
    monkeypatch.setenv("MAX_MEMORY", "huge")
    assert cli.main(["config"]) == cli.EXIT_CONFIG
    assert "MAX_MEMORY" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert "execd 0." in capsys.readouterr().out
