"""The engine: job -> sandbox run -> contract result.

Sandboxes come from a SandboxPool keyed by (language, memory limit), so a job
never runs under a higher memory limit than it asked for, and return to it
after a clean run to be reset and reused (SANDBOX_MAX_JOBS, SANDBOX_MAX_AGE).

Shared by the CLI, the queue consumers and the HTTP API, and it knows
nothing of any of them. `execute()` never raises for a bad job or a Docker
failure: both become the contract's error result.
"""
import dataclasses
import logging
import time

import docker
import docker.errors

from execd import images, jobs, judge, languages
from execd.errors import ExecdError, ImageError, JobError, SandboxKilled, SandboxOutOfMemory, SandboxUnavailable
from execd.pool import Remover, SandboxPool
from execd.sandbox import Outcome, Sandbox, SandboxSpec, own_kernel, reap_orphans

log = logging.getLogger("execd.executor")

DEADLINE_MARGIN_S = 2.0
DEADLINE_MARGIN_PER_TEST_S = 0.25


def docker_client(settings):
    """One client per process, created after any fork, with an explicit timeout."""
    try:
        client = docker.from_env(timeout=settings.docker_timeout, version="auto")
        client.ping()
        return client
    except docker.errors.DockerException as e:
        raise SandboxUnavailable("cannot reach the Docker engine: %s" % e) from e


def cut(text, limit):
    """`text` cut to at most `limit` UTF-8 bytes, on a character boundary."""
    if text is None:
        return "", False
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text, False
    return data[:limit].decode("utf-8", "ignore"), True


class Executor:
    """Runs contract jobs in warm sandboxes. Thread-safe; start() before use."""

    def __init__(self, settings, client=None, warm=True, observer=None):
        self.settings = settings
        self.client = client
        self.warm = warm
        self.observer = observer
        self.pool = None
        self.specs = {}
        self.remover = None
        self._docker_loses_oom_flags = own_kernel(settings.sandbox_runtime)

    # -- life cycle ----------------------------------------------------------

    def start(self):
        if self.client is None:
            self.client = docker_client(self.settings)
        missing = images.missing_images(self.client, self.settings.image_prefix)
        if missing:
            raise ImageError("sandbox images missing or stale: %s; run `execd images build`"
                             % ", ".join(sorted(missing.values())))
        removed = reap_orphans(self.client)
        if removed:
            log.info("removed %d sandboxes left by dead processes", removed)
        self.remover = Remover()
        for name, lang in languages.LANGUAGES.items():
            self.specs[name] = SandboxSpec(
                language=name,
                image=images.image_tag(lang, self.settings.image_prefix),
                memory_mb=self.settings.max_memory,
                pids_limit=self.settings.sandbox_pids_limit,
                tmpfs_mb=self.settings.sandbox_tmpfs_mb,
                cpus=self.settings.sandbox_cpus,
                nofile=self.settings.sandbox_nofile,
                fsize_mb=self.settings.sandbox_fsize_mb,
                runtime=self.settings.sandbox_runtime,
                build_dir_mb=lang.build_dir_mb,
                js_prestart=self.settings.js_prestart,
                instance=self.settings.instance_name,
            )
        s = self.settings
        floors = {(name, s.max_memory): (s.pool_size(name, lang.pool_size) if self.warm else 0)
                  for name, lang in languages.LANGUAGES.items()}
        self.pool = SandboxPool(self._start_sandbox, floors, self.remover, max_jobs=s.sandbox_max_jobs,
                                max_age=s.sandbox_max_age,
                                max_sandboxes=s.pool_max_sandboxes if self.warm else 0,
                                observer=self.observer, start_threads=s.pool_start_threads).start()
        return self

    def close(self):
        if self.pool is not None:
            self.pool.close()
        if self.remover is not None:
            self.remover.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def _start_sandbox(self, name, memory_mb):
        spec = self.specs[name]
        if memory_mb != spec.memory_mb:
            spec = dataclasses.replace(spec, memory_mb=memory_mb)
        sandbox = Sandbox.start(self.client, spec)
        if self.observer is not None:
            self.observer.sandbox_started(name, sandbox.start_ms / 1000.0)
        return sandbox

    def languages(self):
        return languages.describe_all()

    def ping(self):
        """True when the Docker engine answers; callers poll it while a job waits for the engine."""
        try:
            return bool(self.client.ping())
        except Exception:
            return False

    # -- jobs ------------------------------------------------------------------

    def execute(self, raw, tick=None):
        """A contract result for a raw job (bytes, str or dict).

        `tick`, if given, is called about once a second while the job runs.
        """
        decoded = None
        try:
            decoded = jobs.decode(raw, max_bytes=self.settings.max_message_bytes)
            job = jobs.validate(decoded, self.settings)
        except JobError as e:
            language = decoded.get("language") if isinstance(decoded, dict) else None
            return jobs.error_result(jobs.job_id_of(decoded), e.code, e.message, language)
        return self.run(job, tick)

    def run(self, job, tick=None):
        """A contract result for a validated Job."""
        try:
            return self._run(job, tick)
        except ExecdError as e:
            log.warning("job failed: %s", e.message, extra={"job_id": job.id, "code": e.code})
            return jobs.error_result(job.id, e.code, e.message, job.language.name)
        except (docker.errors.DockerException, OSError) as e:
            # An engine call that failed outside the sandbox's own handling
            # (a refused connection is an OSError): the job is not to blame.
            log.warning("Docker engine failed: %r", e, extra={"job_id": job.id})
            return jobs.error_result(job.id, "sandbox_unavailable", "the Docker engine failed: %s" % e,
                                     job.language.name)
        except Exception:
            log.exception("job failed unexpectedly", extra={"job_id": job.id})
            return jobs.error_result(job.id, "internal_error", "the service failed to run this job",
                                     job.language.name)

    def _run(self, job, tick):
        name = job.language.name
        s = self.settings
        request = {
            "mode": job.mode,
            "entryPoint": job.entry_point,
            "code": job.code,
            "tests": [t.input for t in job.tests],
            "timeLimitMs": job.time_limit_ms,
            "memoryLimitMb": job.memory_limit_mb,
            "maxOutputBytes": s.max_output_bytes,
            "maxResultBytes": s.max_compare_bytes,
        }
        if job.language.source:  # languages built from files in /box (exec languages, TypeScript)
            request["files"] = job.language.files(job)
        budget = job.time_limit_ms / 1000.0 * len(job.tests) + DEADLINE_MARGIN_S \
            + DEADLINE_MARGIN_PER_TEST_S * len(job.tests)
        if job.language.compiled:
            request["compileTimeLimitMs"] = int(s.compile_time_limit * 1000)
            budget += s.compile_time_limit
        budget = min(budget, s.max_job_time)
        max_message = 8 * (s.max_compare_bytes + 2 * s.max_output_bytes) + 65536
        outcome, unflagged_kills = None, 0
        for attempt in (1, 2, 3):
            sandbox = self.pool.take(name, job.memory_limit_mb, cold=attempt > 1)
            warm = sandbox is not None
            outcome, clean = None, False
            try:
                if sandbox is None:
                    try:
                        sandbox = self._start_sandbox(name, job.memory_limit_mb)
                    except SandboxOutOfMemory:
                        # The job's own limit is too small for the language's
                        # runtime: a memory verdict for the job, not an outage.
                        outcome = Outcome(accepted=True, failure="oom")
                        break
                request["reuse"] = self.pool.will_reuse(sandbox)
                outcome = sandbox.run(request, time.monotonic() + budget, max_message, tick)
                clean = request["reuse"] and outcome.clean
            except SandboxUnavailable as e:
                if isinstance(e, SandboxKilled) and e.accepted and self._docker_loses_oom_flags:
                    # Under an own-kernel runtime (gVisor) Docker loses the
                    # OOMKilled flag of some memory-limit kills (3 in 40 here),
                    # so a SIGKILL nobody sent may be the job's memory. Once,
                    # the job runs again in a fresh sandbox; twice, with the
                    # engine answering both times, it is the job's doing.
                    unflagged_kills += 1
                    if unflagged_kills == 1:
                        if attempt == 3:
                            raise
                        log.warning("sandbox killed without an OOM flag; running the job once more",
                                    extra={"job_id": job.id})
                        continue
                    outcome = e.outcome or Outcome(accepted=True)
                    outcome.failure = "oom"
                elif warm and not e.accepted:
                    # A warm container that died before it read the job (Docker
                    # restarted, killed from outside) says nothing about the
                    # code: run it once more in a fresh one.
                    log.warning("warm sandbox was dead; retrying cold", extra={"job_id": job.id})
                    continue
                else:
                    raise
            finally:
                self.pool.give_back(name, job.memory_limit_mb, sandbox, clean)
            if warm and not outcome.accepted and outcome.failure is not None and attempt < 3:
                log.warning("warm sandbox was dead; retrying cold", extra={"job_id": job.id})
                continue
            break
        if outcome.failure in ("exited", "protocol"):
            log.warning("sandbox ended abnormally", extra={"job_id": job.id, "failure": outcome.failure,
                                                          "exit_code": outcome.exit_code,
                                                          "runner_stderr": outcome.stderr[-500:]})
        return self._result(job, outcome)

    # -- results ---------------------------------------------------------------

    def _result(self, job, outcome):
        s = self.settings
        result = {"id": job.id, "status": "completed", "language": job.language.name}
        if outcome.compile_error is not None:
            text, truncated = cut(outcome.compile_error, s.max_output_bytes)
            result.update(verdict="compile_error", compileOutput=text, totalTime=0,
                          results=[_skipped() for _ in job.tests])
            if truncated:
                result["truncated"] = True
            return result
        tests = []
        for i, case in enumerate(job.tests):
            if i < len(outcome.records):
                tests.append(self._test_result(job, case, outcome.records[i]))
            elif outcome.failure in ("deadline", "oom"):
                # The whole sandbox was stopped: the running test gets the
                # cause, the ones never started are skipped (the contract).
                tests.append(self._killed_test(job, outcome) if i == len(outcome.records) else _skipped())
            else:
                # No trustworthy report exists for this test: never a pass,
                # never silently skipped.
                tests.append(_unreported(_unreported_cause(outcome)))
        if outcome.compile_time_ms is not None:
            result["compileTime"] = outcome.compile_time_ms
            if outcome.compile_output:
                result["compileOutput"], truncated = cut(outcome.compile_output, s.max_output_bytes)
                if truncated:
                    result["truncated"] = True
        result["verdict"] = judge.verdict_of([t["status"] for t in tests])
        result["results"] = tests
        result["totalTime"] = sum(t["executionTime"] for t in tests)
        return result

    def _killed_test(self, job, outcome):
        """The test that was running when the whole sandbox was stopped."""
        if outcome.failure == "deadline":
            status, error = "timeout", "the job's wall deadline passed; the sandbox was stopped"
        else:
            status, error = "memory_limit", "memory limit of %d MB exceeded" % job.memory_limit_mb
        return {"passed": False, "status": status, "output": "", "executionTime": 0, "memoryKb": None,
                "stdout": "", "stderr": "", "error": error}

    def _test_result(self, job, case, rec):
        s = self.settings
        res = rec.get("result") if isinstance(rec.get("result"), dict) else None
        stderr = str(rec.get("stderr") or "")
        output = ""
        error = None
        passed = False
        if rec.get("timedOut"):
            status, error = "timeout", "time limit of %d ms exceeded" % job.time_limit_ms
        elif rec.get("oom") or (_died(rec) and any(m in stderr for m in job.language.oom_markers)) \
                or (res and str(res.get("error", "")).startswith("MemoryError")):
            status, error = "memory_limit", "memory limit of %d MB exceeded" % job.memory_limit_mb
        elif job.mode == "function":
            if res and res.get("ok") and isinstance(res.get("output"), str):
                output = res["output"]
                passed = judge.judge_output("function", case.expected_output, output)
                status = "failed" if passed is False else "passed"
            else:
                status = "runtime_error"
                error = (res or {}).get("error") or _exit_reason(rec) or "the function did not return"
        else:
            if rec.get("signal") is not None or rec.get("exitCode") != 0:
                status = "runtime_error"
                error = (res or {}).get("error") or _exit_reason(rec) or "the program did not finish"
            else:
                output = str(rec.get("stdout") or "")
                if rec.get("stdoutTruncated"):
                    passed = False if case.expected_output is not None else None
                else:
                    passed = judge.judge_output("stdio", case.expected_output, output)
                status = "failed" if passed is False else "passed"
        if status != "passed" and status != "failed":
            passed = False
        stdout = str(rec.get("stdout") or "")
        out_text, t1 = cut(output, s.max_output_bytes)
        stdout_text, t2 = cut(stdout, s.max_output_bytes)
        stderr_text, t3 = cut(stderr, s.max_output_bytes)
        test = {"passed": passed, "status": status, "output": out_text,
                "executionTime": int(rec.get("timeMs") or 0), "memoryKb": rec.get("memoryKb"),
                "stdout": stdout_text, "stderr": stderr_text}
        truncated = t1 or t2 or t3 or bool(rec.get("stdoutTruncated")) or bool(rec.get("stderrTruncated"))
        if error is not None:
            test["error"], t4 = cut(str(error), s.max_output_bytes)
            truncated = truncated or t4
        if truncated:
            test["truncated"] = True
        return test


def _died(rec):
    """Killed by a signal or exited non-zero: how a runtime says it ran out of memory (with its marker)."""
    return rec.get("signal") is not None or rec.get("exitCode") not in (0, None)


def _unreported_cause(outcome):
    if outcome.failure == "protocol":
        return "no valid report for this test: %s" % (outcome.protocol_error or "the report was malformed")
    if outcome.failure == "exited":
        return "no report for this test: the sandbox exited unexpectedly (exit code %s)" % outcome.exit_code
    return "no report for this test: the report ended early"


def _unreported(cause):
    return {"passed": False, "status": "runtime_error", "output": "", "executionTime": 0, "memoryKb": None,
            "stdout": "", "stderr": "", "error": cause}


def _skipped():
    return {"passed": False, "status": "skipped", "output": "", "executionTime": 0, "memoryKb": None,
            "stdout": "", "stderr": ""}


def _exit_reason(rec):
    if rec.get("signal") is not None:
        return judge.describe_signal(int(rec["signal"]))
    if rec.get("exitCode") not in (None, 0):
        return "exit code %s" % rec["exitCode"]
    return None
