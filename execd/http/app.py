"""The Falcon app: /api/execute, /api/languages, /health, /metrics, /openapi.json.

Collaborators are injected (`create_app`), so tests drive it through
falcon.testing with fakes. No fork, no signals, no pika here. `Intake` holds
the rules the HTTP server (server.py) applies from a request's headers alone,
before its body is read; the middleware applies the same ones again.
"""
import functools
import hmac
import json
import logging
import threading
import time

import falcon
import falcon.media
import jwt

from execd import metrics as metrics_module, schemas

log = logging.getLogger("execd.http")

OPEN_ROUTES = {"/health", "/metrics", "/openapi.json"}
STATUS_OF_CODE = {
    "invalid_job": falcon.HTTP_400,
    "unsupported_language": falcon.HTTP_400,
    "code_too_large": falcon.HTTP_400,
    "too_many_tests": falcon.HTTP_400,
    "input_too_large": falcon.HTTP_400,
    "limit_exceeded": falcon.HTTP_400,
    "unauthorized": falcon.HTTP_401,
    "overloaded": falcon.HTTP_503,
    "sandbox_unavailable": falcon.HTTP_503,
    "internal_error": falcon.HTTP_500,
}
RETRY_AFTER_S = 1
WWW_AUTHENTICATE = 'Bearer realm="execd"'  # what every 401 names (RFC 6750)


class ApiError(Exception):
    """An error answered with the contract's body {"error": {"code", "message"}}."""

    def __init__(self, status, code, message, retry_after=None):
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


def _error_handler(req, resp, ex, params):
    resp.status = ex.status
    resp.media = {"error": {"code": ex.code, "message": ex.message}}
    if ex.retry_after is not None:
        resp.set_header("Retry-After", str(ex.retry_after))
    if ex.status == falcon.HTTP_401:
        resp.set_header("WWW-Authenticate", WWW_AUTHENTICATE)


def _http_error_handler(req, resp, ex, params):
    # Falcon's own errors (404, 405, bad headers) in the contract's shape,
    # with their headers (a 405's Allow names the methods the route has).
    resp.status = ex.status
    resp.set_headers(ex.headers or {})
    code = "unauthorized" if ex.status == falcon.HTTP_401 else "invalid_job"
    resp.media = {"error": {"code": code, "message": ex.title + (": " + ex.description if ex.description else "")}}


def _unexpected_handler(req, resp, ex, params):
    log.exception("unhandled error on %s %s", req.method, req.path)
    resp.status = falcon.HTTP_500
    resp.media = {"error": {"code": "internal_error", "message": "internal error"}}


def route_path(path):
    """A request path as Falcon routes it: leading slashes collapsed (as Waitress
    does), one trailing slash dropped (strip_url_path_trailing_slash)."""
    path = "/" + path.lstrip("/")
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


def is_open_route(path):
    return route_path(path) in OPEN_ROUTES


class Authenticator:
    """Bearer tokens: static API keys (constant-time compare) and/or HS256 JWTs with exp."""

    def __init__(self, api_keys=(), jwt_secret="", disabled=False):
        self.api_keys = [k.encode("utf-8") for k in api_keys if k]
        self.jwt_secret = jwt_secret
        self.disabled = disabled

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.static_api_keys(), settings.jwt_secret, settings.execd_auth.lower() == "disabled")

    @property
    def configured(self):
        return bool(self.api_keys or self.jwt_secret)

    def check(self, header):
        """None when allowed, else the reason."""
        if self.disabled:
            return None
        if not self.configured:
            return "no API keys or JWT secret are configured on this server"
        if not header:
            return "missing Authorization: Bearer token"
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return "Authorization must be 'Bearer <token>'"
        candidate = token.encode("utf-8")
        matched = False
        for key in self.api_keys:
            # Compare with every key so timing does not tell which one is close.
            matched |= hmac.compare_digest(candidate, key)
        if matched:
            return None
        if self.jwt_secret and token.count(".") == 2:
            try:
                jwt.decode(token, self.jwt_secret, algorithms=["HS256"], options={"require": ["exp"]})
                return None
            except jwt.ExpiredSignatureError:
                return "token expired"
            except jwt.InvalidTokenError:
                return "invalid token"
        return "invalid token"


class AuthMiddleware:
    def __init__(self, authenticator):
        self.auth = authenticator

    def process_request(self, req, resp):
        if is_open_route(req.path):
            return
        reason = self.auth.check(req.get_header("Authorization"))
        if reason is not None:
            raise ApiError(falcon.HTTP_401, "unauthorized", reason)


class MetricsMiddleware:
    def __init__(self, metrics):
        self.metrics = metrics

    def process_response(self, req, resp, resource, req_succeeded):
        if self.metrics is None:
            return
        route = req.uri_template or "unmatched"
        self.metrics.http_requests.labels(route, resp.status.split(" ", 1)[0] if isinstance(resp.status, str)
                                          else str(resp.status)).inc()


class Intake:
    """What a request can be refused for from its headers alone: missing or bad
    credentials (401) and a declared body over the limit (413). The HTTP server
    asks before it reads a byte of the body, and counts what it refused here."""

    def __init__(self, authenticator, settings, metrics=None, routes=()):
        self.auth = authenticator
        self.max_body_bytes = settings.http_max_body_bytes
        self.request_timeout = settings.http_request_timeout
        self.idle_timeout = settings.http_idle_timeout
        self.metrics = metrics
        self.routes = frozenset(routes)

    def refusal(self, path, authorization, content_length):
        """The ApiError to answer instead of reading the body, or None."""
        if not is_open_route(path):
            reason = self.auth.check(authorization)
            if reason is not None:
                return ApiError(falcon.HTTP_401, "unauthorized", reason)
        if content_length > self.max_body_bytes:
            return self.too_large("body is %d bytes; the limit is %d" % (content_length, self.max_body_bytes))
        return None

    def too_large(self, message=None):
        return ApiError(falcon.HTTP_413, "invalid_job", message or "body over %d bytes" % self.max_body_bytes)

    def answered(self, path, status):
        """Count a request the server answered without the app (same labels as MetricsMiddleware)."""
        if self.metrics is None:
            return
        route = route_path(path) if isinstance(path, str) else ""
        self.metrics.http_requests.labels(route if route in self.routes else "unmatched", str(status)).inc()


class InFlight:
    """Counts execute requests running now, so shutdown can wait for them."""

    def __init__(self):
        self._lock = threading.Lock()
        self.count = 0

    def add(self, delta):
        with self._lock:
            self.count += delta


class ExecuteResource:
    def __init__(self, executor, settings, health=None, metrics=None, in_flight=None):
        self.executor = executor
        self.settings = settings
        self.health = health
        self.metrics = metrics
        self.in_flight = in_flight or InFlight()
        self.slots = threading.BoundedSemaphore(settings.http_concurrency)

    def on_post(self, req, resp):
        if self.health is not None and self.health.draining:
            raise ApiError(falcon.HTTP_503, "overloaded", "the service is shutting down", RETRY_AFTER_S)
        length = req.content_length
        if length is not None and length > self.settings.http_max_body_bytes:
            raise ApiError(falcon.HTTP_413, "invalid_job", "body is %d bytes; the limit is %d"
                           % (length, self.settings.http_max_body_bytes))
        content_type = (req.content_type or "").split(";")[0].strip().lower()
        if content_type and content_type != "application/json" and not content_type.endswith("+json"):
            raise ApiError(falcon.HTTP_415, "invalid_job", "send the job as application/json")
        body = req.bounded_stream.read(self.settings.http_max_body_bytes + 1)
        if len(body) > self.settings.http_max_body_bytes:
            raise ApiError(falcon.HTTP_413, "invalid_job", "body over %d bytes" % self.settings.http_max_body_bytes)
        if not self.slots.acquire(blocking=False):
            raise ApiError(falcon.HTTP_503, "overloaded", "all %d HTTP execution slots are busy"
                           % self.settings.http_concurrency, RETRY_AFTER_S)
        started = time.monotonic()
        self.in_flight.add(1)
        if self.metrics is not None:
            self.metrics.in_flight.labels("http").inc()
        try:
            result = self.executor.execute(body)
        finally:
            self.slots.release()
            self.in_flight.add(-1)
            if self.metrics is not None:
                self.metrics.in_flight.labels("http").dec()
        elapsed = time.monotonic() - started
        if self.metrics is not None:
            self.metrics.job_done(result, "http", elapsed)
        log.info("job done", extra={"job_id": result["id"], "language": result.get("language"), "source": "http",
                                    "verdict": result.get("verdict") or result["error"]["code"],
                                    "total_time_ms": result.get("totalTime"), "duration_ms": int(elapsed * 1000)})
        if result["status"] == "error":
            code = result["error"]["code"]
            retry = RETRY_AFTER_S if code in ("overloaded", "sandbox_unavailable") else None
            raise ApiError(STATUS_OF_CODE.get(code, falcon.HTTP_500), code, result["error"]["message"], retry)
        resp.media = result


class LanguagesResource:
    def __init__(self, executor):
        self.executor = executor

    def on_get(self, req, resp):
        resp.media = {"languages": self.executor.languages()}


class HealthResource:
    def __init__(self, health):
        self.health = health

    def on_get(self, req, resp):
        ok, body = self.health.report()
        resp.status = falcon.HTTP_200 if ok else falcon.HTTP_503
        resp.media = body


class MetricsResource:
    def on_get(self, req, resp):
        body, content_type = metrics_module.scrape()
        resp.data = body
        resp.content_type = content_type


class OpenApiResource:
    """The OpenAPI document, serialised once."""

    def __init__(self, document):
        self.document = document

    def on_get(self, req, resp):
        resp.data = self.document
        resp.content_type = falcon.MEDIA_JSON

    on_head = on_get  # Falcon sends the headers of GET, without the body


class ExecdApp(falcon.App):
    """The Falcon app, carrying the Intake its HTTP server enforces before reading bodies."""

    intake = None


# ASCII escapes keep any text encodable (a lone surrogate from a job's id or
# output would make UTF-8 encoding fail); NaN is not JSON, so it is refused.
_json_handler = falcon.media.JSONHandler(dumps=functools.partial(json.dumps, ensure_ascii=True, allow_nan=False))


def create_app(settings, executor, health, metrics=None, authenticator=None, in_flight=None):
    authenticator = authenticator or Authenticator.from_settings(settings)
    app = ExecdApp(middleware=[MetricsMiddleware(metrics), AuthMiddleware(authenticator)])
    app.req_options.strip_url_path_trailing_slash = True
    app.resp_options.media_handlers.update({falcon.MEDIA_JSON: _json_handler})
    routes = {
        "/api/execute": ExecuteResource(executor, settings, health, metrics, in_flight),
        "/api/languages": LanguagesResource(executor),
        "/health": HealthResource(health),
        "/metrics": MetricsResource(),
        "/openapi.json": OpenApiResource(schemas.openapi_json()),
    }
    for template, resource in routes.items():
        app.add_route(template, resource)
    app.intake = Intake(authenticator, settings, metrics, routes)
    app.add_error_handler(Exception, _unexpected_handler)
    app.add_error_handler(falcon.HTTPError, _http_error_handler)
    app.add_error_handler(ApiError, _error_handler)
    return app
