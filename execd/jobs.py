"""Job parsing and validation, and result building, exactly as the wire contract.

No I/O here: a job is checked completely before any container is touched, and
every refusal carries the contract's error code.
"""
import json
import re
import uuid
from dataclasses import dataclass

from execd import languages
from execd.errors import JobError

ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MODES = ("function", "stdio")


@dataclass(frozen=True)
class TestCase:
    input: str
    expected_output: object  # str, or None when the test has no expectation


@dataclass(frozen=True)
class Job:
    id: str
    language: object  # languages.Language
    code: str
    mode: str
    entry_point: str
    tests: tuple
    time_limit_ms: int
    memory_limit_mb: int


def _int_field(raw, name):
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise JobError("%s must be a whole number" % name)
    return int(value)


def decode(body, max_bytes=None):
    """bytes/str/dict -> dict, or JobError(invalid_job).

    A body longer than `max_bytes` is refused (input_too_large) before it is parsed.
    """
    if isinstance(body, dict):
        return body
    if max_bytes is not None and len(body) > max_bytes:
        raise JobError("the job message is %d bytes; the limit is %d" % (len(body), max_bytes),
                       code="input_too_large")
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as e:
            raise JobError("the job is not UTF-8") from e
    try:
        raw = json.loads(body)
    except (ValueError, TypeError) as e:
        raise JobError("the job is not valid JSON") from e
    if not isinstance(raw, dict):
        raise JobError("the job must be a JSON object")
    return raw


def job_id_of(raw):
    """The caller's id when it is valid, for echoing in an error result."""
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and ID_PATTERN.fullmatch(raw["id"]):
        return raw["id"]
    return None


def validate(raw, settings):
    """A checked Job from a decoded job dict, or JobError with the contract code."""
    if not isinstance(raw, dict):
        raise JobError("the job must be a JSON object")
    job_id = raw.get("id")
    if job_id is None:
        job_id = str(uuid.uuid4())
    elif not isinstance(job_id, str) or not ID_PATTERN.fullmatch(job_id):
        raise JobError("id must be 1-128 characters of A-Z a-z 0-9 . _ : -")

    name = raw.get("language")
    if not isinstance(name, str) or not name.strip():
        raise JobError("language is required and must be a string")
    language = languages.resolve(name)
    if language is None:
        raise JobError("language %r is not supported; see GET /api/languages" % name[:64],
                       code="unsupported_language")

    code = raw.get("code")
    if not isinstance(code, str):
        raise JobError("code is required and must be a string")
    code_bytes = len(code.encode("utf-8", "surrogatepass"))
    if code_bytes > settings.max_code_bytes:
        raise JobError("code is %d bytes; the limit is %d" % (code_bytes, settings.max_code_bytes),
                       code="code_too_large")

    mode = raw.get("mode", "function")
    if mode is None:
        mode = "function"
    if mode not in MODES:
        raise JobError("mode must be 'function' or 'stdio'")

    entry_point = raw.get("entryPoint")
    if entry_point is None:
        entry_point = "solution"
    if not isinstance(entry_point, str) or not language.valid_entry_point(entry_point):
        raise JobError("entryPoint must be a plain %s identifier" % language.name)

    cases = raw.get("testCases")
    if not isinstance(cases, list):
        raise JobError("testCases is required and must be a list")
    if not cases:
        raise JobError("testCases must hold at least one test case")
    if len(cases) > settings.max_test_cases:
        raise JobError("%d test cases; the limit is %d" % (len(cases), settings.max_test_cases),
                       code="too_many_tests")
    tests = []
    input_bytes = 0
    for i, case in enumerate(cases):
        if not isinstance(case, dict):
            raise JobError("testCases[%d] must be an object" % i)
        test_input = case.get("input")
        if not isinstance(test_input, str):
            raise JobError("testCases[%d].input must be a string" % i)
        expected = case.get("expectedOutput")
        if expected is not None and not isinstance(expected, str):
            raise JobError("testCases[%d].expectedOutput must be a string" % i)
        input_bytes += len(test_input.encode("utf-8", "surrogatepass"))
        tests.append(TestCase(test_input, expected))
    if input_bytes > settings.max_input_bytes:
        raise JobError("test inputs are %d bytes in all; the limit is %d" % (input_bytes, settings.max_input_bytes),
                       code="input_too_large")
    if mode == "function":
        for i, test in enumerate(tests):
            try:
                json.loads("[" + test.input + "]")
            except ValueError as e:
                raise JobError("testCases[%d].input is not a JSON argument list (%s)" % (i, e)) from e

    ceiling_ms = int(settings.max_execution_time * 1000)
    time_limit_ms = _int_field(raw, "timeLimitMs")
    if time_limit_ms is None:
        time_limit_ms = ceiling_ms
    elif time_limit_ms <= 0:
        raise JobError("timeLimitMs must be positive")
    elif time_limit_ms > ceiling_ms:
        raise JobError("timeLimitMs %d is above the ceiling of %d" % (time_limit_ms, ceiling_ms),
                       code="limit_exceeded")

    memory_limit_mb = _int_field(raw, "memoryLimitMb")
    if memory_limit_mb is None:
        memory_limit_mb = settings.max_memory
    elif memory_limit_mb > settings.max_memory:
        raise JobError("memoryLimitMb %d is above the ceiling of %d" % (memory_limit_mb, settings.max_memory),
                       code="limit_exceeded")
    elif memory_limit_mb < settings.min_memory:
        raise JobError("memoryLimitMb must be at least %d" % settings.min_memory)

    return Job(job_id, language, code, mode, entry_point, tuple(tests), time_limit_ms, memory_limit_mb)


def error_result(job_id, code, message, language=None):
    """The contract's result for a refused or failed job."""
    result = {"id": job_id or str(uuid.uuid4()), "status": "error",
              "error": {"code": code, "message": message}, "results": []}
    if isinstance(language, str):
        result["language"] = language[:64]
    return result
