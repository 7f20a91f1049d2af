"""Signatures (contract v1.1): parsed and checked on the host before anything runs."""
import pytest

from execd import jobs, signature
from execd.config import load_settings
from execd.errors import JobError

SETTINGS = load_settings(None, environ={})


@pytest.mark.parametrize("text,depth", [("int", 0), ("long[]", 1), ("string[][]", 2), (" bool ", 0)])
def test_types_parse(text, depth):
    assert signature.parse_type(text).depth == depth


@pytest.mark.parametrize("text", ["int[][][]", "double", "", "Int", 3, "int[ ]"])
def test_unknown_types_are_refused(text):
    with pytest.raises(ValueError):
        signature.parse_type(text)


@pytest.mark.parametrize("value,kind,ok", [
    (5, "int", True), (2 ** 31, "int", False), (2 ** 31, "long", True), (2 ** 63, "long", False),
    (True, "int", False), (2.0, "int", True), (2.5, "int", False), (1, "float", True), (True, "bool", True),
    ("a", "string", True), ([1, 2], "int[]", True), ([1, "x"], "int[]", False), ([[1], []], "int[][]", True),
    ([1], "int[][]", False), (None, "string", False),
])
def test_values_conform(value, kind, ok):
    assert signature.conforms(value, signature.parse_type(kind)) is ok


def job(**extra):
    base = {"language": "python", "code": "def solution(a, b):\n    return a\n",
            "signature": {"params": ["int[]", "int"], "returns": "int"},
            "testCases": [{"input": "[1, 2], 3", "expectedOutput": "1"}]}
    base.update(extra)
    return base


def test_a_job_matching_its_signature_is_accepted():
    assert jobs.validate(job(), SETTINGS).signature.params[0].depth == 1


@pytest.mark.parametrize("change,message", [
    ({"testCases": [{"input": "[1, 2]", "expectedOutput": "1"}]}, "has 1 arguments; the signature has 2"),
    ({"testCases": [{"input": "[1, \"x\"], 3"}]}, "argument 1 is not a int[]"),
    ({"testCases": [{"input": "[1], 3", "expectedOutput": "\"one\""}]}, "expectedOutput is not a int"),
    ({"testCases": [{"input": "[1], 3", "expectedOutput": "one"}]}, "expectedOutput is not a int"),
    ({"signature": {"params": ["int"]}}, "signature.returns is required"),
    ({"signature": {"params": "int", "returns": "int"}}, "signature.params must be a list"),
    ({"signature": {"params": [], "returns": "int", "x": 1}}, "unknown fields"),
])
def test_a_job_breaking_its_signature_is_refused(change, message):
    with pytest.raises(JobError) as e:
        jobs.validate(job(**change), SETTINGS)
    assert e.value.code == "invalid_job" and message in e.value.message


def test_c_takes_arrays_one_level_deep_as_its_convention_says():
    two_d = {"language": "c", "code": "int solution(int n) { return n; }",
             "signature": {"params": ["int[][]"], "returns": "int"}, "testCases": [{"input": "[[1]]"}]}
    with pytest.raises(JobError) as e:
        jobs.validate(two_d, SETTINGS)
    assert e.value.code == "invalid_job" and "one level deep" in e.value.message
    # The same signature in stdio mode is not a function's: nothing to refuse.
    jobs.validate(dict(two_d, mode="stdio", testCases=[{"input": "1"}]), SETTINGS)
    # C++ and Rust take two levels.
    for language in ("cpp", "rust"):
        jobs.validate(dict(two_d, language=language), SETTINGS)
