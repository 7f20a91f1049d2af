"""The machine-readable contract (execd/schemas): the JSON Schemas agree with
the shared examples, with the code that validates jobs and builds results,
and the OpenAPI document is valid 3.1, self-contained and served open."""
import json
import re

import falcon
import falcon.testing
import jsonschema
import pytest
from hypothesis import given, settings as hsettings
from hypothesis import strategies as st
from openapi_spec_validator import validate as validate_openapi

from execd import jobs, judge, languages, schemas, signature
from execd.config import load_settings
from execd.errors import ERROR_CODES, REFUSAL_CODES
from execd.executor import Executor
from execd.http.app import STATUS_OF_CODE, Authenticator, create_app
from execd.sandbox import Outcome
from tests.conftest import ROOT

EXAMPLES = ROOT.parent / "shared" / "spec" / "examples"
SETTINGS = load_settings(None, environ={})
TEST_STATUSES = ["passed", "failed", "timeout", "memory_limit", "runtime_error", "skipped"]


def example_records():
    files = sorted(EXAMPLES.glob("*.jsonl"))
    assert files, "no examples at %s" % EXAMPLES  # a missing contract is a failure, not a skip
    return [(f.name, json.loads(line)) for f in files for line in f.read_text("utf-8").splitlines() if line.strip()]


RECORDS = example_records()


def is_valid(validate, instance):
    try:
        validate(instance)
    except jsonschema.ValidationError:
        return False
    return True


# -- the schemas themselves ----------------------------------------------------

@pytest.mark.parametrize("schema", [schemas.job_schema(), schemas.result_schema()], ids=["job", "result"])
def test_schemas_are_draft_2020_12(schema):
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


# -- the shared examples ---------------------------------------------------------

# The job schema is the job's structure. Of the refusals, only invalid_job (a
# missing or mistyped field) and unsupported_language (the schema lists the
# languages) are structural; the others refuse a well-formed job against a
# configured ceiling, so the schema accepts those jobs.
STRUCTURAL_REFUSALS = {"invalid_job", "unsupported_language"}


@pytest.mark.parametrize("source,rec", RECORDS, ids=["%s:%s" % (s, r["name"]) for s, r in RECORDS])
def test_example_job_is_valid_unless_refused_for_its_structure(source, rec):
    expect = rec["expect"]
    refused_for_structure = expect["status"] == "error" and expect["error_code"] in STRUCTURAL_REFUSALS
    assert is_valid(schemas.validate_job, rec["job"]) is not refused_for_structure, expect


def _values_conform(schema, values):
    validator = jsonschema.Draft202012Validator(schema)
    for value in values:
        assert validator.is_valid(value), (value, schema)


@pytest.mark.parametrize("source,rec", RECORDS, ids=["%s:%s" % (s, r["name"]) for s, r in RECORDS])
def test_example_expectation_uses_only_values_the_result_schema_allows(source, rec):
    # An expectation lists only some fields of a result: each is checked
    # against its part of the schema; a refusal is a whole result and is checked whole.
    expect, result = rec["expect"], schemas.result_schema()
    test_fields = result["$defs"]["TestResult"]["properties"]
    if expect["status"] == "error":
        schemas.validate_result({"id": rec["job"]["id"], "status": "error", "results": expect["results"],
                                 "error": {"code": expect["error_code"], "message": rec["why"]}})
        return
    _values_conform(result["properties"]["status"], [expect["status"]])
    _values_conform(result["properties"]["verdict"], [expect["verdict"]])
    for test in expect["results"]:
        for key, value in test.items():
            if key != "errorContains":
                _values_conform(test_fields[key], [value])


# -- the schemas agree with the code ---------------------------------------------

def test_enums_are_the_codes():
    job, result = schemas.job_schema(), schemas.result_schema()
    names = {lang.name for lang in languages.LANGUAGES.values()}
    aliases = {a for lang in languages.LANGUAGES.values() for a in lang.aliases}
    assert set(job["properties"]["language"]["enum"]) == names | aliases
    assert set(result["properties"]["language"]["enum"]) == names
    assert [m for m in job["properties"]["mode"]["enum"] if m] == list(jobs.MODES)
    assert result["$defs"]["Error"]["properties"]["code"]["enum"] == list(ERROR_CODES)
    assert result["properties"]["verdict"]["enum"] == ["pass", *judge.SEVERITY]
    assert result["$defs"]["TestResult"]["properties"]["status"]["enum"] == TEST_STATUSES
    assert job["$defs"]["Signature"]["properties"]["params"]["maxItems"] == signature.MAX_PARAMS


def _type_schema():
    job = schemas.job_schema()
    return dict(job["$defs"]["SignatureType"], **{"$schema": job["$schema"]})


def _property_schema(name):
    job = schemas.job_schema()
    return dict(job["properties"][name], **{"$schema": job["$schema"]})


@hsettings(max_examples=300, deadline=None)
@given(st.one_of(st.text(alphabet="intlogfabsr[] \t\n\x1c\u3000", max_size=14),
                 st.sampled_from(signature.SCALARS).map(lambda s: s + "[]" * 3)))
def test_signature_type_pattern_is_the_parser(text):
    try:
        signature.parse_type(text)
        parses = True
    except ValueError:
        parses = False
    assert jsonschema.Draft202012Validator(_type_schema()).is_valid(text) is parses


@hsettings(max_examples=300, deadline=None)
@given(st.one_of(st.text(alphabet="aZ09._:-/ \n", min_size=0, max_size=6),
                 st.text(alphabet="a", min_size=126, max_size=130)))
def test_id_rule_is_the_validator(text):
    assert jsonschema.Draft202012Validator(_property_schema("id")).is_valid(text) \
        is bool(jobs.ID_PATTERN.fullmatch(text))


@hsettings(max_examples=300, deadline=None)
@given(st.one_of(st.text(alphabet="aZ_$09-\n ", min_size=0, max_size=6),
                 st.text(alphabet="a", min_size=126, max_size=130)))
def test_entry_point_rule_is_the_union_of_the_languages(text):
    accepted = any(lang.valid_entry_point(text) for lang in languages.LANGUAGES.values())
    assert jsonschema.Draft202012Validator(_property_schema("entryPoint")).is_valid(text) is accepted


# -- negative cases: the schemas do refuse -----------------------------------------

GOOD_JOB = {"language": "python", "code": "def solution(n):\n    return n\n", "testCases": [{"input": "1"}]}
PASSED = {"passed": True, "status": "passed", "output": "1", "executionTime": 3, "memoryKb": 9000,
          "stdout": "", "stderr": ""}
GOOD_RESULT = {"id": "j-1", "status": "completed", "verdict": "pass", "language": "python",
               "results": [PASSED], "totalTime": 3}


@pytest.mark.parametrize("change", [
    {"testCases": {"input": "1"}}, {"testCases": []}, {"testCases": [{"input": 5}]}, {"code": None},
    {"timeLimitMs": "1000"}, {"timeLimitMs": 0}, {"timeLimitMs": 1.5}, {"memoryLimitMb": True},
    {"mode": "repl"}, {"language": "cobol"}, {"id": "has space"}, {"id": "x" * 129}, {"entryPoint": "1st"},
    {"signature": {"params": ["int"]}}, {"signature": {"params": ["int[][][]"], "returns": "int"}},
    {"signature": {"params": [], "returns": "int", "extra": 1}},
], ids=repr)
def test_job_schema_refuses_what_the_validator_refuses(change):
    job = dict(GOOD_JOB, **change)
    assert not is_valid(schemas.validate_job, job)
    with pytest.raises(jobs.JobError):
        jobs.validate(job, SETTINGS)


def test_job_schema_accepts_nulls_as_absent_and_unknown_fields_as_the_validator_does():
    job = dict(GOOD_JOB, id=None, mode=None, entryPoint=None, signature=None, timeLimitMs=None,
               memoryLimitMb=None, testCases=[{"input": "1", "expectedOutput": None}], comment="ignored")
    schemas.validate_job(job)
    jobs.validate(job, SETTINGS)
    schemas.validate_job(dict(GOOD_JOB, timeLimitMs=2000.0))  # a whole float is a whole number


def _without(mapping, key):
    return {k: v for k, v in mapping.items() if k != key}


@pytest.mark.parametrize("result", [
    _without(GOOD_RESULT, "status"),
    _without(GOOD_RESULT, "verdict"),
    dict(GOOD_RESULT, status="done"),
    dict(GOOD_RESULT, language="py"),
    dict(GOOD_RESULT, results=[dict(PASSED, status="failed", passed=False)]),
    dict(GOOD_RESULT, results=[]),
    dict(GOOD_RESULT, results=[dict(PASSED, passed=False)]),
    dict(GOOD_RESULT, results=[_without(PASSED, "stderr")]),
    dict(GOOD_RESULT, results=[dict(PASSED, executionTime=-1)]),
    dict(GOOD_RESULT, error={"code": "internal_error", "message": "m"}),
    dict(GOOD_RESULT, verdict="timeout", results=[dict(PASSED, status="failed", passed=False)]),
    dict(GOOD_RESULT, verdict="runtime_error",
         results=[dict(PASSED, status="runtime_error", passed=False)]),  # without its error
    dict(GOOD_RESULT, verdict="compile_error", results=[dict(PASSED, status="skipped", passed=False)]),
    {"id": "j-1", "status": "error", "error": {"code": "nope", "message": "m"}, "results": []},
    {"id": "j-1", "status": "error", "error": {"code": "invalid_job", "message": "m"}, "results": [PASSED]},
    {"id": "j-1", "status": "error", "results": []},
], ids=lambda r: json.dumps(r)[:90])
def test_result_schema_refuses_broken_results(result):
    schemas.validate_job(GOOD_JOB)
    schemas.validate_result(GOOD_RESULT)
    with pytest.raises(jsonschema.ValidationError):
        schemas.validate_result(result)


# -- results as the code builds them (no Docker: outcomes made here) ----------------

def record(**fields):
    rec = {"timedOut": False, "oom": False, "exitCode": 0, "signal": None, "result": None, "stdout": "",
           "stdoutTruncated": False, "stderr": "", "stderrTruncated": False, "timeMs": 4, "memoryKb": 8000}
    rec.update(fields)
    return rec


def returned(output):
    return record(result={"ok": True, "output": output})


FUNCTION_JOB = dict(GOOD_JOB, testCases=[{"input": "1", "expectedOutput": "1"}, {"input": "2", "expectedOutput": "3"},
                                        {"input": "3"}])
STDIO_JOB = dict(GOOD_JOB, mode="stdio", testCases=[{"input": "a"}, {"input": "b", "expectedOutput": "b"},
                                                    {"input": "c", "expectedOutput": "c"}])
OUTCOMES = {
    "pass-fail-unexpected": (FUNCTION_JOB, Outcome(accepted=True, done=True,
                                                   records=[returned("1"), returned("2"), returned("3")])),
    "raised": (FUNCTION_JOB, Outcome(accepted=True, done=True, records=[
        returned("1"), record(result={"ok": False, "error": "ZeroDivisionError: division by zero"}),
        record(result=None, signal=9)])),
    "timeout-and-oom": (FUNCTION_JOB, Outcome(accepted=True, done=True, records=[
        record(timedOut=True, timeMs=1000), record(oom=True, memoryKb=None), returned("3")])),
    "deadline": (FUNCTION_JOB, Outcome(accepted=True, failure="deadline", records=[returned("1")])),
    "sandbox-oom": (FUNCTION_JOB, Outcome(accepted=True, failure="oom")),
    "protocol": (FUNCTION_JOB, Outcome(accepted=True, failure="protocol", protocol_error="junk",
                                       records=[returned("1")])),
    "exited": (FUNCTION_JOB, Outcome(accepted=True, failure="exited", exit_code=3)),
    "compile-error": (dict(GOOD_JOB, language="typescript"), Outcome(accepted=True, compile_error="TS1005")),
    "compiled-with-warnings": (dict(GOOD_JOB, language="typescript"), Outcome(
        accepted=True, done=True, compile_time_ms=900, compile_output="warning", records=[returned("1")])),
    "stdio": (STDIO_JOB, Outcome(accepted=True, done=True, records=[
        record(stdout="x" * 70000, stdoutTruncated=True), record(stdout="b\n"), record(exitCode=1, stderr="boom")])),
}


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_results_the_executor_builds_are_valid(name):
    raw, outcome = OUTCOMES[name]
    result = Executor(SETTINGS)._result(jobs.validate(raw, SETTINGS), outcome)
    schemas.validate_result(result)


@pytest.mark.parametrize("code", ERROR_CODES)
@pytest.mark.parametrize("job_id,language", [(None, None), ("a:1", "PY"), ("a:1", "cobol")])
def test_error_results_are_valid(code, job_id, language):
    schemas.validate_result(jobs.error_result(job_id, code, "message", language))


@pytest.mark.parametrize("body", [b"[]", b'{"id": "bad id", "language": "python"}', b"\xff",
                                  json.dumps(dict(GOOD_JOB, language="cobol")).encode(),
                                  json.dumps(dict(GOOD_JOB, timeLimitMs=10 ** 9)).encode()])
def test_refusals_the_executor_gives_are_valid(body):
    schemas.validate_result(Executor(SETTINGS).execute(body))


# -- the OpenAPI document ------------------------------------------------------------

def test_the_served_document_is_valid_openapi_3_1_and_self_contained():
    document = schemas.openapi_document()
    assert document["openapi"].startswith("3.1.")
    validate_openapi(document)
    refs = re.findall(r'"\$ref": "([^"]*)"', json.dumps(document))
    assert refs and all(ref.startswith("#/components/") for ref in refs), refs
    assert not re.search(r'"\$id"', json.dumps(document))


def test_the_repository_document_is_valid_with_its_relative_references():
    path = (ROOT / "execd" / "schemas" / "openapi.json").resolve()
    validate_openapi(json.loads(path.read_text("utf-8")), base_uri=path.as_uri())


def test_the_document_version_is_the_package_version():
    from execd import __version__

    assert schemas.openapi_document()["info"]["version"] == __version__


class StubEngine:
    def execute(self, raw, tick=None):
        raise AssertionError("not reached")

    def languages(self):
        return languages.describe_all()


class StubHealth:
    draining = False

    def report(self):
        return True, {}


def app():
    return create_app(SETTINGS, StubEngine(), StubHealth(), None, Authenticator(["key1"]))


def test_every_route_is_documented_with_exactly_its_methods():
    document, client = schemas.openapi_document(), falcon.testing.TestClient(app())
    assert set(document["paths"]) == set(app().intake.routes)
    for path, operations in document["paths"].items():
        documented = {m.upper() for m in operations}
        allowed = client.simulate_options(path, headers={"Authorization": "Bearer key1"}).headers["Allow"]
        assert documented == {m.strip() for m in allowed.split(",")}, path


def test_security_is_bearer_on_the_api_and_none_elsewhere():
    document = schemas.openapi_document()
    for path, operations in document["paths"].items():
        for operation in operations.values():
            want = [{"bearer": []}] if path.startswith("/api/") else []
            assert operation["security"] == want, path
            assert ("401" in operation["responses"]) is path.startswith("/api/"), path


def body_validator(document, response):
    """A validator of a documented JSON response body; its "#/components/..." references
    resolve because the document's components sit beside the schema, as in the document."""
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = response["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator(dict(schema, components=document["components"]))


def test_error_bodies_per_status_name_the_codes_the_app_maps_there():
    document = schemas.openapi_document()
    responses = document["paths"]["/api/execute"]["post"]["responses"]
    by_status = {}
    for code, status in STATUS_OF_CODE.items():
        by_status.setdefault(status.split()[0], set()).add(code)
    assert by_status["400"] == set(REFUSAL_CODES)
    for status, codes in by_status.items():
        validator = body_validator(document, responses[status])
        for code in ERROR_CODES:
            assert validator.is_valid({"error": {"code": code, "message": "m"}}) is (code in codes), (status, code)


def test_get_openapi_json_needs_no_credentials():
    client = falcon.testing.TestClient(app())
    got = client.simulate_get("/openapi.json")
    assert got.status_code == 200 and got.headers["Content-Type"] == falcon.MEDIA_JSON
    assert got.json == schemas.openapi_document()
    head = client.simulate_head("/openapi.json")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == got.headers["Content-Length"]


def test_documented_200_bodies_match_what_the_app_answers():
    document = schemas.openapi_document()
    client = falcon.testing.TestClient(app())
    answer = client.simulate_get("/api/languages", headers={"Authorization": "Bearer key1"}).json
    body_validator(document, document["paths"]["/api/languages"]["get"]["responses"]["200"]).validate(answer)
