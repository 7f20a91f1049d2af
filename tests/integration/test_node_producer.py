"""examples/node, the Node.js producer, against the real broker and a real daemon.

`submit.js` is run as a battle service would run it; the client module is also
driven from an inline script with several jobs in flight on one connection.
node, npm and examples/node/node_modules are provisioned by .ci/provision:
missing, these tests fail rather than skip.
"""
import json
import os
import pathlib
import shutil
import subprocess
import time
import uuid

import pika
import pytest

from tests.integration.test_daemon import TRIVIAL, Daemon, served

pytestmark = pytest.mark.docker

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "node"
URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


@pytest.fixture(scope="module")
def node():
    """The node binary, with the example's dependencies installed."""
    path = shutil.which("node")
    if path is None or shutil.which("npm") is None:
        pytest.fail("node and npm are required (run .ci/provision, which installs them)", pytrace=False)
    if not (EXAMPLE / "node_modules" / "amqplib" / "package.json").exists():
        pytest.fail("examples/node/node_modules is missing (run .ci/provision, which runs npm ci there)",
                    pytrace=False)
    return path


@pytest.fixture(scope="module")
def daemon(node, broker, docker_client, tmp_path_factory):
    tag = uuid.uuid4().hex[:8]
    jobs, results = "node_example_jobs-" + tag, "node_example_results-" + tag
    # This checkout's execd, whatever the installed one is.
    pythonpath = ":".join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    d = Daemon(tmp_path_factory.mktemp("node-daemon"), EXECUTION_QUEUE=jobs, RESULT_QUEUE=results,
               PYTHONPATH=pythonpath)
    d.jobs, d.results, d.dead = jobs, results, jobs + ".dead"
    yield from served(d, broker, docker_client)


def submit(node, tmp_path, job, queue, timeout_ms=90000, timeout=150):
    job_file = tmp_path / ("job-%s.json" % uuid.uuid4().hex[:8])
    job_file.write_text(json.dumps(job))
    started = time.monotonic()
    proc = subprocess.run([node, str(EXAMPLE / "submit.js"), str(job_file), "--url", URL, "--queue", queue,
                           "--timeout-ms", str(timeout_ms)], capture_output=True, text=True, timeout=timeout)
    proc.elapsed = time.monotonic() - started
    proc.result = json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc


def test_passing_job_exits_0(node, daemon, tmp_path):
    proc = submit(node, tmp_path, dict(TRIVIAL, id="node-pass-1"), daemon.jobs)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    result = proc.result
    # The reply matched on correlationId carries the job's own id back.
    assert result["id"] == "node-pass-1"
    assert result["status"] == "completed" and result["verdict"] == "pass"
    assert result["results"][0]["output"] == "42"


def test_failing_job_exits_1(node, daemon, tmp_path):
    job = dict(TRIVIAL, testCases=[{"input": "21", "expectedOutput": "43"}])
    proc = submit(node, tmp_path, job, daemon.jobs)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    result = proc.result
    assert result["status"] == "completed" and result["verdict"] == "fail"
    assert result["results"][0]["status"] == "failed" and result["results"][0]["output"] == "42"
    uuid.UUID(result["id"])  # the client gave the job an id


def test_invalid_job_is_an_answer_and_exits_2(node, daemon, tmp_path):
    proc = submit(node, tmp_path, {"language": "python", "testCases": [{"input": "1"}]}, daemon.jobs)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.result["status"] == "error" and proc.result["results"] == []
    assert proc.result["error"]["code"] == "invalid_job"


def test_timeout_exits_2_quickly(node, broker, tmp_path):
    """A queue that exists but that no one consumes: the publish is confirmed,
    the answer never comes, the call gives up after --timeout-ms."""
    conn = pika.BlockingConnection(pika.URLParameters(broker))
    try:
        idle = conn.channel().queue_declare("node_example_idle-" + uuid.uuid4().hex[:8], exclusive=True).method.queue
        proc = submit(node, tmp_path, TRIVIAL, idle, timeout_ms=1500, timeout=30)
    finally:
        conn.close()  # exclusive: the queue and the job in it go with the connection
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert "ExecdTimeoutError" in proc.stderr and "within 1500 ms" in proc.stderr
    assert "had queued it" in proc.stderr  # the broker had confirmed the publish
    assert 1.5 <= proc.elapsed < 10


def test_unroutable_publish_is_an_error(node, tmp_path):
    proc = submit(node, tmp_path, TRIVIAL, "node_example_absent-" + uuid.uuid4().hex[:8], timeout_ms=30000,
                  timeout=30)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "ExecdPublishError" in proc.stderr and "NO_ROUTE" in proc.stderr
    assert proc.elapsed < 10  # the broker's return, not the timeout


CONCURRENT = r"""
const { ExecdClient } = require(process.argv[1]);
const [url, queue] = process.argv.slice(2);
(async () => {
  const client = await ExecdClient.connect(url, { queue, timeoutMs: 120000 });
  try {
    const calls = [1, 2, 3, 4, 5].map(async (k) => {
      const job = {
        language: 'python',
        code: `def solution(n):\n    return n * ${k}\n`,
        testCases: [{ input: '100', expectedOutput: String(100 * k) }],
      };
      if (k <= 3) job.id = `node-concurrent-${k}`;
      const result = await client.execute(job);
      return { k, id: result.id, verdict: result.verdict, output: result.results[0].output, jobHasId: 'id' in job };
    });
    process.stdout.write(JSON.stringify(await Promise.all(calls)));
  } finally {
    await client.close();
  }
})().catch((err) => { console.error(err); process.exitCode = 3; });
"""


def test_concurrent_calls_on_one_connection(node, daemon):
    proc = subprocess.run([node, "-e", CONCURRENT, str(EXAMPLE / "execd-client.js"), URL, daemon.jobs],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    answers = json.loads(proc.stdout)
    assert [a["k"] for a in answers] == [1, 2, 3, 4, 5]
    for a in answers:
        # Each caller got its own job's answer: the output only its code computes.
        assert a["output"] == str(100 * a["k"]) and a["verdict"] == "pass", a
        if a["k"] <= 3:
            assert a["id"] == "node-concurrent-%d" % a["k"]
        else:
            uuid.UUID(a["id"])
            assert not a["jobHasId"]  # the caller's object was not modified
    assert len({a["id"] for a in answers}) == 5


CONNECTION_LOSS = r"""
const { ExecdClient, ExecdConnectionError } = require(process.argv[1]);
const [url, queue] = process.argv.slice(2);
(async () => {
  const client = await ExecdClient.connect(url, { queue, timeoutMs: 20000 });
  const pending = client.execute({ language: 'python', code: 'x', testCases: [{ input: '1' }] }).then(
    () => 'resolved', (err) => err);
  // The socket dies under the client (amqplib 0.10's stream: a network failure).
  setTimeout(() => client.connection.connection.stream.destroy(new Error('simulated network loss')), 300);
  const err = await pending;
  const after = await client.execute({ language: 'python' }).then(() => 'resolved', (e) => e);
  await client.close();
  process.stdout.write(JSON.stringify({
    name: err.name, typed: err instanceof ExecdConnectionError, message: err.message,
    afterTyped: after instanceof ExecdConnectionError,
  }));
})().catch((err) => { console.error(err); process.exitCode = 3; });
"""


def test_connection_loss_rejects_pending_calls(node, broker):
    conn = pika.BlockingConnection(pika.URLParameters(broker))
    try:
        idle = conn.channel().queue_declare("node_example_idle-" + uuid.uuid4().hex[:8], exclusive=True).method.queue
        started = time.monotonic()
        proc = subprocess.run([node, "-e", CONNECTION_LOSS, str(EXAMPLE / "execd-client.js"), URL, idle],
                              capture_output=True, text=True, timeout=60)
    finally:
        conn.close()
    assert proc.returncode == 0, proc.stderr
    outcome = json.loads(proc.stdout)
    assert outcome["typed"] and outcome["name"] == "ExecdConnectionError", outcome
    assert "simulated network loss" in outcome["message"]
    assert outcome["afterTyped"]  # a client whose connection is gone refuses new calls
    assert time.monotonic() - started < 15  # rejected at the loss, not at the 20 s timeout
