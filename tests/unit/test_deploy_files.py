"""Deployment files: kustomize renders validated against the Kubernetes schemas
offline, the HPA numbers, compose structure, and the systemd unit."""
import functools
import pathlib
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from tests.conftest import unavailable

ROOT = pathlib.Path(__file__).resolve().parents[2]
K8S_VERSION = "1.32.0"
OVERLAYS = ("base", "keda", "gvisor", "observability")
CLUSTER_SCOPED = {"RuntimeClass"}


def render(overlay):
    return [dict(d) for d in _render(overlay)]


@functools.lru_cache(maxsize=None)
def _render(overlay):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        unavailable("kubectl (for `kubectl kustomize`)")
    out = subprocess.run([kubectl, "kustomize", str(ROOT / "k8s" / overlay)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return tuple(doc for doc in yaml.safe_load_all(out.stdout) if doc)


def by_kind(docs):
    found = {}
    for doc in docs:
        found.setdefault(doc["kind"], []).append(doc)
    return found


# Custom resources have no schema in kubernetes-validate: check what KEDA and
# the Prometheus operator require.
CRD_REQUIRED = {
    "ServiceMonitor": ("monitoring.coreos.com/v1", ["spec.selector", "spec.endpoints"]),
    "PrometheusRule": ("monitoring.coreos.com/v1", ["spec.groups"]),
    "ScaledObject": ("keda.sh/v1alpha1", ["spec.scaleTargetRef.name", "spec.triggers"]),
    "TriggerAuthentication": ("keda.sh/v1alpha1", ["spec.secretTargetRef"]),
}


def dig(doc, dotted):
    for part in dotted.split("."):
        doc = doc[part]
    return doc


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid(overlay):
    docs = render(overlay)
    assert docs
    for doc in docs:
        if doc["kind"] in CRD_REQUIRED:
            api_version, required = CRD_REQUIRED[doc["kind"]]
            assert doc["apiVersion"] == api_version
            for path in required:
                assert dig(doc, path), (doc["kind"], path)
            continue
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        if doc["kind"] not in CLUSTER_SCOPED:
            assert doc["metadata"]["namespace"] == "execd"


def test_base_objects_and_hpa_numbers():
    kinds = by_kind(render("base"))
    assert set(kinds) == {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                          "ServiceMonitor", "NetworkPolicy"}
    hpa = kinds["HorizontalPodAutoscaler"][0]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (5, 30)
    assert hpa["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 60}
    assert hpa["behavior"]["scaleUp"]["policies"] == [{"type": "Percent", "value": 100, "periodSeconds": 15}]
    down = hpa["behavior"]["scaleDown"]
    assert down["stabilizationWindowSeconds"] == 300
    assert down["policies"] == [{"type": "Pods", "value": 2, "periodSeconds": 60}]


def test_deployment_is_hardened_and_drains_in_time():
    deploy = by_kind(render("base"))["Deployment"][0]["spec"]["template"]["spec"]
    config = by_kind(render("base"))["ConfigMap"][0]["data"]
    container = deploy["containers"][0]
    assert deploy["terminationGracePeriodSeconds"] > float(config["GRACEFUL_TIMEOUT"])
    assert deploy["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert deploy["nodeSelector"] and deploy["tolerations"]
    sock = [v for v in deploy["volumes"] if v.get("hostPath")]
    assert sock == [{"name": "docker-sock", "hostPath": {"path": "/var/run/docker.sock", "type": "Socket"}}]


def test_network_policy_allows_only_rabbitmq_and_dns():
    policy = by_kind(render("base"))["NetworkPolicy"][0]["spec"]
    ports = sorted((p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"])
    assert ports == [(53, "TCP"), (53, "UDP"), (5672, "TCP")]


def test_keda_replaces_the_hpa():
    kinds = by_kind(render("keda"))
    assert "HorizontalPodAutoscaler" not in kinds
    scaled = kinds["ScaledObject"][0]["spec"]
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (5, 30)
    assert scaled["triggers"][0]["type"] == "rabbitmq"
    assert scaled["triggers"][0]["metadata"]["queueName"] == "execution_queue"


def test_gvisor_sets_the_runtime():
    kinds = by_kind(render("gvisor"))
    assert kinds["ConfigMap"][0]["data"]["SANDBOX_RUNTIME"] == "runsc"
    runtime_class = kinds["RuntimeClass"][0]
    assert runtime_class["metadata"]["name"] == "gvisor" and runtime_class["handler"] == "runsc"
    pod = kinds["Deployment"][0]["spec"]["template"]["spec"]
    assert pod["nodeSelector"]["execd.io/runtime"] == runtime_class["scheduling"]["nodeSelector"]["execd.io/runtime"]


def test_compose_structure():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"rabbitmq", "execd"}
    execd = services["execd"]
    assert "/var/run/docker.sock:/var/run/docker.sock:ro" in execd["volumes"]
    assert execd["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    assert "3003:3003" in execd["ports"]
    assert execd["environment"]["AMQP_URL"].startswith("amqp://")
    assert services["rabbitmq"]["healthcheck"]


def test_compose_broker_is_local_and_needs_credentials():
    text = (ROOT / "docker-compose.yml").read_text()
    services = yaml.safe_load(text)["services"]
    broker = services["rabbitmq"]
    # Published on the host's loopback only: "127.0.0.1:<host>:<container>".
    assert broker["ports"] and all(str(p).startswith("127.0.0.1:") for p in broker["ports"])
    assert "127.0.0.1:5672:5672" in broker["ports"]
    # Credentials come from the environment, required (`:?`), never the guest default.
    assert "guest" not in text
    env = broker["environment"]
    assert env["RABBITMQ_DEFAULT_USER"].startswith("${RABBITMQ_DEFAULT_USER:?")
    assert env["RABBITMQ_DEFAULT_PASS"].startswith("${RABBITMQ_DEFAULT_PASS:?")
    url = services["execd"]["environment"]["AMQP_URL"]
    assert url.startswith("amqp://${RABBITMQ_DEFAULT_USER:?") and ":${RABBITMQ_DEFAULT_PASS:?" in url
    assert url.endswith("@rabbitmq:5672/%2F")


def unit_directives():
    directives = {}
    for line in (ROOT / "systemd" / "execd.service").read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            directives.setdefault(key.strip(), []).append(value.strip())
    return directives


def test_systemd_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        unavailable("systemd-analyze")
    execd = shutil.which("execd")
    assert execd, "the execd package is not installed"
    unit = tmp_path / "execd.service"
    unit.write_text((ROOT / "systemd" / "execd.service").read_text().replace("/opt/execd/bin/execd", execd))
    out = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    d = unit_directives()
    assert d["Type"] == ["notify"] and d["KillMode"] == ["mixed"] and d["KillSignal"] == ["SIGTERM"]
    assert d["Restart"] == ["on-failure"] and d["ExecReload"]
    assert float(d["TimeoutStopSec"][0]) > 75  # GRACEFUL_TIMEOUT default
    assert d["RuntimeDirectory"] == ["execd"]
