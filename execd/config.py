"""Settings: one frozen dataclass, loaded as defaults < INI file < environment.

Every field's environment name is its upper-case name (MAX_MEMORY); in the
INI file's [execd] section it is the lower-case name (max_memory). Errors name
the key and where the bad value came from. Nothing here touches sockets,
Docker or globals.
"""
import configparser
import dataclasses
import os
from dataclasses import dataclass, field

from execd.errors import ConfigError


def _setting(default, desc):
    return field(default=default, metadata={"desc": desc})


@dataclass(frozen=True)
class Settings:
    max_execution_time: float = _setting(10.0, "ceiling and default of a test's time limit, seconds")
    max_memory: int = _setting(256, "ceiling and default of a sandbox's memory limit, MB")
    max_code_bytes: int = _setting(65536, "largest accepted source, UTF-8 bytes")
    max_test_cases: int = _setting(64, "most test cases in one job")
    max_input_bytes: int = _setting(1048576, "all test inputs of a job together, UTF-8 bytes")
    max_output_bytes: int = _setting(65536, "each reported output/stdout/stderr/error text is cut here")
    max_compare_bytes: int = _setting(1048576, "output captured for judging; longer output is cut and fails")
    max_job_time: float = _setting(60.0, "hard wall deadline of one whole sandbox run, seconds")
    min_memory: int = _setting(16, "smallest memoryLimitMb a job may ask for, MB")
    pool_sizes: str = _setting("", "idle sandboxes kept ready per language at the default memory limit, at least, "
                                   "as python=2,c=1; a language not named keeps its own default")
    compile_time_limit: float = _setting(10.0, "a compiled language's compile time limit, seconds (added to the job's deadline)")
    pool_max_sandboxes: int = _setting(16, "most sandboxes one engine keeps, busy, resetting and idle together")
    sandbox_max_jobs: int = _setting(200, "jobs one sandbox serves, reset and verified between them; 1 = a fresh one per job")
    sandbox_max_age: float = _setting(300.0, "seconds a sandbox serves before it is replaced")
    pool_start_threads: int = _setting(2, "sandboxes each pool starts in parallel when refilling")
    js_prestart: int = _setting(1, "node processes started ahead in each JavaScript sandbox")
    sandbox_runtime: str = _setting("", "OCI runtime for sandboxes (runsc, crun, kata); empty = Docker's default")
    sandbox_pids_limit: int = _setting(64, "processes and threads per sandbox")
    sandbox_tmpfs_mb: int = _setting(16, "size of the sandbox's only writable place, /tmp, MB")
    sandbox_cpus: float = _setting(1.0, "CPU quota per sandbox, cores")
    sandbox_nofile: int = _setting(256, "open files per sandbox process")
    sandbox_fsize_mb: int = _setting(16, "largest file a sandbox process may write, MB")
    docker_timeout: float = _setting(30.0, "Docker API request timeout, seconds")
    instance_name: str = _setting("", "label value execd.instance on this instance's sandboxes")
    image_prefix: str = _setting("execd", "sandbox images are tagged <prefix>-<language>:<content hash>")
    log_level: str = _setting("info", "debug, info, warning or error")
    log_format: str = _setting("auto", "auto (text on a terminal, JSON otherwise), json or text")
    # -- the daemon ------------------------------------------------------------
    workers: int = _setting(0, "queue consumer processes; 0 = the number of CPUs")
    port: int = _setting(3003, "HTTP port for /api/execute, /api/languages, /health, /metrics")
    bind: str = _setting("0.0.0.0", "HTTP bind address")
    http_concurrency: int = _setting(4, "HTTP jobs run at once; more get 503 overloaded")
    http_max_body_bytes: int = _setting(4194304, "largest accepted HTTP request body, bytes")
    http_request_timeout: float = _setting(10.0, "a request's headers and body must arrive within this, seconds")
    http_idle_timeout: float = _setting(10.0, "an idle or silent HTTP connection is closed after this, seconds")
    max_message_bytes: int = _setting(4194304, "largest job message (AMQP body or HTTP body), refused before parsing")
    amqp_url: str = _setting("amqp://guest:guest@127.0.0.1:5672/%2F", "RabbitMQ URL")
    execution_queue: str = _setting("execution_queue", "durable queue the jobs are consumed from")
    result_queue: str = _setting("execution_results", "durable queue for results of jobs without reply_to")
    dead_letter_queue: str = _setting("", "queue for rejected jobs; empty = <execution_queue>.dead")
    max_deliveries: int = _setting(3, "redeliveries of a job before it gets internal_error and is dead-lettered")
    delivery_key: str = _setting("", "secret signing execd's redelivery-count header; empty = derived from AMQP_URL")
    engine_retry_interval: float = _setting(1.0, "seconds between Docker engine checks while a job waits for it")
    execd_api_keys: str = _setting("", "comma-separated static API keys for Bearer auth", )
    api_keys_file: str = _setting("", "file with one API key per line")
    jwt_secret: str = _setting("", "HS256 secret for Bearer JWTs (exp required)")
    execd_auth: str = _setting("enabled", "'disabled' lets /api/* run without credentials (logged loudly)")
    graceful_timeout: float = _setting(75.0, "seconds in-flight jobs get to finish at shutdown")
    worker_timeout: float = _setting(90.0, "a worker silent this long is killed and restarted, seconds")
    worker_start_secs: float = _setting(5.0, "a worker dying sooner than this after start backs off")
    health_interval: float = _setting(2.0, "seconds between dependency checks for /health")

    def queue_names(self):
        return (self.execution_queue, self.result_queue,
                self.dead_letter_queue or self.execution_queue + ".dead")

    def pool_size(self, language, default):
        """The POOL_SIZES entry for `language`, else `default` (the language's own)."""
        return parse_pool_sizes(self.pool_sizes).get(language, default)

    def static_api_keys(self):
        """EXECD_API_KEYS, then the lines of API_KEYS_FILE (blank lines and # comments skipped)."""
        keys = [k.strip() for k in self.execd_api_keys.split(",") if k.strip()]
        if self.api_keys_file:
            with open(self.api_keys_file, encoding="utf-8") as f:
                keys += [line.strip() for line in f if line.strip() and not line.startswith("#")]
        return keys

    def worker_count(self):
        return self.workers or os.cpu_count() or 1

    def describe(self):
        return {f.name: f.metadata["desc"] for f in dataclasses.fields(self)}


def _parse(kind, raw):
    text = raw.strip()
    if kind is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if kind is int:
        return int(text)
    if kind is float:
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("expected a finite number")
        return value
    return text


_POSITIVE = {
    "max_execution_time", "max_memory", "max_code_bytes", "max_test_cases", "max_input_bytes",
    "max_output_bytes", "max_compare_bytes", "max_job_time", "min_memory", "sandbox_pids_limit",
    "sandbox_tmpfs_mb", "sandbox_cpus", "sandbox_nofile", "sandbox_fsize_mb", "docker_timeout",
}
_NON_NEGATIVE = {"js_prestart"}
_POSITIVE.update({"pool_start_threads", "port", "http_concurrency", "http_max_body_bytes", "graceful_timeout",
                  "worker_timeout", "worker_start_secs", "health_interval",
                  "http_request_timeout", "http_idle_timeout", "max_message_bytes", "engine_retry_interval",
                  "pool_max_sandboxes", "sandbox_max_jobs", "sandbox_max_age", "compile_time_limit"})
_NON_NEGATIVE.update({"workers", "max_deliveries"})
SECRETS = {"execd_api_keys", "jwt_secret", "amqp_url", "delivery_key"}


def load_settings(ini_path=None, environ=None):
    """Build Settings from defaults, then `ini_path` ([execd] section), then `environ`."""
    environ = os.environ if environ is None else environ
    values = {}
    sources = {}
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    if ini_path:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            with open(ini_path, encoding="utf-8") as f:
                parser.read_file(f)
        except OSError as e:
            raise ConfigError("cannot read config file %s: %s" % (ini_path, e.strerror)) from e
        except configparser.Error as e:
            raise ConfigError("config file %s is malformed: %s" % (ini_path, e)) from e
        if parser.has_section("execd"):
            for key, raw in parser.items("execd"):
                if key not in fields:
                    raise ConfigError("unknown key %r in [execd] of %s" % (key, ini_path))
                values[key] = raw
                sources[key] = "%s [execd] %s" % (ini_path, key)
    for name in fields:
        env_name = name.upper()
        if env_name in environ:
            values[name] = environ[env_name]
            sources[name] = "environment variable %s" % env_name
    parsed = {}
    for name, raw in values.items():
        kind = type(fields[name].default)
        try:
            value = _parse(kind, raw)
        except ValueError as e:
            raise ConfigError("%s: %r is not a valid %s (%s)" % (sources[name], raw, kind.__name__, e)) from e
        if name in _POSITIVE and value <= 0:
            raise ConfigError("%s: must be greater than 0, got %r" % (sources[name], raw))
        if name in _NON_NEGATIVE and value < 0:
            raise ConfigError("%s: must not be negative, got %r" % (sources[name], raw))
        parsed[name] = value
    settings = Settings(**parsed)
    try:
        parse_pool_sizes(settings.pool_sizes)
    except ValueError as e:
        raise ConfigError("pool_sizes: %s" % e) from e
    if settings.min_memory > settings.max_memory:
        raise ConfigError("min_memory (%d) is above max_memory (%d)" % (settings.min_memory, settings.max_memory))
    if settings.execd_auth.lower() not in ("enabled", "disabled"):
        raise ConfigError("execd_auth: %r is not 'enabled' or 'disabled'" % settings.execd_auth)
    if not 0 < settings.port < 65536:
        raise ConfigError("port: %d is not a TCP port" % settings.port)
    if settings.log_level.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError("log_level: %r is not one of debug, info, warning, error" % settings.log_level)
    if settings.log_format not in ("auto", "json", "text"):
        raise ConfigError("log_format: %r is not one of auto, json, text" % settings.log_format)
    return settings


def check_settings(settings):
    """(problems, warnings) a loaded configuration still has: what only shows across values or
    on disk. A problem keeps execd from working as configured; a warning is worth a look."""
    from execd import languages

    problems, warnings = [], []
    unknown = sorted(set(parse_pool_sizes(settings.pool_sizes)) - set(languages.LANGUAGES))
    if unknown:
        problems.append("pool_sizes names %s, not a language here (%s)"
                        % (", ".join(unknown), ", ".join(languages.LANGUAGES)))
    try:
        keys = settings.static_api_keys()
    except OSError as e:
        problems.append("api_keys_file %s cannot be read: %s" % (settings.api_keys_file, e.strerror))
        keys = []
    if settings.execd_auth.lower() == "disabled":
        warnings.append("execd_auth = disabled: anyone who reaches port %d can run code" % settings.port)
    elif not keys and not settings.jwt_secret:
        warnings.append("no API keys or JWT secret: every /api/* request is refused (401); the queue still works")
    if settings.jwt_secret and len(settings.jwt_secret) < 32:
        warnings.append("jwt_secret is %d characters; use 32 or more" % len(settings.jwt_secret))
    return problems, warnings


def parse_pool_sizes(text):
    """{language: size} from "python=2, c=1"; ValueError naming a malformed entry."""
    sizes = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not sep or not name or not value.strip().isdigit():
            raise ValueError("%r is not language=size (a whole number, 0 or more)" % item)
        sizes[name] = int(value)
    return sizes


def default_config_path(environ=None):
    """EXECD_CONFIG, else /etc/execd/execd.ini, else ./config/execd.ini, else none."""
    environ = os.environ if environ is None else environ
    if environ.get("EXECD_CONFIG"):
        return environ["EXECD_CONFIG"]
    for candidate in ("/etc/execd/execd.ini", os.path.join("config", "execd.ini")):
        if os.path.exists(candidate):
            return candidate
    return None
