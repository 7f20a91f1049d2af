"""Shared fixtures. Integration fixtures probe the real Docker engine and
RabbitMQ: absent, they fail (locally and in CI alike), since a skipped
integration test proves nothing and `make test` provisions Docker itself."""
import json
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFORMANCE = ROOT.parent / "shared" / "spec" / "examples" / "conformance.jsonl"
def unavailable(what):
    pytest.fail("%s is required but unavailable (run `make test`, which provisions it)" % what, pytrace=False)


def contract_result(result):
    """`result` itself, once it is valid against execd's result.schema.json; else the test
    fails, naming the violation. Every result a test gets from execd goes through here."""
    import jsonschema

    from execd import schemas

    try:
        schemas.validate_result(result)
    except jsonschema.ValidationError as e:
        pytest.fail("a result breaks result.schema.json at %s: %s\n%s"
                    % (e.json_path, e.message, json.dumps(result)[:3000]), pytrace=False)
    return result


def load_conformance():
    if not CONFORMANCE.exists():
        return [None]
    return [json.loads(line) for line in CONFORMANCE.read_text("utf-8").splitlines() if line.strip()]


def pytest_addoption(parser):
    parser.addoption("--sandbox-runtime", default="",
                     help="the Docker runtime the engine suites run under (e.g. runsc); default: Docker's")


@pytest.fixture(scope="session")
def sandbox_runtime(request):
    return request.config.getoption("--sandbox-runtime")


@pytest.fixture(scope="session")
def settings(sandbox_runtime):
    from execd.config import load_settings

    # Defaults as the contract assumes them, whatever the developer's environment says.
    return load_settings(None, environ={"SANDBOX_RUNTIME": sandbox_runtime} if sandbox_runtime else {})


@pytest.fixture(scope="session")
def own_kernel(sandbox_runtime):
    """Whether sandboxes of this runtime have a kernel of their own (gVisor), not the host's."""
    from execd.sandbox import own_kernel as runtime_has_own_kernel

    return runtime_has_own_kernel(sandbox_runtime)


@pytest.fixture(scope="session")
def reuse_verifiable(own_kernel):
    """Whether sandboxes of this runtime can verify a reset and so serve more than one job
    (gVisor's kernel hides SysV and POSIX IPC objects from the runner)."""
    return not own_kernel


@pytest.fixture(scope="session")
def docker_client(settings):
    from execd import images
    from execd.errors import ExecdError
    from execd.executor import docker_client as make_client

    try:
        client = make_client(settings)
    except ExecdError as e:
        unavailable("the Docker engine (%s)" % e.message)
    missing = images.missing_images(client, settings.image_prefix)
    if missing:
        unavailable("sandbox images %s (run `execd images build`)" % sorted(missing.values()))
    # As `execd serve` does at start: a cold page cache makes a first compile thrash in a small limit.
    images.prime_page_cache(client, settings.image_prefix)
    return client


@pytest.fixture(scope="session")
def engine(settings, docker_client):
    from execd.executor import Executor

    executor = Executor(settings, client=docker_client).start()
    execute = executor.execute
    executor.execute = lambda raw, tick=None: contract_result(execute(raw, tick))  # run_job's too
    yield executor
    executor.close()
    leftovers = docker_client.containers.list(
        all=True, filters={"label": "execd.owner-pid=%d" % os.getpid()})
    assert leftovers == [], "sandboxes left behind: %s" % [c.name for c in leftovers]


@pytest.fixture
def run_job(engine):
    return engine.execute


AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


@pytest.fixture(scope="session")
def broker():
    """The real RabbitMQ's URL, once it answered."""
    import pika

    try:
        pika.BlockingConnection(pika.URLParameters(AMQP_URL)).close()
    except Exception as e:
        unavailable("RabbitMQ at 127.0.0.1:5672 (%r)" % e)
    return AMQP_URL
