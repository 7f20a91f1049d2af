"""The Falcon app through falcon.testing with a fake engine and health."""
import time

import falcon.testing
import jwt
import pytest

from execd.config import load_settings
from execd.http.app import Authenticator, create_app

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
