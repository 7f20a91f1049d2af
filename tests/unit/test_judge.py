import pytest

from execd import judge


@pytest.mark.parametrize("expected,actual,equal", [
    (0.3, 0.1 + 0.2, True),
    (1000000000, 1000000000.5, True),
    (0.30001, 0.1 + 0.2, False),
    (2, 2.0, True),
    (2.0, 2, True),
    (True, 1, False),
    (0, False, False),
    (True, True, True),
    ([1, [2, 3]], [1, [2, 3.0000000001]], True),
    ([1, 2], [1, 2, 3], False),
    ({"a": 1, "b": [2]}, {"b": [2], "a": 1}, True),
    ({"a": 1}, {"a": 1, "b": 2}, False),
    ("42", 42, False),
    (None, None, True),
    (None, 0, False),
    (10 ** 400, 10 ** 400, True),
    (10 ** 400, 1.0, False),
])
def test_json_equal(expected, actual, equal):
    assert judge.json_equal(expected, actual) is equal


def test_expected_that_is_not_json_is_a_string():
    assert judge.parse_expected("odd") == "odd"
    assert judge.parse_expected('"odd"') == "odd"
    assert judge.parse_expected("42") == 42


@pytest.mark.parametrize("expected,actual,equal", [
    ("a\nb", "a  \nb\t\n\n\n", True),
    ("a\r\nb\r\n", "a\nb", True),
    ("sum: 7", "sum:  7\n", False),
    (" sum", "sum", False),
    ("", "\n\n", True),
    ("a\n\nb", "a\nb", False),
])
def test_stdio_equal(expected, actual, equal):
    assert judge.stdio_equal(expected, actual) is equal


def test_verdict_is_the_most_severe_outcome():
    assert judge.verdict_of(["passed", "passed"]) == "pass"
    assert judge.verdict_of(["passed", "failed", "runtime_error"]) == "runtime_error"
    assert judge.verdict_of(["failed", "memory_limit", "timeout"]) == "timeout"
    assert judge.verdict_of(["passed", "skipped"], compile_error=True) == "compile_error"


def test_judge_output_without_expectation_is_none():
    assert judge.judge_output("function", None, "1") is None
    assert judge.judge_output("function", "1", "not json") is False


# -- hostile outputs and expectations: judging never raises (contract v1.1) ---

def deep_list(levels, leaf=1):
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def deep_text(levels, leaf="1"):
    return "[" * levels + leaf + "]" * levels


def test_json_equal_is_iterative():
    assert judge.json_equal(deep_list(100000), deep_list(100000)) is True
    assert judge.json_equal(deep_list(100000), deep_list(100000, leaf=2)) is False
    deep_dict = {}
    for _ in range(100000):
        deep_dict = {"a": deep_dict}
    assert judge.json_equal(deep_dict, deep_dict) is True


@pytest.mark.parametrize("expected,actual,equal", [
    (5, float("inf"), False),  # Infinity is no wildcard for any number
    (float("inf"), 1e308, False),
    (float("inf"), float("-inf"), False),
    (float("inf"), float("inf"), True),
    (float("nan"), float("nan"), True),
    (float("nan"), 0, False),
    (10 ** 400, float("inf"), False),
    ([1], [[1]], False),
    ({"a": [1]}, {"a": 1}, False),
    ([], {}, False),
])
def test_json_equal_edge_numbers_and_shapes(expected, actual, equal):
    assert judge.json_equal(expected, actual) is equal


HOSTILE_OUTPUTS = {
    # name: (expectedOutput, output, passed)
    "infinity-is-no-wildcard": ("5", "Infinity", False),
    "overflow-is-no-wildcard": ("5", "1e400", False),
    "infinity-equals-itself": ("Infinity", "Infinity", True),
    "nan-equals-itself": ("NaN", "NaN", True),
    "minus-infinity": ("-Infinity", "1e400", False),
    "int-too-long-for-python": ("1", "9" * 5000, False),
    "long-ints-equal-as-text": ("[%s]" % ("9" * 5000), "[ %s ]" % ("9" * 5000), True),
    "long-ints-differ": ("9" * 5000, "9" * 4999 + "8", False),
    "long-int-as-a-string": ("9" * 5000, '"%s"' % ("9" * 5000), False),
    "deep-and-equal": (deep_text(5000), deep_text(5000), True),  # compared as text
    "deep-white-space": ("[ " * 600 + "1" + " ]" * 600, deep_text(600), True),
    "deep-other-leaf": (deep_text(5000), deep_text(5000, "2"), False),
    "deep-one-level-less": (deep_text(5000), deep_text(4999), False),
    "deep-expected-shallow-output": (deep_text(5000), "1", False),
    "shallow-expected-deep-output": ("1", deep_text(5000), False),
    "deep-text-as-a-string": (deep_text(5000), '"%s"' % deep_text(5000), False),  # a wrong answer
    "deep-space-inside-strings": (deep_text(600, '"a b"'), deep_text(600, '"ab"'), False),
    "deep-unclosed": ("[" * 5000, "[" * 5000, False),  # not JSON, however deep
    "deep-mismatched": ("[" * 600 + "}" * 600, "[" * 600 + "}" * 600, False),
    "deep-escaped-backslash": (deep_text(600, r'"a\\"'), deep_text(600, r'"a\\"'), True),
    "deep-escaped-quote-never-ends": (deep_text(600, '"a\\"'), deep_text(600, '"a\\"'), False),
    "deep-only-output": ("1", "[" * 5000, False),
    "escaped-quotes": ("[1]", '"\\"' * 1000, False),
}


@pytest.mark.parametrize("expected,output,passed", HOSTILE_OUTPUTS.values(), ids=HOSTILE_OUTPUTS.keys())
def test_judge_output_of_hostile_outputs(expected, output, passed):
    assert judge.judge_output("function", expected, output) is passed


def test_parse_expected_never_raises():
    assert judge.parse_expected(deep_text(5000)) == deep_text(5000)  # too deep to hold: kept as text
    assert judge.parse_expected("[" * 5000) == "[" * 5000
    assert judge.parse_expected("9" * 5000) == "9" * 5000
    assert judge.parse_expected(deep_text(400)) == deep_list(400)


@pytest.mark.parametrize("output", [None, 5, b"1"])
def test_judge_output_of_non_text_is_a_fail(output):
    assert judge.judge_output("function", "1", output) is False
    assert judge.judge_output("stdio", "1", output) is False


def test_verdict_pass_needs_every_test_passed():
    assert judge.verdict_of(["passed"]) == "pass"
    assert judge.verdict_of([]) == "runtime_error"
    assert judge.verdict_of(["skipped"]) == "runtime_error"
    assert judge.verdict_of(["passed", "skipped"]) == "runtime_error"
    assert judge.verdict_of(["passed", "Passed"]) == "runtime_error"
    assert judge.verdict_of(["passed", "what"]) == "runtime_error"
    assert judge.verdict_of(["passed", None]) == "runtime_error"
    assert judge.verdict_of(["passed", ["passed"]]) == "runtime_error"
    assert judge.verdict_of(["failed", "skipped"]) == "runtime_error"  # skipped is worse than a plain fail
    assert judge.verdict_of(iter(["passed", "passed"])) == "pass"


def test_verdict_the_severe_one_wins_over_skipped():
    # What the executor builds: a compile error skips every test; a sandbox
    # killed by the deadline or by memory has that test plus skipped ones.
    assert judge.verdict_of(["skipped", "skipped"], compile_error=True) == "compile_error"
    assert judge.verdict_of(["passed", "timeout", "skipped", "skipped"]) == "timeout"
    assert judge.verdict_of(["passed", "memory_limit", "skipped"]) == "memory_limit"
    assert judge.verdict_of(["runtime_error", "failed"]) == "runtime_error"
    assert judge.verdict_of(["failed", "passed"]) == "fail"
