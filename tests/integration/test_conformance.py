"""Every record of the shared conformance set, through the engine."""
import pytest

from tests.conftest import CONFORMANCE, load_conformance

RECORDS = load_conformance()


def same(got, want):
    return got == want and type(got) is type(want)


@pytest.mark.docker
@pytest.mark.parametrize("rec", RECORDS, ids=[r["name"] if r else "missing" for r in RECORDS])
def test_conformance(rec, run_job):
    assert rec is not None, "conformance set not found at %s" % CONFORMANCE
    exp, res = rec["expect"], run_job(rec["job"])
    assert res["id"] == rec["job"]["id"]
    assert res["status"] == exp["status"], res
    if exp["status"] == "error":
        assert res["error"]["code"] == exp["error_code"] and res.get("results", []) == [], res
        return
    assert res["verdict"] == exp["verdict"], res
    assert len(res["results"]) == len(exp["results"])
    for got, want in zip(res["results"], exp["results"], strict=True):
        for key, value in want.items():
            if key == "errorContains":
                assert value in got.get("error", ""), got
            else:
                assert key in got and same(got[key], value), (key, got.get(key), value)


BOM_JOBS = {
    "python-function": {"language": "python", "code": "\ufeffdef solution(n):\n    return n * 2\n"},
    "python-stdio": {"language": "python", "mode": "stdio", "code": "\ufeffprint(int(input()) * 2)\n"},
    "javascript-function": {"language": "javascript", "code": "\ufefffunction solution(n) { return n * 2; }\n"},
    "javascript-stdio": {"language": "javascript", "mode": "stdio",
                         "code": "\ufeffconst n = Number(require('fs').readFileSync(0, 'utf8'));\n"
                                 "console.log(n * 2);\n"},
}


@pytest.mark.docker
@pytest.mark.parametrize("name", sorted(BOM_JOBS))
def test_a_source_starting_with_a_bom_runs(name, run_job):
    res = run_job(dict(BOM_JOBS[name], testCases=[{"input": "21", "expectedOutput": "42"}]))
    assert res["status"] == "completed" and res["verdict"] == "pass", res
