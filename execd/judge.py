"""Output comparison and verdicts, as the contract fixes them. No I/O.

Judging happens on the host, never in the sandbox: expected outputs never
enter a container, so a submission cannot read them or forge a pass.
"""
import json
import math
import re
import signal

from execd.jobs import MAX_INT_DIGITS, nesting_depth

FLOAT_TOLERANCE = 1e-6

# Output and expected values nesting deeper than this are not parsed: the C
# JSON parser recurses, and recursion is shared with the calling thread's
# stack. Such values, and those with integers too long for Python's int(),
# are "unreadable" and compared as text instead (see _text_equal).
MAX_PARSE_DEPTH = 500
_UNREADABLE = object()
_NOT_JSON = object()
# Strings (escapes included) kept whole, so white space is dropped only outside them.
_JSON_STRING_OR_SPACE = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*"?)|[ \t\n\r]+', re.S)
# A string (group 1: its closing quote, None when it never ends), a bracket, or anything else.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(")?|[\[\]{}]|[^"\[\]{}]+', re.S)
_OPENER_OF = {"]": "[", "}": "{"}

# Most severe first: a job's verdict is the most severe of its tests.
SEVERITY = ("compile_error", "timeout", "memory_limit", "runtime_error", "fail")
_TEST_TO_VERDICT = {"timeout": "timeout", "memory_limit": "memory_limit", "runtime_error": "runtime_error",
                    "failed": "fail"}


class _TooLong(Exception):
    """An integer literal longer than int() converts."""


def _readable_int(text):
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _TooLong()
    return int(text)


def _parse(text):
    """A JSON value, _UNREADABLE or _NOT_JSON; never raises.

    NaN and Infinity are accepted, as Python's json does (numbers_equal
    compares them).
    """
    if not isinstance(text, str):
        return _NOT_JSON
    if nesting_depth(text) > MAX_PARSE_DEPTH:
        return _UNREADABLE
    try:
        return json.loads(text, parse_int=_readable_int)
    except (RecursionError, _TooLong):  # RecursionError: the caller's stack was already deep
        return _UNREADABLE
    except (ValueError, TypeError):
        return _NOT_JSON


def parse_expected(text):
    """expectedOutput as JSON; text that is not valid JSON counts as a JSON string.

    Unreadable text (too deep, integers too long) is returned unchanged too:
    it cannot be held as a value (judge_output compares such text itself).
    """
    value = _parse(text)
    return text if value is _NOT_JSON or value is _UNREADABLE else value


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
    if math.isinf(fa) or math.isinf(fb):
        return False  # else inf - x <= 1e-6 * inf would make Infinity equal every number
    diff = abs(fa - fb)
    return diff <= FLOAT_TOLERANCE or diff <= FLOAT_TOLERANCE * max(abs(fa), abs(fb))


def _scalars_equal(expected, actual):
    if _is_number(expected) and _is_number(actual):
        return numbers_equal(expected, actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if type(expected) is not type(actual):
        return False
    return expected == actual


def json_equal(expected, actual):
    """Structural equality; numbers within 1e-6 absolute or relative; bool is no number.

    Iterative (an explicit stack of pairs still to compare), so no depth of
    nesting can raise RecursionError.
    """
    pending = [(expected, actual)]
    while pending:
        e, a = pending.pop()
        if isinstance(e, list) and isinstance(a, list):
            if len(e) != len(a):
                return False
            pending.extend(zip(e, a))
        elif isinstance(e, dict) and isinstance(a, dict):
            if e.keys() != a.keys():
                return False
            pending.extend((e[k], a[k]) for k in e)
        elif isinstance(e, (list, dict)) or isinstance(a, (list, dict)):
            return False
        elif not _scalars_equal(e, a):
            return False
    return True


def _compact(text):
    """JSON text without white space outside strings."""
    return _JSON_STRING_OR_SPACE.sub(lambda m: m.group(1) or "", text)


def _well_nested(text):
    """Whether every string ends and brackets close in order: JSON's shape, checked in one pass."""
    open_brackets = []
    for token in _JSON_TOKEN.finditer(text):
        first = token.group(0)[0]
        if first == '"' and token.group(1) is None:
            return False
        if first in "[{":
            open_brackets.append(first)
        elif first in "]}" and (not open_brackets or open_brackets.pop() != _OPENER_OF[first]):
            return False
    return not open_brackets


def _text_equal(expected, output):
    """Comparison of two unreadable JSON texts, without parsing them.

    Conservative: the texts must be equal apart from white space outside
    strings, so a value passes when written the same way (the harness
    writes compact JSON), and fails where structural comparison might have
    forgiven a difference (1 vs 1.0, key order, escapes). Equal texts of
    valid JSON are equal values, so it never passes a wrong answer. Full
    validity is not checked (that needs a parser), only the shape: the
    output comes from the harness's serialiser, and text that is not JSON
    at all (unclosed brackets or strings) never passes.
    """
    return _well_nested(output) and _compact(expected) == _compact(output)


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
    """The job's verdict: `pass` only when there are tests and every one is exactly "passed".

    Otherwise the most severe outcome; a status that names no failure
    (`skipped`, or anything unknown) still keeps the job from passing: it is
    a runtime_error unless something more severe happened.
    """
    if compile_error:
        return "compile_error"
    statuses = list(test_statuses)
    if statuses and all(s == "passed" for s in statuses):
        return "pass"
    outcomes = {_TEST_TO_VERDICT.get(s, "runtime_error") if isinstance(s, str) else "runtime_error"
                for s in statuses if s != "passed"}
    for verdict in SEVERITY:
        if verdict in outcomes:
            return verdict
    return "runtime_error"


def judge_output(mode, expected, output):
    """passed True/False, or None when there is no expectation. Never raises."""
    if expected is None:
        return None
    if not isinstance(expected, str) or not isinstance(output, str):
        return False
    if mode == "stdio":
        return stdio_equal(expected, output)
    actual = _parse(output)
    if actual is _NOT_JSON:
        return False
    wanted = _parse(expected)
    if actual is _UNREADABLE or wanted is _UNREADABLE:
        # Only two unreadable texts can be equal; a readable value never
        # equals one (nor its text as a string: that is a wrong answer).
        return actual is wanted and _text_equal(expected, output)
    return json_equal(expected if wanted is _NOT_JSON else wanted, actual)
