"""Output comparison and verdicts, as the contract fixes them. No I/O.

Judging happens on the host, never in the sandbox: expected outputs never
enter a container, so a submission cannot read them or forge a pass.
"""
import json
import math
import signal

FLOAT_TOLERANCE = 1e-6

# Most severe first: a job's verdict is the most severe of its tests.
SEVERITY = ("compile_error", "timeout", "memory_limit", "runtime_error", "fail")
_TEST_TO_VERDICT = {"timeout": "timeout", "memory_limit": "memory_limit", "runtime_error": "runtime_error",
                    "failed": "fail"}


def parse_expected(text):
    """expectedOutput as JSON; text that is not valid JSON counts as a JSON string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def numbers_equal(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    try:
        fa, fb = float(a), float(b)
    except OverflowError:
        return a == b
    if math.isnan(fa) or math.isnan(fb):
        return math.isnan(fa) and math.isnan(fb)
    if fa == fb:
        return True
    diff = abs(fa - fb)
    return diff <= FLOAT_TOLERANCE or diff <= FLOAT_TOLERANCE * max(abs(fa), abs(fb))


def json_equal(expected, actual):
    """Structural equality; numbers within 1e-6 absolute or relative; bool is no number."""
    if _is_number(expected) and _is_number(actual):
        return numbers_equal(expected, actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(json_equal(e, a) for e, a in zip(expected, actual, strict=True))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(json_equal(expected[k], actual[k]) for k in expected)
    if type(expected) is not type(actual):
        return False
    return expected == actual


def normalise_stdio(text):
    """Trailing white space at each line's end and trailing blank lines do not count."""
    lines = [line.rstrip(" \t\r\f\v") for line in text.split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def stdio_equal(expected, actual):
    return normalise_stdio(expected) == normalise_stdio(actual)


def describe_signal(number):
    try:
        return "killed by signal %s" % signal.Signals(number).name
    except ValueError:
        return "killed by signal %d" % number


def verdict_of(test_statuses, compile_error=False):
    if compile_error:
        return "compile_error"
    outcomes = {_TEST_TO_VERDICT[s] for s in test_statuses if s in _TEST_TO_VERDICT}
    for verdict in SEVERITY:
        if verdict in outcomes:
            return verdict
    return "pass"


def judge_output(mode, expected, output):
    """passed True/False, or None when there is no expectation."""
    if expected is None:
        return None
    if mode == "stdio":
        return stdio_equal(expected, output)
    try:
        actual = json.loads(output)
    except (ValueError, TypeError):
        return False
    return json_equal(parse_expected(expected), actual)
