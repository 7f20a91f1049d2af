"""A newcomer's first run, as the README tells it: `make serve` (execd serve --dev) with no
credentials, then the README's curl line from a second terminal, must give a `pass`. Without
--dev nothing is generated and /api/* stays closed."""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import pika
import pytest

from tests.conftest import ROOT, contract_result
from tests.integration.test_daemon import free_port

pytestmark = pytest.mark.docker


def readme_curl_line():
    text = (ROOT / "README.md").read_text("utf-8")
    section = text[text.index("### The first request"):]
    return re.search(r"^curl .*\$\(cat \.execd/dev-api-key\).*$", section, re.MULTILINE).group(0)


class FirstRun:
    def __init__(self, cwd, *args):
        self.port = free_port()
        tag = os.urandom(4).hex()
        self.queues = ("first-run-jobs-" + tag, "first-run-results-" + tag)
        env = {k: v for k, v in os.environ.items()
               if k not in ("EXECD_API_KEYS", "API_KEYS_FILE", "JWT_SECRET", "EXECD_AUTH", "EXECD_CONFIG")}
        env.update(PORT=str(self.port), WORKERS="1", EXECUTION_QUEUE=self.queues[0], RESULT_QUEUE=self.queues[1],
                   POOL_SIZES="python=1,javascript=0", INSTANCE_NAME="first-run-" + tag,
                   PROMETHEUS_MULTIPROC_DIR=str(cwd / "metrics"), PYTHONPATH=str(ROOT))
        self.log_path = cwd / "serve.log"
        self.err_path = cwd / "serve.err"
        self.proc = subprocess.Popen([sys.executable, "-m", "execd", "serve", *args], cwd=cwd, env=env,
                                     stdout=open(self.log_path, "wb"), stderr=open(self.err_path, "wb"),
                                     start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.err_path.read_text() + self.log_path.read_text()
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/health" % self.port, timeout=5) as r:
                    if json.load(r)["workers"]["ready"] == 1:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError("not ready: " + self.log_path.read_text()[-2000:])

    def stop(self, broker):
        self.proc.terminate()
        assert self.proc.wait(90) == 0, self.log_path.read_text()[-2000:]
        conn = pika.BlockingConnection(pika.URLParameters(broker))
        for q in self.queues + (self.queues[0] + ".dead",):
            conn.channel().queue_delete(q)
        conn.close()


def test_make_serve_then_the_readme_curl_line_gives_a_pass(tmp_path, broker, docker_client):
    run = FirstRun(tmp_path, "--dev")
    try:
        key = (tmp_path / ".execd" / "dev-api-key").read_text().strip()
        assert oct((tmp_path / ".execd" / "dev-api-key").stat().st_mode & 0o777) == "0o600"
        banner = run.err_path.read_text()
        assert key in banner and "curl" in banner and "/api/execute" in banner, banner
        line = readme_curl_line().replace("127.0.0.1:3003", "127.0.0.1:%d" % run.port)
        done = subprocess.run(["bash", "-c", line], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        result = contract_result(json.loads(done.stdout))
        assert result["status"] == "completed" and result["verdict"] == "pass", result
        # A terminal-less run logs JSON.
        first = run.log_path.read_text().splitlines()[0]
        assert json.loads(first)["service"] == "execd"
    finally:
        run.stop(broker)


def test_without_dev_nothing_is_generated_and_the_api_stays_closed(tmp_path, broker, docker_client):
    run = FirstRun(tmp_path)
    try:
        assert not (tmp_path / ".execd").exists()
        req = urllib.request.Request("http://127.0.0.1:%d/api/languages" % run.port)
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 401
        assert "no API keys or JWT secret are configured" in run.log_path.read_text()
    finally:
        run.stop(broker)
