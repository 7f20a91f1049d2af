"""Job parsing and validation, and result building, exactly as the wire contract.

No I/O here: a job is checked completely before any container is touched, and
every refusal carries the contract's error code.
"""
import json
import math
import re
import uuid
from dataclasses import dataclass
from itertools import accumulate

from execd import languages, signature as signatures
from execd.errors import JobError

ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MODES = ("function", "stdio")
BOM = "\ufeff"

# A job (and each function-mode argument list) nests at most this deep: far
# more than any real job needs, far less than the parser's recursion limit.
MAX_NESTING = 64
# A function's argument list may nest deeper (trees, nested lists), still well
# within what the runners' own JSON parsers handle.
MAX_INPUT_NESTING = 500
# Python's own int <-> str limit (sys.get_int_max_str_digits() by default).
MAX_INT_DIGITS = 4300

# A JSON string, escapes included; the closing quote is optional so that an
# unterminated string never makes the regex fail and rescan (linear time).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


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
    signature: object = None  # signatures.Signature, when given


# -- JSON from hostile text ---------------------------------------------------

def nesting_depth(text):
    """How deep [ and { nest in JSON text, counted in linear time without parsing.

    Strings (escapes included) are cut out first, so brackets inside them do
    not count. For text that is not JSON the count is never below the depth
    a parser reaches before it gives up, so the guard stays safe.
    """
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets), initial=0))


def _refuse_constant(name):
    raise ValueError("%s is not a JSON number" % name)


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("the number %s is out of range" % text[:32])
    return value


def _bounded_int(text):
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise ValueError("an integer of %d digits is too long; the limit is %d" % (digits, MAX_INT_DIGITS))
    return int(text)


def load_json(text, max_depth=MAX_NESTING):
    """json.loads for hostile text: any refusal is a ValueError with a clear message.

    Depth is checked before parsing (the C parser recurses, so deep input
    would raise RecursionError); NaN, Infinity and numbers that overflow to
    infinity are refused, as are integers too long for Python to convert.
    """
    depth = nesting_depth(text)
    if depth > max_depth:
        raise ValueError("it nests %d levels deep; the limit is %d" % (depth, max_depth))
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float,
                          parse_int=_bounded_int)
    except RecursionError as e:  # the pre-scan should make this impossible
        raise ValueError("it nests too deeply") from e


def has_surrogates(text):
    """True when a str holds lone surrogates, which cannot be encoded to UTF-8."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _any_surrogates(value):
    """Whether any string (or key) anywhere in a JSON value holds surrogates; iterative."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if has_surrogates(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


# -- jobs --------------------------------------------------------------------

def _shown(number):
    """A number for a message; str() of a huge int raises ValueError in Python 3.11."""
    if abs(number) < 10 ** 18:
        return "%d" % number
    return "(a number of about %d digits)" % (number.bit_length() * math.log10(2))


def _int_field(raw, name):
    """A whole-number field, or None when absent; every other value is invalid_job."""
    value = raw.get(name)
    if value is None:
        return None
    whole_float = isinstance(value, float) and math.isfinite(value) and value.is_integer()
    if isinstance(value, bool) or not (isinstance(value, int) or whole_float):
        raise JobError("%s must be a whole number" % name)
    return int(value)


def _body_text(body):
    """The job's text from bytes or str; invalid UTF-8 is invalid_job; one leading BOM is dropped."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as e:
            raise JobError("the job is not UTF-8 (%s)" % e.reason) from e
    if not isinstance(body, str):
        raise JobError("the job must be JSON text")
    return body[1:] if body.startswith(BOM) else body


def decode(body, max_bytes=None):
    """bytes/str/dict -> dict, or JobError; total: no body makes it raise anything else.

    A body longer than `max_bytes` is refused (input_too_large) before it is parsed.
    """
    if isinstance(body, dict):
        return body
    if max_bytes is not None and isinstance(body, (bytes, bytearray, memoryview, str)) and len(body) > max_bytes:
        raise JobError("the job message is %d bytes; the limit is %d" % (len(body), max_bytes),
                       code="input_too_large")
    text = _body_text(body)
    try:
        raw = load_json(text)
    except (ValueError, TypeError) as e:
        raise JobError("the job is not valid JSON: %s" % e) from e
    if not isinstance(raw, dict):
        raise JobError("the job must be a JSON object")
    if _any_surrogates(raw):
        # "\ud800" escapes parse, but such text cannot reach the sandbox as UTF-8.
        raise JobError("the job holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text")
    return raw


def job_id_of(raw):
    """The caller's id when it is valid, for echoing in an error result."""
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and ID_PATTERN.fullmatch(raw["id"]):
        return raw["id"]
    return None


def _text_field(value, name):
    """A str field as it may go to the sandbox: lone surrogates cannot be encoded to UTF-8."""
    if isinstance(value, str) and has_surrogates(value):
        raise JobError("%s holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text" % name)
    return value


def validate(raw, settings):
    """A checked Job from a decoded job dict, or JobError with the contract code."""
    if not isinstance(raw, dict):
        raise JobError("the job must be a JSON object")
    job_id = _text_field(raw.get("id"), "id")
    if job_id is None:
        job_id = str(uuid.uuid4())
    elif not isinstance(job_id, str) or not ID_PATTERN.fullmatch(job_id):
        raise JobError("id must be 1-128 characters of A-Z a-z 0-9 . _ : -")

    name = _text_field(raw.get("language"), "language")
    if not isinstance(name, str) or not name.strip():
        raise JobError("language is required and must be a string")
    language = languages.resolve(name)
    if language is None:
        raise JobError("language %r is not supported; see GET /api/languages" % name[:64],
                       code="unsupported_language")

    code = _text_field(raw.get("code"), "code")
    if not isinstance(code, str):
        raise JobError("code is required and must be a string")
    if code.startswith(BOM):
        code = code[1:]  # editors on Windows write one; no compiler or interpreter should see it
    code_bytes = len(code.encode("utf-8"))
    if code_bytes > settings.max_code_bytes:
        raise JobError("code is %d bytes; the limit is %d" % (code_bytes, settings.max_code_bytes),
                       code="code_too_large")

    mode = raw.get("mode", "function")
    if mode is None:
        mode = "function"
    if mode not in MODES:
        raise JobError("mode must be 'function' or 'stdio'")
    if mode not in language.modes:
        raise JobError("%s mode is not available for %s (modes: %s)" % (mode, language.name, ", ".join(language.modes)))

    signature = None
    if raw.get("signature") is not None:
        try:
            signature = signatures.parse(raw["signature"])
            if mode == "function":
                language.check_signature(signature)
        except ValueError as e:
            raise JobError(str(e)) from e
    elif mode == "function" and language.needs_signature:
        raise JobError("%s needs a signature in function mode: {\"params\": [...], \"returns\": ...}" % language.name)

    entry_point = _text_field(raw.get("entryPoint"), "entryPoint")
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
        test_input = _text_field(case.get("input"), "testCases[%d].input" % i)
        if not isinstance(test_input, str):
            raise JobError("testCases[%d].input must be a string" % i)
        expected = _text_field(case.get("expectedOutput"), "testCases[%d].expectedOutput" % i)
        if expected is not None and not isinstance(expected, str):
            raise JobError("testCases[%d].expectedOutput must be a string" % i)
        input_bytes += len(test_input.encode("utf-8"))
        tests.append(TestCase(test_input, expected))
    if input_bytes > settings.max_input_bytes:
        raise JobError("test inputs are %d bytes in all; the limit is %d" % (input_bytes, settings.max_input_bytes),
                       code="input_too_large")
    if mode == "function":
        for i, test in enumerate(tests):
            try:
                # The same guarded parser as the job's: the runner parses this
                # list too, and must never meet what the host could not parse.
                load_json("[" + test.input + "]", max_depth=MAX_INPUT_NESTING + 1)  # +1: the list added here
            except ValueError as e:
                raise JobError("testCases[%d].input is not a JSON argument list (%s)" % (i, e)) from e
    if signature is not None and mode == "function":
        _check_against_signature(tests, signature)

    ceiling_ms = int(settings.max_execution_time * 1000)
    time_limit_ms = _int_field(raw, "timeLimitMs")
    if time_limit_ms is None:
        time_limit_ms = ceiling_ms
    elif time_limit_ms <= 0:
        raise JobError("timeLimitMs must be positive")
    elif time_limit_ms > ceiling_ms:
        raise JobError("timeLimitMs %s is above the ceiling of %d" % (_shown(time_limit_ms), ceiling_ms),
                       code="limit_exceeded")

    memory_limit_mb = _int_field(raw, "memoryLimitMb")
    if memory_limit_mb is None:
        memory_limit_mb = settings.max_memory
    elif memory_limit_mb > settings.max_memory:
        raise JobError("memoryLimitMb %s is above the ceiling of %d" % (_shown(memory_limit_mb), settings.max_memory),
                       code="limit_exceeded")
    elif memory_limit_mb < settings.min_memory:
        raise JobError("memoryLimitMb must be at least %d" % settings.min_memory)

    return Job(job_id, language, code, mode, entry_point, tuple(tests), time_limit_ms, memory_limit_mb, signature)


def _check_against_signature(tests, signature):
    """Every test's arguments, and its expected output, are values of the declared types."""
    for i, test in enumerate(tests):
        args = load_json("[" + test.input + "]", max_depth=MAX_INPUT_NESTING + 1)
        if len(args) != len(signature.params):
            raise JobError("testCases[%d].input has %d arguments; the signature has %d"
                           % (i, len(args), len(signature.params)))
        for k, (value, kind) in enumerate(zip(args, signature.params)):
            if not signatures.conforms(value, kind):
                raise JobError("testCases[%d].input: argument %d is not a %s" % (i, k + 1, kind))
        if test.expected_output is not None:
            try:
                expected = load_json(test.expected_output, max_depth=MAX_INPUT_NESTING)
            except ValueError:
                expected = test.expected_output  # text that is not JSON counts as a string
            if not signatures.conforms(expected, signature.returns):
                raise JobError("testCases[%d].expectedOutput is not a %s" % (i, signature.returns))


def error_result(job_id, code, message, language=None):
    """The contract's result for a refused or failed job.

    `language` may be the caller's raw string: only a supported language's
    canonical name is echoed, never text a publisher chose.
    """
    result = {"id": job_id or str(uuid.uuid4()), "status": "error",
              "error": {"code": code, "message": message}, "results": []}
    resolved = languages.resolve(language)
    if resolved is not None:
        result["language"] = resolved.name
    return result
