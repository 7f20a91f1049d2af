"""Property tests: no input makes decode/validate raise anything but JobError, nor judging raise at all.

The threat is a publisher or a submission that has read this source
(contract v1.1: no message, however malformed, stops a worker).
"""
import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execd import jobs, judge
from execd.config import load_settings
from execd.errors import JobError

SETTINGS = load_settings(None, environ={})
FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text as JSON may carry it, lone surrogates included ("\ud800" escapes parse to them).
any_text = st.one_of(st.text(max_size=20), st.text(alphabet=st.characters(exclude_categories=()), max_size=20),
                     st.text(alphabet=st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=5))
# Up to 4000 digits: json.dumps cannot write longer ints (Python's int -> str limit).
numbers = st.one_of(st.integers(), st.integers(min_value=-(10 ** 4000), max_value=10 ** 4000),
                    st.floats(allow_nan=True, allow_infinity=True))
scalars = st.one_of(st.none(), st.booleans(), numbers, any_text)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(any_text, inner, max_size=4)),
                           max_leaves=20)

finite_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                           st.text(max_size=10))
finite_json = st.recursive(finite_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                   st.dictionaries(st.text(max_size=5), inner,
                                                                                   max_size=4)),
                           max_leaves=25)

# Texts that look like JSON, made from its own punctuation, so that deep
# nesting, unclosed strings and escapes come up often.
json_like_text = st.text(alphabet='[]{}",:\\ 0123456789.eE+-truefalsnNIfiy\ud800\ufeff', max_size=300)


def as_body(value):
    """A value as a job body; NaN, Infinity and lone surrogates are kept as Python writes them."""
    return json.dumps(value, ensure_ascii=True)


def decode_and_validate(body):
    try:
        return jobs.validate(jobs.decode(body, max_bytes=SETTINGS.max_message_bytes), SETTINGS)
    except JobError:
        return None


# -- decode / validate: a Job or JobError, nothing else -------------------------------------

@FAST
@given(st.binary(max_size=300))
def test_decode_of_any_bytes_raises_only_job_error(body):
    try:
        assert isinstance(jobs.decode(body, max_bytes=200), dict)
    except JobError:
        pass


@FAST
@given(json_like_text)
def test_decode_of_json_like_text_raises_only_job_error(text):
    for body in (text, text.encode("utf-8", "surrogatepass")):
        try:
            assert isinstance(jobs.decode(body), dict)
        except JobError:
            pass


@FAST
@given(st.integers(min_value=1, max_value=3000), st.sampled_from(["[", "{\"a\":", "[{\"a\":"]))
def test_any_depth_of_nesting_raises_only_job_error(depth, opener):
    closer = {"[": "]", "{\"a\":": "}", "[{\"a\":": "}]"}[opener]
    body = "{\"x\": %s1%s}" % (opener * depth, closer * depth)
    decode_and_validate(body)
    decode_and_validate(json.dumps({"language": "python", "code": "x", "testCases": [{"input": body}]}))


@FAST
@given(json_values)
def test_any_json_value_decodes_to_a_job_or_job_error(value):
    job = decode_and_validate(as_body(value))
    assert job is None or isinstance(job, jobs.Job)


def mostly(valid, hostile):
    """Usually a value that passes, sometimes a hostile one, so that jobs get far into validate()."""
    return st.integers(min_value=0, max_value=7).flatmap(lambda roll: hostile if roll == 0 else valid)


test_case = st.fixed_dictionaries({"input": mostly(st.sampled_from(["1", "[1, 2], 3", '"a"']), json_like_text)},
                                  optional={"expectedOutput": mostly(st.sampled_from(["1", "x"]), scalars)})
job_like = st.fixed_dictionaries({
    "language": mostly(st.sampled_from(["python", "js", "PY", " node "]), st.one_of(scalars, st.just("cobol"))),
    "code": mostly(st.sampled_from(["def solution(n):\n    return n\n", "\ufeffx", "\ufeff\ufeffx"]), scalars),
    "testCases": mostly(st.lists(test_case, min_size=1, max_size=3), json_values),
}, optional={
    "id": mostly(st.from_regex(r"[A-Za-z0-9._:-]{1,130}", fullmatch=True), scalars),
    "mode": mostly(st.sampled_from(["function", "stdio"]), scalars),
    "entryPoint": mostly(st.sampled_from(["solution", "$x"]), st.one_of(scalars, st.just("a.b"))),
    "timeLimitMs": mostly(st.integers(min_value=1, max_value=10000), st.one_of(numbers, st.just(10 ** 5000))),
    "memoryLimitMb": mostly(st.integers(min_value=64, max_value=256), st.one_of(numbers, st.just(-10 ** 5000))),
    "signature": json_values,
})


@FAST
@given(job_like)
def test_any_job_like_dict_is_a_job_or_job_error(raw):
    try:
        bodies = (raw, as_body(raw))
    except ValueError:  # an int too long for json.dumps: only the dict can carry it
        bodies = (raw,)
    for body in bodies:
        job = decode_and_validate(body)
        if job is not None:
            assert 0 < job.time_limit_ms <= SETTINGS.max_execution_time * 1000
            assert SETTINGS.min_memory <= job.memory_limit_mb <= SETTINGS.max_memory
            assert job.code == raw["code"].removeprefix("\ufeff")
            for text in (job.id, job.code, job.entry_point) + tuple(t.input for t in job.tests):
                text.encode("utf-8")  # everything that goes to the sandbox is text


@FAST
@given(st.one_of(scalars, json_values))
def test_error_result_is_always_serialisable(language):
    res = jobs.error_result(None, "invalid_job", "nope", language)
    json.dumps(res, allow_nan=False).encode("utf-8")
    assert res.get("language") in (None, "python", "javascript")


# -- judging never raises ------------------------------------------------------------------

@FAST
@given(json_like_text, json_like_text, st.sampled_from(["function", "stdio"]))
def test_judge_output_of_any_text_is_a_bool(expected, output, mode):
    assert judge.judge_output(mode, expected, output) in (True, False)
    assert judge.judge_output(mode, None, output) is None
    judge.parse_expected(expected)


@FAST
@given(json_values, json_values)
def test_json_equal_of_any_values_is_a_bool(expected, actual):
    assert judge.json_equal(expected, actual) in (True, False)
    assert judge.judge_output("function", as_body(expected), as_body(actual)) in (True, False)


@FAST
@given(finite_json)
def test_every_finite_value_equals_itself(value):
    assert judge.json_equal(value, value) is True
    assert judge.json_equal(value, json.loads(json.dumps(value))) is True
    assert judge.judge_output("function", json.dumps(value, indent=1), json.dumps(value, separators=(",", ":")))


@FAST
@given(finite_json, st.integers(min_value=0, max_value=3000))
def test_a_deep_value_equals_itself_at_any_depth(value, depth):
    text = "[" * depth + json.dumps(value) + "]" * depth
    assert judge.judge_output("function", text, text) is True
    assert judge.judge_output("function", text, "[" + text + "]") is False


@FAST
@given(st.floats(allow_nan=False), st.floats(allow_nan=False))
def test_infinity_equals_only_itself(a, b):
    if math.isinf(a) or math.isinf(b):
        assert judge.numbers_equal(a, b) is (a == b)


@FAST
@given(st.lists(st.sampled_from(["passed", "failed", "timeout", "memory_limit", "runtime_error", "skipped", "odd"]),
                max_size=6), st.booleans())
def test_verdict_is_pass_only_when_every_test_passed(statuses, compile_error):
    verdict = judge.verdict_of(statuses, compile_error)
    assert (verdict == "pass") is (not compile_error and bool(statuses) and all(s == "passed" for s in statuses))
    assert verdict in ("pass",) + judge.SEVERITY
