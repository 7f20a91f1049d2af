import json

import pytest

from execd import jobs
from execd.config import load_settings
from execd.errors import JobError

SETTINGS = load_settings(None, environ={})


def base(**over):
    job = {"language": "python", "code": "def solution(n):\n    return n\n", "testCases": [{"input": "1"}]}
    job.update(over)
    return job


def code_of(raw):
    with pytest.raises(JobError) as info:
        jobs.validate(jobs.decode(raw), SETTINGS)
    return info.value.code


def test_defaults():
    job = jobs.validate(base(), SETTINGS)
    assert job.mode == "function" and job.entry_point == "solution"
    assert job.time_limit_ms == 10000 and job.memory_limit_mb == 256
    assert len(job.id) == 36


@pytest.mark.parametrize("raw,code", [
    (b"not json", "invalid_job"),
    (b"\xff\xfe", "invalid_job"),
    ("[1, 2]", "invalid_job"),
    (base(id="bad id!"), "invalid_job"),
    (base(id="x" * 129), "invalid_job"),
    (base(language=None), "invalid_job"),
    (base(language="cobol"), "unsupported_language"),
    (base(code=None), "invalid_job"),
    (base(code=5), "invalid_job"),
    (base(code="x" * 65537), "code_too_large"),
    (base(code="é" * 32769), "code_too_large"),
    (base(mode="repl"), "invalid_job"),
    (base(entryPoint="os.system"), "invalid_job"),
    (base(entryPoint="a; import os"), "invalid_job"),
    (base(testCases={"input": "1"}), "invalid_job"),
    (base(testCases=[]), "invalid_job"),
    (base(testCases=[{"input": "1"}] * 65), "too_many_tests"),
    (base(testCases=[{"input": 5}]), "invalid_job"),
    (base(testCases=["1"]), "invalid_job"),
    (base(testCases=[{"input": "1", "expectedOutput": 1}]), "invalid_job"),
    (base(testCases=[{"input": "1, ]"}]), "invalid_job"),
    (base(testCases=[{"input": '"%s"' % ("a" * 600000)}] * 2), "input_too_large"),
    (base(timeLimitMs=10001), "limit_exceeded"),
    (base(timeLimitMs=0), "invalid_job"),
    (base(timeLimitMs="100"), "invalid_job"),
    (base(timeLimitMs=True), "invalid_job"),
    (base(memoryLimitMb=257), "limit_exceeded"),
    (base(memoryLimitMb=1), "invalid_job"),
])
def test_refusals(raw, code):
    assert code_of(raw) == code


def test_aliases_and_stdio_inputs_are_free_text():
    assert jobs.validate(base(language="PY"), SETTINGS).language.name == "python"
    assert jobs.validate(base(language="node"), SETTINGS).language.name == "javascript"
    job = jobs.validate(base(mode="stdio", testCases=[{"input": "not json at all\n"}]), SETTINGS)
    assert job.tests[0].input == "not json at all\n"


def test_javascript_identifiers_allow_dollar():
    assert jobs.validate(base(language="js", entryPoint="$solve"), SETTINGS).entry_point == "$solve"
    assert code_of(base(entryPoint="$solve")) == "invalid_job"


def test_error_result_shape():
    res = jobs.error_result("a:1", "invalid_job", "nope")
    assert res == {"id": "a:1", "status": "error", "error": {"code": "invalid_job", "message": "nope"}, "results": []}
    assert jobs.job_id_of({"id": "bad id"}) is None


# -- hostile input: only JobError, never a crash (contract v1.1) --------------

DEEP = "[" * 5000 + "]" * 5000
FIELDS = '"language": "python", "code": "def solution(n):\\n    return n\\n", "testCases": [{"input": "1"}]'


@pytest.mark.parametrize("body", [
    DEEP.encode(),
    ('{"a":' * 5000 + "1" + "}" * 5000).encode(),
    b"[" * 5000,
    ("{%s, \"x\": %s}" % (FIELDS, "[" * 65 + "]" * 65)).encode(),
    ("{%s, \"timeLimitMs\": 1e400}" % FIELDS).encode(),
    ("{%s, \"timeLimitMs\": -1e400}" % FIELDS).encode(),
    ("{%s, \"memoryLimitMb\": NaN}" % FIELDS).encode(),
    ("{%s, \"timeLimitMs\": Infinity}" % FIELDS).encode(),
    ("{%s, \"timeLimitMs\": -Infinity}" % FIELDS).encode(),
    ("{%s, \"memoryLimitMb\": %s}" % (FIELDS, "1" + "0" * 5000)).encode(),
    ('{"language": "python", "code": "\\ud800", "testCases": [{"input": "1"}]}').encode(),
    ('{%s, "\\udc00": 1}' % FIELDS).encode(),
    b'{"language": "\xff\xfe"}',
    b"\xed\xa0\x80",  # a surrogate encoded as UTF-8 is not UTF-8
    b"[1, 2, 3]", b'"a job"', b"42", b"null", b"", b"\x00" * 10, b'{"language": ',
    '{"code": "\ud800"}',  # a str body holding a raw surrogate
])
def test_hostile_bodies_are_invalid_jobs(body):
    with pytest.raises(JobError) as info:
        jobs.decode(body, max_bytes=1 << 20)
    assert info.value.code == "invalid_job"


@pytest.mark.parametrize("body", [None, 5, ["a"], object()])
def test_decode_of_a_non_text_body_is_an_invalid_job(body):
    with pytest.raises(JobError) as info:
        jobs.decode(body, max_bytes=100)
    assert info.value.code == "invalid_job"


def test_decode_refusals_say_why():
    def message(body):
        with pytest.raises(JobError) as info:
            jobs.decode(body)
        return info.value.message
    assert "64" in message(DEEP)
    assert "out of range" in message('{"t": 1e400}')
    assert "NaN is not a JSON number" in message('{"t": NaN}')
    assert "digits" in message('{"t": %s}' % ("9" * 5000))
    assert "surrogate" in message('{"t": "\\ud800"}')
    assert "UTF-8" in message(b"\xff")
    assert message("[1]") == "the job must be a JSON object"


def test_decode_accepts_what_is_fine():
    assert jobs.decode(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}  # a leading BOM
    assert jobs.decode('\ufeff{"a": 1}') == {"a": 1}
    assert jobs.decode('{"a": "\\ud83d\\ude00"}') == {"a": "\U0001F600"}  # a surrogate pair is one character
    assert jobs.decode('{"a": %s}' % ("[" * 63 + "]" * 63))["a"]
    assert jobs.decode('{"a": "%s"}' % ("[" * 5000))["a"] == "[" * 5000  # brackets in strings do not nest
    assert jobs.decode('{"a": "\\"[[[", "b": %s}' % ("9" * 4300))["b"] == int("9" * 4300)
    assert jobs.decode({"a": 1}) == {"a": 1}
    with pytest.raises(JobError) as info:
        jobs.decode(b"{}" + b" " * 100, max_bytes=10)
    assert info.value.code == "input_too_large"


@pytest.mark.parametrize("text,depth", [
    ("", 0), ("1", 0), ("[]", 1), ("[[1], {\"a\": [2]}]", 3), ('["]]]]", "\\"[[["]', 1),
    ('"\\\\"[[', 2), ('"unterminated [[[', 0), ("]]][", 0),
])
def test_nesting_depth(text, depth):
    assert jobs.nesting_depth(text) == depth


@pytest.mark.parametrize("value", [
    float("inf"), float("-inf"), float("nan"), 1.5, -0.25, "100", True, False, [100], {"a": 1},
])
def test_int_fields_must_be_whole_numbers(value):
    assert code_of(base(timeLimitMs=value)) == "invalid_job"
    assert code_of(base(memoryLimitMb=value)) == "invalid_job"


@pytest.mark.parametrize("value", [10 ** 5000, 1e300, float(2 ** 1023)], ids=["10**5000", "1e300", "2**1023"])
def test_huge_limits_are_over_the_ceiling(value):
    assert code_of(base(timeLimitMs=value)) == "limit_exceeded"
    assert code_of(base(memoryLimitMb=value)) == "limit_exceeded"


def test_a_huge_limit_is_named_without_printing_it():
    with pytest.raises(JobError) as info:
        jobs.validate(base(timeLimitMs=10 ** 5000), SETTINGS)
    assert "about 5000 digits" in info.value.message


def test_a_message_the_size_of_the_limit_is_scanned_quickly():
    for body in (b"[" * (4 << 20), b'["' + b'\\"' * (1 << 20), b'[""' * (1 << 20)):
        with pytest.raises(JobError):
            jobs.decode(body, max_bytes=4 << 20)


def test_huge_negative_limits_are_invalid():
    assert code_of(base(timeLimitMs=-10 ** 5000)) == "invalid_job"
    assert code_of(base(memoryLimitMb=-10 ** 5000)) == "invalid_job"


def test_whole_floats_are_accepted():
    job = jobs.validate(base(timeLimitMs=2000.0, memoryLimitMb=128.0), SETTINGS)
    assert (job.time_limit_ms, job.memory_limit_mb) == (2000, 128)


@pytest.mark.parametrize("test_input", [
    DEEP, "[" * 501 + "]" * 501, "NaN", "Infinity", "-Infinity", "1e400", "9" * 5000, "[1, NaN]",
])
def test_hostile_function_inputs_are_invalid_jobs(test_input):
    assert code_of(base(testCases=[{"input": test_input, "expectedOutput": "1"}])) == "invalid_job"


def test_deep_function_input_through_the_wire_is_an_invalid_job():
    body = json.dumps(base(testCases=[{"input": DEEP, "expectedOutput": "1"}])).encode()
    assert code_of(body) == "invalid_job"


def test_function_inputs_may_nest_up_to_the_limit():
    deepest = "[" * jobs.MAX_INPUT_NESTING + "]" * jobs.MAX_INPUT_NESTING
    assert jobs.validate(base(testCases=[{"input": deepest}]), SETTINGS).tests[0].input == deepest
    too_deep = "[" + deepest + "]"
    assert code_of(base(testCases=[{"input": too_deep}])) == "invalid_job"
    job = jobs.validate(base(mode="stdio", testCases=[{"input": DEEP}]), SETTINGS)  # stdio input is free text
    assert job.tests[0].input == DEEP


@pytest.mark.parametrize("field", ["code", "id", "language", "entryPoint"])
def test_lone_surrogates_in_text_fields_are_invalid(field):
    assert code_of(base(**{field: "a\ud800"})) == "invalid_job"


@pytest.mark.parametrize("case", [{"input": "\"\ud800\""}, {"input": "1", "expectedOutput": "\udfff"}])
def test_lone_surrogates_in_test_cases_are_invalid(case):
    assert code_of(base(testCases=[case])) == "invalid_job"
    assert code_of(base(mode="stdio", testCases=[case])) == "invalid_job"


@pytest.mark.parametrize("language,code", [
    ("python", "\ufeffdef solution(n):\n    return n\n"),
    ("javascript", "\ufefffunction solution(n) { return n; }"),
])
def test_a_leading_bom_is_dropped_from_code(language, code):
    job = jobs.validate(base(language=language, code=code), SETTINGS)
    assert job.code == code[1:]
    assert jobs.validate(jobs.decode(json.dumps(base(language=language, code=code))), SETTINGS).code == code[1:]


def test_only_one_bom_is_dropped_and_size_counts_without_it():
    assert jobs.validate(base(code="\ufeff\ufeffx"), SETTINGS).code == "\ufeffx"
    assert jobs.validate(base(code="\ufeff" + "x" * 65536), SETTINGS).code == "x" * 65536


@pytest.mark.parametrize("given,echoed", [
    ("python", "python"), ("PY", "python"), ("node", "javascript"), ("cobol", None), ("x" * 1000, None),
    ("\ud800", None), (None, None), (5, None), (["python"], None),
])
def test_error_result_echoes_only_a_resolved_language(given, echoed):
    res = jobs.error_result("a:1", "invalid_job", "nope", given)
    assert res.get("language") == echoed
    json.dumps(res).encode("utf-8")
