"""The language table, read from the language folders.

A language is one folder here: its Dockerfile, `language.json` (name,
version, aliases, identifier rule, which in-sandbox runner drives it, modes,
whether function mode needs a signature, default pool size, what its
out-of-memory death prints, and for `exec` languages the source file name
and the compile and run commands) and, for `exec` languages with function
mode, `harness.py`: host code (`wrap`; `check` where the language takes only some
signatures; `support_files` for files beside the program in every mode) that wraps a submission into a program which
reads its arguments as JSON on stdin and writes the return value as JSON on
fd 3. Every image also gets the shared in-sandbox runner (runner.py) and,
for the `javascript` runner, bootstrap.js. No Docker calls here.
"""
import importlib.util
import json
import os
import re
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNERS = {"python": ("runner.py",), "javascript": ("runner.py", "bootstrap.js"), "exec": ("runner.py",)}
HOST_ONLY = ("harness.py",)  # in the folder, but not part of the image


@dataclass(frozen=True)
class Language:
    name: str
    version: str
    aliases: tuple
    identifier: str  # a valid entryPoint
    runner: str  # python | javascript | exec: which runner drives it in the sandbox
    modes: tuple
    needs_signature: bool  # function mode needs a `signature` (typed languages)
    pool_size: int  # idle sandboxes kept at the default memory limit, at least (POOL_SIZES overrides)
    oom_markers: tuple  # stderr text of a death by memory exhaustion
    compiled: bool  # compiled (or transpiled) once per job before the first test
    build_dir_mb: int  # an exec-capable tmpfs at /box for the source and program (0: none)
    source: str  # the file the code is written to in /box (exec languages)
    sample: str  # solution(n) = n * 2 (function mode where it has it, else stdio): for `execd doctor`, benches
    context_files: tuple  # files of the image's build context, relative to HERE
    harness: object = None  # wrap(code, entry_point, signature) -> program text or {file: text}
    signature_rule: object = None  # check(signature): ValueError when the language cannot take it
    support: object = None  # support_files(job) -> {file: text} beside the program in every mode

    def check_signature(self, signature):
        """ValueError saying why this language's function mode cannot take `signature`."""
        if self.signature_rule is not None:
            self.signature_rule(signature)

    def context(self):
        """(name in the build context, path on disk) for every file of the image."""
        return [(os.path.basename(p), os.path.join(HERE, p)) for p in self.context_files]

    def valid_entry_point(self, name):
        return bool(re.fullmatch(self.identifier, name))

    def files(self, job):
        """{file name: text} an exec runner writes to /box for `job`: the source, and in function
        mode what the harness makes of it (the wrapped source, or the source plus files of its own)."""
        made = {self.source: job.code}
        if job.mode == "function" and self.harness is not None:
            wrapped = self.harness(job.code, job.entry_point, job.signature)
            made = {self.source: wrapped} if isinstance(wrapped, str) else wrapped
        if self.support is not None:
            made.update(self.support(job))
        return made

    def doctor_job(self):
        """The sample: solution(n) = n * 2 in function mode, or a program printing twice what it reads."""
        if "function" in self.modes:
            return {"language": self.name, "code": self.sample, "signature": {"params": ["int"], "returns": "int"},
                    "testCases": [{"input": "21", "expectedOutput": "42"}, {"input": "0", "expectedOutput": "0"}]}
        return {"language": self.name, "mode": "stdio", "code": self.sample,
                "testCases": [{"input": "21\n", "expectedOutput": "42"}, {"input": "0\n", "expectedOutput": "0"}]}

    def describe(self):
        return {"name": self.name, "version": self.version, "aliases": list(self.aliases),
                "modes": list(self.modes), "compiled": self.compiled, "signatureRequired": self.needs_signature}


def _load_harness(folder):
    """(wrap, check, support_files) from the folder's harness.py; None for what it lacks."""
    path = os.path.join(HERE, folder, "harness.py")
    if not os.path.exists(path):
        return None, None, None
    spec = importlib.util.spec_from_file_location("execd.languages.%s_harness" % folder, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, "wrap", None), getattr(module, "check", None), getattr(module, "support_files", None)


def _load(folder):
    with open(os.path.join(HERE, folder, "language.json"), encoding="utf-8") as f:
        m = json.load(f)
    wrap, check, support = _load_harness(folder)
    files = sorted(name for name in os.listdir(os.path.join(HERE, folder))
                   if name not in HOST_ONLY and not name.startswith((".", "__")))
    return Language(
        name=m["name"], version=m["version"], aliases=tuple(m.get("aliases", ())), identifier=m["identifier"],
        runner=m["runner"], modes=tuple(m.get("modes", ("function", "stdio"))),
        needs_signature=bool(m.get("signatureRequired", False)), pool_size=int(m.get("poolSize", 0)),
        oom_markers=tuple(m.get("oomMarkers", ())), compiled=bool(m.get("compile")),
        build_dir_mb=int(m.get("buildDirMb", 0)), source=m.get("source", ""), sample=m["sample"],
        context_files=tuple(os.path.join(folder, name) for name in files) + RUNNERS[m["runner"]],
        harness=wrap, signature_rule=check, support=support,
    )


def _discover():
    found = {}
    for folder in sorted(os.listdir(HERE)):
        if os.path.exists(os.path.join(HERE, folder, "language.json")):
            lang = _load(folder)
            found[lang.name] = lang
    # Python and JavaScript first: the order /api/languages lists them in.
    first = [n for n in ("python", "javascript") if n in found]
    return {n: found[n] for n in first + sorted(set(found) - set(first))}


LANGUAGES = _discover()

_BY_NAME = {}
for _lang in LANGUAGES.values():
    _BY_NAME[_lang.name] = _lang
    for _alias in _lang.aliases:
        _BY_NAME[_alias] = _lang


def resolve(name):
    """The Language for a name or alias (case-insensitive), or None."""
    if not isinstance(name, str):
        return None
    return _BY_NAME.get(name.strip().lower())


def describe_all():
    """What GET /api/languages lists."""
    return [lang.describe() for lang in LANGUAGES.values()]
