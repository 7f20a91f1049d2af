"""Command line: argv, exit codes and wiring. No business logic here."""
import argparse
import json
import os
import sys

from execd import __version__
from execd.config import default_config_path, load_settings
from execd.errors import ExecdError
from execd.logsetup import setup_logging

# Exit codes of `execd run`, as documented in the README.
EXIT_PASS = 0  # completed, verdict pass
EXIT_NOT_PASSED = 1  # completed with any other verdict
EXIT_ERROR = 2  # the job was refused or could not run
# Exit codes of the other commands.
EXIT_OK = 0
EXIT_FAILURE = 1  # images missing (check), or an operation failed
EXIT_CONFIG = 3  # bad configuration: nothing was started


def _read_source(value):
    if value == "-":
        return sys.stdin.read()
    with open(value, encoding="utf-8") as f:
        return f.read()


def build_job(args):
    """The contract job described by `execd run`'s options."""
    if args.job:
        try:
            return json.loads(_read_source(args.job))
        except ValueError as e:
            raise SystemExit("execd run: --job is not valid JSON: %s" % e) from None
    if not args.language or args.tests is None or (args.code is None and args.code_file is None):
        raise SystemExit("execd run: give --job, or --language, --code/--code-file and --tests")
    code = args.code if args.code is not None else _read_source(args.code_file)
    try:
        tests = json.loads(_read_source(args.tests))
    except ValueError as e:
        raise SystemExit("execd run: --tests is not valid JSON: %s" % e) from None
    job = {"language": args.language, "code": code, "testCases": tests}
    for key, value in (("mode", args.mode), ("entryPoint", args.entry_point),
                       ("timeLimitMs", args.time_limit_ms), ("memoryLimitMb", args.memory_limit_mb)):
        if value is not None:
            job[key] = value
    return job


def cmd_run(args, settings):
    from execd.executor import Executor

    job = build_job(args)
    with Executor(settings, warm=False) as executor:
        result = executor.execute(job)
    json.dump(result, sys.stdout, indent=2 if args.pretty else None, ensure_ascii=False)
    sys.stdout.write("\n")
    if result["status"] != "completed":
        return EXIT_ERROR
    return EXIT_PASS if result["verdict"] == "pass" else EXIT_NOT_PASSED


def cmd_images(args, settings):
    from execd import images
    from execd.executor import docker_client

    client = docker_client(settings)
    if args.images_command == "build":
        # Progress on stderr, so stdout stays the list of tags.
        def progress(text):
            print(text, file=sys.stderr, flush=True)

        for name, tag in images.build_all(client, settings.image_prefix, progress=progress).items():
            print("%s %s" % (name, tag))
        return EXIT_OK
    missing = images.missing_images(client, settings.image_prefix)
    for name, tag in sorted(missing.items()):
        print("missing or stale: %s (%s)" % (tag, name))
    if not missing:
        print("all sandbox images are current")
    return EXIT_FAILURE if missing else EXIT_OK


def cmd_reap(args, settings):
    from execd.executor import docker_client
    from execd.sandbox import reap_orphans

    removed = reap_orphans(docker_client(settings), everything=args.all)
    print("removed %d sandbox containers" % removed)
    return EXIT_OK


def cmd_submit(args, settings):
    """A job to a running execd, over AMQP (as the battle service sends them) or HTTP."""
    from execd import client

    try:
        job = json.loads(_read_source(args.job))
    except ValueError as e:
        raise SystemExit("execd submit: --job is not valid JSON: %s" % e) from None
    try:
        if args.http:
            api_key = args.api_key or os.environ.get("EXECD_API_KEY") or first_api_key(settings)
            result = client.HttpClient(args.http, api_key=api_key, timeout=args.timeout).execute(job)
        else:
            with client.AmqpClient(args.amqp_url or settings.amqp_url, queue=args.queue or settings.execution_queue,
                                   timeout=args.timeout) as amqp:
                result = amqp.execute(job)
    except client.JobRefused as e:
        result = e.result
    except client.ClientError as e:
        print("execd submit: %s: %s" % (e.code, e), file=sys.stderr)
        return EXIT_ERROR
    json.dump(result, sys.stdout, indent=2 if args.pretty else None, ensure_ascii=False)
    sys.stdout.write("\n")
    if result["status"] != "completed":
        return EXIT_ERROR
    return EXIT_PASS if result["verdict"] == "pass" else EXIT_NOT_PASSED


def first_api_key(settings):
    """A key this host's own configuration accepts, or None."""
    try:
        keys = settings.static_api_keys()
    except OSError:
        return None
    return keys[0] if keys else None


def cmd_config(args, settings):
    from execd.config import SECRETS, check_settings

    if args.check:
        # Loading already refused malformed values (exit 3 before we got here); these are the
        # checks that need more than one value, or the filesystem.
        problems, warnings = check_settings(settings)
        for text in warnings:
            print("warning: %s" % text)
        for text in problems:
            print("error: %s" % text)
        if problems:
            return EXIT_CONFIG
        print("configuration OK (%s)" % (args.config or default_config_path() or "defaults and environment"))
        return EXIT_OK

    descriptions = settings.describe()
    for name, value in sorted(vars(settings).items()):
        if name in SECRETS and value:
            value = "<set>"
        print("%-24s %-14r %s" % (name.upper(), value, descriptions[name]))
    print("# sandbox runtime in force: %s" % runtime_in_force(settings))
    return EXIT_OK


def runtime_in_force(settings):
    """SANDBOX_RUNTIME, or the engine's default runtime when it is empty (asked of Docker if it answers)."""
    if settings.sandbox_runtime:
        return settings.sandbox_runtime
    try:
        from execd.executor import docker_client

        return "%s (Docker's default)" % docker_client(settings).info().get("DefaultRuntime", "runc")
    except Exception:
        return "Docker's default (the engine did not answer)"


def cmd_runtime(args, settings):
    from execd import dockerhost

    changed = dockerhost.register_runtime(args.name, args.path, args.arg or dockerhost.RUNSC_ARGS,
                                          daemon_json=args.daemon_json)
    print("%s: runtime %r %s" % (args.daemon_json, args.name, "registered" if changed else "already registered"))
    if changed and not args.no_reload:
        print("dockerd reloaded" if dockerhost.reload_dockerd() else "no dockerd running here: start it to apply")
    return EXIT_OK


def why_not_passed(result):
    """One line an operator can act on: the compiler's or the first failed test's own words."""
    if result.get("status") == "error":
        return result["error"]["message"][:300]
    if result.get("compileOutput"):
        return result["compileOutput"].strip().splitlines()[-1][:300]
    for test in result.get("results", ()):
        if test["status"] != "passed":
            return ("test %s: %s %s" % (test.get("index", "?"), test["status"], test.get("error") or ""))[:300]
    return ""


def cmd_doctor(args, settings):
    """Whether this host can run jobs as configured: engine, images, runtime, one job per language."""
    from execd import images, languages
    from execd.executor import Executor, docker_client

    ok = True
    client = docker_client(settings)
    print("docker engine: %s" % client.version().get("Version", "?"))
    runtime = runtime_in_force(settings)
    if settings.sandbox_runtime and settings.sandbox_runtime not in (client.info().get("Runtimes") or {}):
        print("runtime %s: NOT registered with Docker (see `execd runtime register`)" % settings.sandbox_runtime)
        return EXIT_FAILURE
    print("sandbox runtime: %s" % runtime)
    missing = images.missing_images(client, settings.image_prefix)
    if missing:
        print("images: missing or stale: %s (run `execd images build`)" % ", ".join(sorted(missing.values())))
        return EXIT_FAILURE
    print("images: current")
    print("page cache: %d MB of compiler images primed" % (images.prime_page_cache(client, settings.image_prefix) // 10**6))
    with Executor(settings, client=client, warm=False) as executor:
        for name in sorted(languages.LANGUAGES):
            probe = languages.LANGUAGES[name].doctor_job()
            result = executor.execute(probe)
            verdict = result.get("verdict") or result.get("error", {}).get("message")
            passed = result.get("verdict") == "pass"
            ok = ok and passed
            print("%-11s %s  (%s)" % (name, "ok" if passed else "FAILED", verdict))
            if not passed:
                print("            %s" % why_not_passed(result))
    return EXIT_OK if ok else EXIT_FAILURE


def cmd_serve(args, settings):
    import logging
    import tempfile
    import threading

    from execd import devmode, metrics as metrics_module

    dev_key = None
    if settings.execd_auth.lower() != "disabled" and not devmode.has_credentials(settings):
        if args.dev:
            dev_key = devmode.dev_key()
            os.environ["EXECD_API_KEYS"] = dev_key  # the workers and a reload (SIGHUP) see it too
            settings = load_settings(args.config or default_config_path())
        else:
            logging.getLogger("execd").warning(
                "no API keys or JWT secret are configured: every /api/* request is refused (401). Set "
                "EXECD_API_KEYS, API_KEYS_FILE or JWT_SECRET; `execd serve --dev` makes a development key")

    # Before anything imports prometheus_client: it picks its value class then.
    metrics_module.prepare_dir()
    from execd import images
    from execd.daemon import HttpFrontend
    from execd.errors import ImageError, SandboxUnavailable
    from execd.executor import docker_client
    from execd.sandbox import reap_orphans
    from execd.supervisor import EXIT_HALT, Supervisor

    client = None
    try:
        client = docker_client(settings)
        missing = images.missing_images(client, settings.image_prefix)
        if missing:
            raise ImageError("sandbox images missing or stale: %s; run `execd images build`"
                             % ", ".join(sorted(missing.values())))
        reap_orphans(client)
        # In the background: it reads the compilers' images (GBs) so first compiles find them cached.
        threading.Thread(target=images.prime_page_cache, args=(client, settings.image_prefix),
                         name="prime-page-cache", daemon=True).start()
    except ImageError as e:
        print("execd: %s" % e.message, file=sys.stderr)
        return EXIT_HALT
    except SandboxUnavailable as e:
        # Start anyway: /health says Docker is down and workers retry with backoff.
        logging.getLogger("execd").error("starting without Docker: %s", e.message)
    runtime_dir = os.environ.get("RUNTIME_DIRECTORY") or tempfile.mkdtemp(prefix="execd-run-")
    metrics = metrics_module.Metrics()

    def reap_sandboxes():
        if client is not None:
            reap_orphans(client)

    if args.dev:
        print(devmode.banner(settings.port, dev_key), file=sys.stderr, flush=True)
    supervisor = Supervisor(settings, args.config or default_config_path(), runtime_dir, metrics,
                            http=HttpFrontend(settings, metrics), reap_sandboxes=reap_sandboxes,
                            load_settings=load_settings)
    return supervisor.run()


def cmd_worker(args, settings):
    from execd.consumer import worker_main

    setup_logging(settings.log_level, role="worker", fmt=settings.log_format, slot=args.slot)
    return worker_main(settings, args.slot, args.heartbeat)


def make_parser():
    parser = argparse.ArgumentParser(prog="execd", description="Sandboxed code execution service.")
    parser.add_argument("--version", action="version", version="execd " + __version__)
    parser.add_argument("--config", help="INI file (default: $EXECD_CONFIG, /etc/execd/execd.ini, ./config/execd.ini)")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="run one job in a sandbox and print its result JSON")
    run.add_argument("--job", help="a whole contract job as a JSON file, or - for stdin")
    run.add_argument("--language", help="python, javascript or an alias")
    run.add_argument("--code", help="the source code")
    run.add_argument("--code-file", help="file holding the source code, or -")
    run.add_argument("--mode", choices=("function", "stdio"))
    run.add_argument("--entry-point")
    run.add_argument("--time-limit-ms", type=int)
    run.add_argument("--memory-limit-mb", type=int)
    run.add_argument("--tests", help="JSON array of {input, expectedOutput} (file or -)")
    run.add_argument("--pretty", action="store_true", help="indent the result JSON")
    run.set_defaults(func=cmd_run)

    img = sub.add_parser("images", help="build or check the sandbox images")
    img.add_argument("images_command", choices=("build", "check"))
    img.set_defaults(func=cmd_images)

    reap = sub.add_parser("reap", help="remove sandbox containers left by dead execd processes")
    reap.add_argument("--all", action="store_true", help="remove every execd sandbox on this Docker engine")
    reap.set_defaults(func=cmd_reap)

    submit = sub.add_parser("submit", help="send a job to a running execd (AMQP, or HTTP) and print its result")
    submit.add_argument("--job", required=True, help="a contract job as a JSON file, or - for stdin")
    submit.add_argument("--http", metavar="URL", help="use the HTTP API at URL (e.g. http://127.0.0.1:3003)")
    submit.add_argument("--api-key", help="Bearer key for --http (default: $EXECD_API_KEY, then this host's keys)")
    submit.add_argument("--amqp-url", help="broker (default: AMQP_URL)")
    submit.add_argument("--queue", help="execution queue (default: EXECUTION_QUEUE)")
    submit.add_argument("--timeout", type=float, default=70.0, help="seconds to wait for the result")
    submit.add_argument("--pretty", action="store_true", help="indent the result JSON")
    submit.set_defaults(func=cmd_submit)

    cfg = sub.add_parser("config", help="print the effective settings")
    cfg.add_argument("--check", action="store_true", help="validate the configuration without starting; exit 3 if bad")
    cfg.set_defaults(func=cmd_config)

    rt = sub.add_parser("runtime", help="register a sandbox runtime (gVisor's runsc) with the Docker engine")
    rt.add_argument("runtime_command", choices=("register",))
    rt.add_argument("name", nargs="?", default="runsc")
    rt.add_argument("--path", default="/usr/bin/runsc")
    rt.add_argument("--arg", action="append", help="a runtimeArgs entry (repeat; default --network=none)")
    rt.add_argument("--daemon-json", default="/etc/docker/daemon.json")
    rt.add_argument("--no-reload", action="store_true", help="do not SIGHUP dockerd")
    rt.set_defaults(func=cmd_runtime)

    doctor = sub.add_parser("doctor", help="check that this host can run a job in every language as configured")
    doctor.set_defaults(func=cmd_doctor)

    serve = sub.add_parser("serve", help="run the daemon: queue consumers, HTTP API, metrics")
    serve.add_argument("--dev", action="store_true",
                       help="development: with no credentials configured, make and print a local API key")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker")  # started by `serve`; not for direct use
    worker.add_argument("--slot", type=int, required=True)
    worker.add_argument("--heartbeat", required=True)
    worker.set_defaults(func=cmd_worker)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(argv + ["serve"])  # `python -m execd` runs the daemon
    try:
        settings = load_settings(args.config or default_config_path())
    except ExecdError as e:
        print("execd: configuration error: %s" % e.message, file=sys.stderr)
        return EXIT_CONFIG
    # The daemon logs JSON to stdout; one-shot commands keep stdout for their output.
    daemon = args.command in ("serve", "worker")
    setup_logging(settings.log_level, role="supervisor" if args.command == "serve" else args.command,
                  stream=sys.stdout if daemon else sys.stderr, fmt=settings.log_format)
    try:
        return args.func(args, settings)
    except ExecdError as e:
        print("execd: %s" % e.message, file=sys.stderr)
        return EXIT_ERROR if args.command == "run" else EXIT_FAILURE
