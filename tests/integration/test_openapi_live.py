"""Schemathesis against a live `execd serve` (real RabbitMQ, real Docker): every
operation of the served OpenAPI document, every check; no 5xx, every status,
header, content type and body as documented.

The daemon has a port and queues of its own, so it runs beside any other.
Schemathesis runs as its CLI (all its phases: examples, coverage, fuzzing),
on the document this daemon served: given the document's URL instead, it
would leave out GET /openapi.json, the operation that serves it.
"""
import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from execd import schemas
from tests.integration.test_daemon import API_KEY, Daemon, served

pytestmark = [pytest.mark.docker, pytest.mark.slow]

MAX_EXAMPLES = 40  # per operation and phase: POST /api/execute runs real sandboxes
RUN_TIMEOUT_S = 900

# A job valid against job.schema.json may still be refused with 400: the
# schema leaves out the configured ceilings and the rules of each language
# (its modes, its identifiers, the signature the typed ones need), as the
# contract says. So a schema-valid job may get 200, 400 (with a refusal code:
# the documented 400 body says which) or 503; anything else is a finding.
CONFIG = """\
[[operations]]
include-operation-id = "execute"
checks.positive_data_acceptance.expected-statuses = ["200", "400", "503"]
"""


class LiveDaemon(Daemon):
    """test_daemon's Daemon, on this module's port and queues, with one worker."""

    def __init__(self, tmp_path):
        super().__init__(tmp_path, WORKERS="1")  # a free port and queues of its own, as every test daemon
        self.env.pop("DEAD_LETTER_QUEUE", None)  # derived: <EXECUTION_QUEUE>.dead


@pytest.fixture(scope="module")
def daemon(broker, docker_client, tmp_path_factory):
    yield from served(LiveDaemon(tmp_path_factory.mktemp("openapi-live")), broker, docker_client)


def test_the_daemon_serves_the_document_without_credentials(daemon):
    status, document, headers = daemon.request("GET", "/openapi.json", token=None)
    assert status == 200 and headers.get_content_type() == "application/json"
    assert document == schemas.openapi_document()


def operations(document):
    return {"%s %s" % (method.upper(), path) for path, item in document["paths"].items() for method in item}


def test_schemathesis_finds_nothing(daemon, tmp_path):
    _, document, _ = daemon.request("GET", "/openapi.json", token=None)
    (tmp_path / "openapi.json").write_text(json.dumps(document), "utf-8")
    (tmp_path / "schemathesis.toml").write_text(CONFIG, "utf-8")
    junit = tmp_path / "junit.xml"
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(tmp_path / "schemathesis.toml"),
               "run", str(tmp_path / "openapi.json"), "--url", "http://127.0.0.1:%d" % daemon.port,
               "--checks", "all", "--header", "Authorization: Bearer " + API_KEY,
               "--max-examples", str(MAX_EXAMPLES), "--workers", "1", "--continue-on-failure",
               "--request-timeout", "120", "--report", "junit", "--report-junit-path", str(junit),
               "--no-color"]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    output = run.stdout[-20000:] + run.stderr[-5000:]
    assert run.returncode == 0, output

    cases = ElementTree.parse(junit).getroot().iter("testcase")
    outcomes = {case.get("name"): [child.tag for child in case] for case in cases}
    assert set(outcomes) == operations(document), output  # every operation was tested
    assert {name: tags for name, tags in outcomes.items() if tags} == {}, output
    assert daemon.get("/health")[0] == 200, daemon.tail()
