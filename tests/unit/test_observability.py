"""The Grafana dashboard and the alerting rules in k8s/observability: every
metric they name is one /metrics exports (with the labels they select on),
every exported metric has a panel, and promtool accepts the rules and the
dashboard's queries and fires each alert on the series it is meant for."""
import functools
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.conftest import unavailable
from tests.unit.test_deploy_files import by_kind, render

ROOT = pathlib.Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "k8s" / "observability"
DASHBOARD = OBSERVABILITY / "grafana-dashboard.json"
RULES = OBSERVABILITY / "prometheusrule.yaml"
REQUIRED_ALERTS = {"ExecdNoLiveWorkers", "ExecdErrorVerdictRate", "ExecdQueueWaitHigh", "ExecdNoWarmSandbox",
                   "ExecdHttp5xx"}

# Runs in a fresh interpreter: prometheus_client picks its multiprocess value
# class at first import, as in `execd serve`. One sample of every metric makes
# every series appear in the scrape.
EXPORT_SCRIPT = r"""
import json
from execd import metrics
metrics.prepare_dir()
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

record = {"counter": lambda c: c.inc(), "gauge": lambda c: c.set(1), "histogram": lambda c: c.observe(1)}
m = metrics.Metrics()
for metric in vars(m).values():
    if isinstance(metric, MetricWrapperBase):
        record[metric._type](metric.labels(*["x"] * len(metric._labelnames)) if metric._labelnames else metric)
body, _ = metrics.scrape()
families = {}
for family in text_string_to_metric_families(body.decode()):
    samples = families.setdefault(family.name, {})
    for sample in family.samples:
        samples.setdefault(sample.name, set()).update(sample.labels)
print(json.dumps({f: {s: sorted(labels) for s, labels in samples.items()} for f, samples in families.items()}))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{family: {sample name: [label names]}} as /metrics serves them."""
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path_factory.mktemp("metrics")),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-c", EXPORT_SCRIPT], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    families = json.loads(out.stdout)
    assert families and all(name.startswith("execd_") for name in families)
    return families


def sample_labels(families):
    """{sample name: label names}: a histogram's _bucket/_sum/_count are samples of
    their family, so a suffix is valid exactly where the exposition has it."""
    return {sample: set(labels) for samples in families.values() for sample, labels in samples.items()}


# --- PromQL: the names and label matchers an expression uses -----------------

STRING = re.compile(r'"(?:[^"\\]|\\.)*"' + r"|'(?:[^'\\]|\\.)*'")
METRIC = re.compile(r"(?<![A-Za-z0-9_:])execd_[A-Za-z0-9_:]*")
SELECTOR = re.compile(r"(?<![A-Za-z0-9_:])(execd_[A-Za-z0-9_:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")


def metric_names(expr):
    """execd_* metric names in expr, outside string literals (label values)."""
    return set(METRIC.findall(STRING.sub('""', expr)))


def selector_labels(expr):
    """{(metric, label)} of every label matcher in a metric's selector."""
    return {(name, label) for name, body in SELECTOR.findall(expr) for label in MATCHER.findall(STRING.sub('""', body))}


def problems(exprs, samples):
    """What the expressions name that /metrics does not export."""
    found = []
    for expr in exprs:
        found += ["%s (in %s)" % (name, expr) for name in sorted(metric_names(expr) - set(samples))]
        found += ["%s{%s} (in %s)" % (name, label, expr) for name, label in sorted(selector_labels(expr))
                  if name in samples and label not in samples[name]]
    return found


# --- the files ----------------------------------------------------------------

def dashboard():
    return json.loads(DASHBOARD.read_text())


def panels(container):
    """Every panel, rows' nested ones too."""
    for panel in container.get("panels", []):
        yield panel
        yield from panels(panel)


def dashboard_exprs():
    return [t["expr"] for p in panels(dashboard()) for t in p.get("targets", [])]


@functools.lru_cache(maxsize=None)
def prometheus_rule():
    return yaml.safe_load(RULES.read_text())


def rules():
    return [rule for group in prometheus_rule()["spec"]["groups"] for rule in group["rules"]]


def alerts():
    return {rule["alert"]: rule for rule in rules() if "alert" in rule}


def promtool():
    path = shutil.which("promtool")
    if path is None:
        unavailable("promtool (Debian's prometheus package)")
    return path


def run_promtool(*args, cwd=None):
    out = subprocess.run([promtool(), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def write_rules_file(path):
    """The PrometheusRule's spec is a plain rules file: the one source of truth."""
    path.write_text(yaml.safe_dump(prometheus_rule()["spec"], sort_keys=False))
    return path


# --- the checks -----------------------------------------------------------------

def test_extractor_reports_what_is_not_exported():
    samples = {"execd_jobs_total": {"language", "verdict", "source"},
               "execd_queue_wait_seconds_bucket": {"le"}, "execd_live_workers": set()}
    good = ['sum by (verdict) (rate(execd_jobs_total{verdict="execd_not_a_metric"}[5m]))',
            "histogram_quantile(0.95, sum by (le) (rate(execd_queue_wait_seconds_bucket[5m])))",
            "sum(execd_live_workers)"]
    assert problems(good, samples) == []
    assert metric_names(good[0]) == {"execd_jobs_total"}
    bogus = {"rate(execd_jobs_totl[5m])": "execd_jobs_totl",
             "sum(execd_live_workers_count)": "execd_live_workers_count",  # a gauge has no _count
             "rate(execd_queue_wait_bucket[5m])": "execd_queue_wait_bucket",
             'rate(execd_jobs_total{verdikt="pass"}[5m])': "execd_jobs_total{verdikt}"}
    for expr, reported in bogus.items():
        found = problems([expr], samples)
        assert len(found) == 1 and found[0].startswith(reported + " "), (expr, found)


def test_every_metric_in_a_panel_or_rule_is_exported(exported):
    exprs = dashboard_exprs() + [rule["expr"] for rule in rules()]
    assert exprs
    assert problems(exprs, sample_labels(exported)) == []


def test_every_exported_metric_has_a_panel(exported):
    used = set().union(*map(metric_names, dashboard_exprs()))
    missing = [family for family, samples in exported.items() if not used & set(samples)]
    assert missing == []


def test_histograms_show_their_quantiles(exported):
    exprs = dashboard_exprs()
    for family, samples in exported.items():
        if family + "_bucket" not in samples:
            continue
        for q in ("0.5", "0.95", "0.99"):
            quantile = re.compile(r"histogram_quantile\(%s, sum by \(le\) \(rate\(%s_bucket\[5m\]\)\)\)"
                                  % (re.escape(q), family))
            assert any(quantile.fullmatch(e) for e in exprs), (family, q)


def test_dashboard_is_grafana_39_on_a_datasource_variable():
    board = dashboard()
    assert board["schemaVersion"] == 39 and board["uid"] and board["title"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in panels(board)]
    assert len(ids) == len(set(ids))
    for panel in panels(board):
        if panel["type"] == "row":
            continue
        assert panel["title"] and panel["targets"], panel.get("title")
        for source in [panel["datasource"]] + [t["datasource"] for t in panel["targets"]]:
            assert source == {"type": "prometheus", "uid": "$datasource"}, panel["title"]


def test_dashboard_queries_parse(tmp_path):
    """promtool parses each panel query, as recording rules of a throwaway file."""
    recording = [{"record": "dashboard:query_%d" % i, "expr": expr} for i, expr in enumerate(dashboard_exprs())]
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": recording}]}))
    run_promtool("check", "rules", path)


def test_rules_name_the_required_alerts_with_severity_and_runbook():
    found = alerts()
    assert REQUIRED_ALERTS <= set(found)
    for name, rule in found.items():
        assert re.fullmatch(r"[1-9][0-9]*m", rule["for"]), name
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert rule["annotations"]["summary"], name
        assert "Runbook:" in rule["annotations"]["description"], name


def test_promtool_checks_the_rules(tmp_path):
    out = run_promtool("check", "rules", write_rules_file(tmp_path / "rules.yaml"))
    assert "SUCCESS: %d rules found" % len(rules()) in out


def test_kustomize_ships_the_dashboard_and_the_rule():
    kinds = by_kind(render("observability"))
    assert set(kinds) == {"ConfigMap", "PrometheusRule"}
    config_map = kinds["ConfigMap"][0]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["execd.json"]) == dashboard()
    assert kinds["PrometheusRule"][0]["spec"] == prometheus_rule()["spec"]


# --- the alerts fire on the series they are for, and only those ---------------

def series(name, values, **labels):
    return {"series": "%s{%s}" % (name, ",".join('%s="%s"' % kv for kv in sorted(labels.items()))),
            "values": values}


def firing(alert, **labels):
    """The alert as promtool reports it: its labels and its rendered annotations."""
    rule = alerts()[alert]
    labels = dict(rule["labels"], **labels)

    def label(match):
        assert match.group(1) in labels, "%s's annotations name a label it does not have: %s" % (alert, match[0])
        return labels[match.group(1)]

    def fill(text):
        text = re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", label, text)
        assert "{{" not in text, "annotations may use only {{ $labels.<name> }}: %s" % text
        return text

    return {"exp_labels": labels, "exp_annotations": {k: fill(v) for k, v in rule["annotations"].items()}}


def bucket_series(name, counts, **labels):
    """Cumulative bucket counters growing each minute by counts {le: n}."""
    return [series(name + "_bucket", "0+%dx20" % n, le=le, **labels) for le, n in counts.items()]


# Namespace "execd" is unhealthy, "ok" is healthy; pod a is broken, pod b not.
UNHEALTHY_AND_HEALTHY = (
    [series("execd_live_workers", "0x20", namespace="execd", pod="a"),
     series("execd_live_workers", "4x20", namespace="execd", pod="b"),
     series("execd_warm_pool_size", "0x20", namespace="execd", pod="a", language="python"),
     series("execd_warm_pool_size", "0x20", namespace="execd", pod="a", language="javascript"),
     series("execd_warm_pool_size", "2x20", namespace="execd", pod="b", language="python"),
     series("execd_warm_pool_size", "0x20", namespace="execd", pod="b", language="javascript"),
     # 10 internal errors in 110 jobs a minute; in "ok", compile errors are the submitter's.
     series("execd_jobs_total", "0+100x20", namespace="execd", language="python", verdict="pass", source="amqp"),
     series("execd_jobs_total", "0+10x20", namespace="execd", language="python", verdict="internal_error",
            source="amqp"),
     series("execd_jobs_total", "0+100x20", namespace="ok", language="python", verdict="pass", source="amqp"),
     series("execd_jobs_total", "0+50x20", namespace="ok", language="python", verdict="compile_error",
            source="amqp"),
     series("execd_jobs_total", "0+1x20", namespace="ok", language="python", verdict="sandbox_unavailable",
            source="http"),
     # 20 of 120 API requests a minute are 503; in "ok" only /health is.
     series("execd_http_requests_total", "0+100x20", namespace="execd", route="/api/execute", status="200"),
     series("execd_http_requests_total", "0+20x20", namespace="execd", route="/api/execute", status="503"),
     series("execd_http_requests_total", "0+100x20", namespace="ok", route="/api/execute", status="200"),
     series("execd_http_requests_total", "0+100x20", namespace="ok", route="/health", status="503")]
    # Every job waits 10-30 s in "execd", under 1 s in "ok".
    + bucket_series("execd_queue_wait_seconds", {"1": 0, "10": 0, "30": 10, "+Inf": 10}, namespace="execd")
    + bucket_series("execd_queue_wait_seconds", {"1": 10, "10": 10, "30": 10, "+Inf": 10}, namespace="ok"))


def rule_tests():
    late = {"ExecdNoLiveWorkers": [firing("ExecdNoLiveWorkers", namespace="execd", pod="a")],
            "ExecdMetricsAbsent": [],
            "ExecdErrorVerdictRate": [firing("ExecdErrorVerdictRate", namespace="execd")],
            "ExecdQueueWaitHigh": [firing("ExecdQueueWaitHigh", namespace="execd")],
            "ExecdNoWarmSandbox": [firing("ExecdNoWarmSandbox", namespace="execd", pod="a")],
            "ExecdHttp5xx": [firing("ExecdHttp5xx", namespace="execd")]}
    assert set(late) == set(alerts()), "every alert needs a case here"
    return [
        {"interval": "1m", "input_series": UNHEALTHY_AND_HEALTHY,
         "alert_rule_test": [{"eval_time": "4m", "alertname": name, "exp_alerts": []} for name in late]
         + [{"eval_time": "20m", "alertname": name, "exp_alerts": expected} for name, expected in late.items()]},
        # No execd series at all: every pod down or unscraped.
        {"interval": "1m", "input_series": [series("up", "1x20", job="other")],
         "alert_rule_test": [{"eval_time": "5m", "alertname": "ExecdMetricsAbsent", "exp_alerts": []},
                             {"eval_time": "15m", "alertname": "ExecdMetricsAbsent",
                              "exp_alerts": [firing("ExecdMetricsAbsent")]},
                             {"eval_time": "15m", "alertname": "ExecdNoLiveWorkers", "exp_alerts": []}]},
    ]


def test_each_alert_fires_where_meant(tmp_path):
    write_rules_file(tmp_path / "rules.yaml")
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(
        {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": rule_tests()}, sort_keys=False))
    run_promtool("test", "rules", "tests.yaml", cwd=tmp_path)
