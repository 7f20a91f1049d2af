"""The Falcon app through falcon.testing with a fake engine and health."""
import time

import falcon.testing
import jwt
import pytest

from execd.config import load_settings
from execd.http.app import Authenticator, create_app
from execd.metrics import ERROR_CODES

SECRET = "s" * 40


class FakeEngine:
    def __init__(self, result=None):
        self.result = result
        self.calls = 0

    def execute(self, raw, tick=None):
        self.calls += 1
        return self.result or {"id": "x", "status": "completed", "verdict": "pass", "results": [], "totalTime": 0}

    def languages(self):
        return [{"name": "python"}]


class FakeHealth:
    draining = False

    def report(self):
        return True, {"status": "ok"}


def client(engine=None, auth=None, **env):
    settings = load_settings(None, environ=dict({"HTTP_MAX_BODY_BYTES": "1000"}, **env))
    app = create_app(settings, engine or FakeEngine(), FakeHealth(), None,
                     auth or Authenticator(["key1"], SECRET))
    return falcon.testing.TestClient(app)


def post(c, body=b'{"language": "python"}', token="key1", **headers):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    h.update(headers)
    return c.simulate_post("/api/execute", body=body, headers=h)


def test_auth_matrix():
    c = client()
    good_jwt = jwt.encode({"exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    old_jwt = jwt.encode({"exp": int(time.time()) - 60}, SECRET, algorithm="HS256")
    assert post(c, token=None).status_code == 401
    assert post(c, token="key2").status_code == 401
    assert post(c, token=old_jwt).json["error"] == {"code": "unauthorized", "message": "token expired"}
    assert post(c, token="key1").status_code == 200
    assert post(c, token=good_jwt).status_code == 200
    assert post(c, token=None, Authorization="Basic a2V5MQ==").status_code == 401
    assert post(c, token=None).headers["WWW-Authenticate"] == 'Bearer realm="execd"'


def test_open_routes_need_no_token():
    assert client().simulate_get("/health").status_code == 200


def test_no_credentials_configured_refuses_unless_disabled():
    assert post(client(auth=Authenticator()), token="anything").status_code == 401
    assert post(client(auth=Authenticator(disabled=True)), token=None).status_code == 200


def test_body_limits_and_types():
    c = client()
    assert post(c, body=b"{" + b" " * 2000 + b"}").status_code == 413
    r = post(c, body=b"a=b", **{"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and r.json["error"]["code"] == "invalid_job"


@pytest.mark.parametrize("code,status", [("invalid_job", 400), ("limit_exceeded", 400),
                                         ("sandbox_unavailable", 503), ("internal_error", 500)])
def test_error_results_map_to_status(code, status):
    engine = FakeEngine({"id": "x", "status": "error", "error": {"code": code, "message": "m"}, "results": []})
    r = post(client(engine))
    assert r.status_code == status and r.json == {"error": {"code": code, "message": "m"}}
    if status == 503:
        assert r.headers["Retry-After"] == "1"


def test_overloaded_when_every_slot_is_busy():
    import threading

    gate = threading.Event()

    class Slow(FakeEngine):
        def execute(self, raw, tick=None):
            gate.wait(5)
            return super().execute(raw)

    c = client(Slow(), HTTP_CONCURRENCY="1")
    t = threading.Thread(target=post, args=(c,))
    t.start()
    time.sleep(0.2)
    r = post(c)
    gate.set()
    t.join()
    assert r.status_code == 503 and r.json["error"]["code"] == "overloaded" and r.headers["Retry-After"]


def test_unknown_route_has_contract_body():
    r = client().simulate_get("/nope", headers={"Authorization": "Bearer key1"})
    assert r.status_code == 404 and "error" in r.json


# -- bad bodies: always 4xx with the contract's body, never 500 ---------------

BAD_BODIES = {
    "deep_array": b"[" * 5000,
    "deep_object": b'{"a":' * 5000,
    "huge_number": b"1e400",
    "nan": b"NaN",
    "nan_in_object": b'{"language": "python", "code": "x", "tests": [], "timeLimitMs": NaN}',
    "invalid_utf8": b'{"language": "\xff\xfe"}',
    "not_an_object": b"[]",
    "a_string": b'"job"',
    "null": b"null",
    "empty": b"",
    "truncated": b'{"language": ',
    "lone_surrogate_string": b'"\\ud800"',
    "lone_surrogate_language": b'{"language": "\\ud800", "code": "x"}',
    "lone_surrogate_id": b'{"id": "\\udc00", "language": "python"}',
    "nul_bytes": b"\x00" * 100,
}


def real_engine_client():
    """The real Executor, never started: bad jobs are refused before any Docker call."""
    from execd.executor import Executor

    settings = load_settings(None, environ={"HTTP_MAX_BODY_BYTES": "100000"})
    app = create_app(settings, Executor(settings), FakeHealth(), None, Authenticator(["key1"], SECRET))
    return falcon.testing.TestClient(app)


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_bad_bodies_get_4xx_with_contract_body(name):
    r = post(real_engine_client(), body=BAD_BODIES[name])
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    error = r.json["error"]
    assert set(error) == {"code", "message"} and error["code"] in ERROR_CODES
    r.content.decode("ascii")  # escaped: no lone surrogate can break the encoding


def test_result_text_with_lone_surrogates_is_encoded():
    result = {"id": "x", "status": "completed", "verdict": "fail", "language": "python", "totalTime": 1,
              "results": [{"passed": False, "status": "failed", "output": "\udcff\ud800", "stdout": "é"}]}
    r = post(client(FakeEngine(result)))
    assert r.status_code == 200
    assert r.json["results"][0]["output"] == "\udcff\ud800" and r.json["results"][0]["stdout"] == "é"


def test_error_message_with_lone_surrogate_is_encoded():
    engine = FakeEngine({"id": "x", "status": "error", "language": "\udc00",
                         "error": {"code": "unsupported_language", "message": "no \udc00"}, "results": []})
    r = post(client(engine))
    assert r.status_code == 400 and r.json["error"] == {"code": "unsupported_language", "message": "no \udc00"}


def test_sandbox_unavailable_is_503_with_retry_after():
    engine = FakeEngine({"id": "x", "status": "error", "language": "python", "results": [],
                         "error": {"code": "sandbox_unavailable", "message": "the Docker engine failed"}})
    r = post(client(engine))
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert r.json == {"error": {"code": "sandbox_unavailable", "message": "the Docker engine failed"}}


def test_only_a_genuine_internal_failure_is_500():
    class Broken(FakeEngine):
        def execute(self, raw, tick=None):
            raise RuntimeError("bug")

    r = post(client(Broken()))
    assert r.status_code == 500 and r.json == {"error": {"code": "internal_error", "message": "internal error"}}


# -- intake rules (applied by the HTTP server before a body is read) ----------

def intake(**env):
    settings = load_settings(None, environ=dict({"HTTP_MAX_BODY_BYTES": "1000"}, **env))
    return create_app(settings, FakeEngine(), FakeHealth(), None, Authenticator(["key1"])).intake


@pytest.mark.parametrize("path", ["/health", "/health/", "//health", "/metrics", "/openapi.json"])
def test_intake_lets_open_routes_through_without_credentials(path):
    assert intake().refusal(path, None, 0) is None


@pytest.mark.parametrize("path", ["/api/execute", "/api/execute/", "//api/execute", "/api/languages", "/nope",
                                  "*", "/health/x", "/healthz"])
def test_intake_refuses_other_routes_without_credentials(path):
    refusal = intake().refusal(path, "Bearer wrong", 0)
    assert (refusal.status, refusal.code) == (falcon.HTTP_401, "unauthorized")
    assert intake().refusal(path, "Bearer key1", 0) is None


def test_intake_refuses_declared_bodies_over_the_limit():
    rules = intake()
    assert rules.refusal("/api/execute", "Bearer key1", 1000) is None
    refusal = rules.refusal("/api/execute", "Bearer key1", 1001)
    assert (refusal.status, refusal.code) == (falcon.HTTP_413, "invalid_job")
    # Credentials first: an unauthenticated huge body learns nothing about limits.
    assert rules.refusal("/api/execute", None, 10 ** 12).status == falcon.HTTP_401
    assert rules.refusal("/health", None, 1001).status == falcon.HTTP_413


def test_intake_carries_the_http_settings():
    rules = intake(HTTP_REQUEST_TIMEOUT="3", HTTP_IDLE_TIMEOUT="2")
    assert (rules.max_body_bytes, rules.request_timeout, rules.idle_timeout) == (1000, 3.0, 2.0)


# -- metric labels from closed sets --------------------------------------------

class Recorder:
    """Stands in for a prometheus metric: records label values."""

    def __init__(self):
        self.seen = []

    def labels(self, *values):
        self.seen.append(values)
        return self

    def inc(self, *a):
        pass

    def dec(self, *a):
        pass

    def observe(self, *a):
        pass


def recording_metrics():
    from execd.metrics import Metrics

    m = Metrics.__new__(Metrics)  # no prometheus registration: only the label logic is under test
    m.jobs, m.job_duration, m.http_requests, m.in_flight = Recorder(), Recorder(), Recorder(), Recorder()
    return m


@pytest.mark.parametrize("result,labels", [
    ({"language": "python", "verdict": "pass"}, ("python", "pass")),
    ({"language": "javascript", "verdict": "compile_error"}, ("javascript", "compile_error")),
    ({"language": "PY", "status": "error", "error": {"code": "limit_exceeded"}}, ("python", "limit_exceeded")),
    ({"language": "cobol-" + "x" * 58, "status": "error", "error": {"code": "unsupported_language"}},
     ("invalid", "unsupported_language")),
    ({"language": "\udc00", "status": "error", "error": {"code": "invalid_job"}}, ("invalid", "invalid_job")),
    ({"status": "error", "error": {"code": "invalid_job"}}, ("invalid", "invalid_job")),
    ({"language": ["python"], "verdict": {"a": 1}}, ("invalid", "unknown")),
    ({"language": "python", "verdict": "hacked"}, ("python", "unknown")),
    ({"language": "python", "status": "error", "error": {"code": "made_up"}}, ("python", "unknown")),
    ({"language": "python", "status": "error", "error": "not a dict"}, ("python", "unknown")),
])
def test_job_labels_come_from_closed_sets(result, labels):
    from execd.metrics import job_labels

    assert job_labels(result) == labels
    m = recording_metrics()
    m.job_done(result, "http", 0.1)
    assert m.jobs.seen == [labels + ("http",)] and m.job_duration.seen == [(labels[0], "http")]


def test_every_contract_verdict_and_error_code_is_a_label():
    from execd.metrics import ERROR_CODES as codes, VERDICTS, job_labels
    from execd.http.app import STATUS_OF_CODE

    assert set(codes) == set(STATUS_OF_CODE)
    assert set(VERDICTS) == {"pass", "compile_error", "timeout", "memory_limit", "runtime_error", "fail"}
    for value in VERDICTS:
        assert job_labels({"language": "python", "verdict": value})[1] == value
    for value in codes:
        assert job_labels({"language": "python", "error": {"code": value}})[1] == value


def test_http_route_label_is_the_template_or_unmatched():
    m = recording_metrics()
    settings = load_settings(None, environ={})
    c = falcon.testing.TestClient(create_app(settings, FakeEngine(), FakeHealth(), m, Authenticator(["key1"])))
    c.simulate_get("/health")
    c.simulate_get("/no/such/" + "x" * 100, headers={"Authorization": "Bearer key1"})
    post(c)
    assert m.http_requests.seen == [("/health", "200"), ("unmatched", "404"), ("/api/execute", "200")]
    # What the server refuses at intake is counted with the same closed labels.
    intake_rules = c.app.intake
    intake_rules.answered("/api/execute/", 401)
    intake_rules.answered("/\udc00" * 10, 413)
    intake_rules.answered(None, 400)
    assert m.http_requests.seen[-3:] == [("/api/execute", "401"), ("unmatched", "413"), ("unmatched", "400")]


@pytest.mark.parametrize("method,path,allow", [("PUT", "/api/execute", "POST, OPTIONS"),
                                               ("DELETE", "/health", "GET, OPTIONS"),
                                               ("POST", "/openapi.json", "GET, HEAD, OPTIONS")])
def test_a_method_the_route_lacks_is_405_naming_the_methods_it_has(method, path, allow):
    r = client().simulate_request(method, path, headers={"Authorization": "Bearer key1"})
    assert r.status_code == 405 and r.headers["Allow"] == allow  # RFC 9110: a 405 carries Allow
    assert r.json["error"]["code"] == "invalid_job"
