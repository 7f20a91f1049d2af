"""The service image: built from the repo's Dockerfile, run with the host's
Docker socket mounted (as the original deployment does) against the local
RabbitMQ; one job over AMQP and one over HTTP."""
import json
import os
import pathlib
import subprocess
import time
import urllib.request
import uuid

import pytest

from tests.conftest import contract_result
from tests.integration.test_daemon import TRIVIAL, Broker, free_port

pytestmark = [pytest.mark.docker, pytest.mark.slow]
ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def service_image(docker_client):
    out = subprocess.run(["make", "image", "IMAGE=execd-service-test:latest"], cwd=ROOT, capture_output=True,
                         text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return "execd-service-test:latest"


def test_service_image_runs_jobs(service_image, docker_client, broker):
    tag = uuid.uuid4().hex[:8]
    port = free_port()
    key = "img-" + tag
    jobs_q, results_q = "img-jobs-" + tag, "img-results-" + tag
    sock_gid = os.stat("/var/run/docker.sock").st_gid
    container = docker_client.containers.run(
        service_image, detach=True, network_mode="host", group_add=[str(sock_gid)],
        volumes={"/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "ro"}},
        environment={"PORT": str(port), "WORKERS": "1", "EXECUTION_QUEUE": jobs_q, "RESULT_QUEUE": results_q,
                     "EXECD_API_KEYS": key, "INSTANCE_NAME": "img-" + tag, "POOL_SIZES": "python=1,javascript=1",
                     "AMQP_URL": broker},
        labels={"execd.test": "service-image"})
    try:
        deadline = time.monotonic() + 90
        health = None
        while time.monotonic() < deadline:
            container.reload()
            assert container.status in ("created", "running"), container.logs()[-3000:]
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=2) as r:
                    health = json.loads(r.read())
                    if health["workers"]["ready"] == 1:
                        break
            except OSError:
                pass
            time.sleep(0.5)
        assert health and health["workers"]["ready"] == 1, (health, container.logs()[-3000:])
        assert container.attrs["Config"]["User"] == "10100:10100"

        req = urllib.request.Request("http://127.0.0.1:%d/api/execute" % port, data=json.dumps(TRIVIAL).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer " + key})
        with urllib.request.urlopen(req, timeout=60) as r:
            assert contract_result(json.loads(r.read()))["verdict"] == "pass"

        b = Broker(broker)
        try:
            reply = b.reply_queue()
            b.publish(jobs_q, dict(TRIVIAL, id="image-1"), reply_to=reply, correlation_id="image-1")
            [(props, result)] = b.collect(reply, 1, timeout=60)
            assert result["id"] == "image-1" and result["verdict"] == "pass"
        finally:
            for q in (jobs_q, results_q, jobs_q + ".dead"):
                b.ch.queue_delete(q)
            b.close()

        container.stop(timeout=90)
        assert container.wait(timeout=30)["StatusCode"] == 0, container.logs()[-3000:]
        left = docker_client.containers.list(all=True, filters={"label": "execd.instance=img-" + tag})
        assert left == []
    finally:
        container.remove(force=True)


def test_service_image_is_labelled_with_the_version_it_runs(service_image, docker_client):
    from execd import __version__

    image = docker_client.images.get(service_image)
    assert image.labels["org.opencontainers.image.version"] == __version__
    reported = docker_client.containers.run(service_image, ["--version"], remove=True).decode().strip()
    assert reported == "execd " + __version__
