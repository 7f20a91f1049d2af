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
