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
