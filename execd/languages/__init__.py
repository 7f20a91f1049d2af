"""The language table: names, aliases, versions, identifier rules and image contexts.

Each language is a folder here holding its Dockerfile; every image also gets
the shared in-sandbox runner (runner.py) and, for JavaScript, bootstrap.js.
No Docker calls here.
"""
import os
import re
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class Language:
    name: str
    version: str
    aliases: tuple
    identifier: str  # a valid entryPoint
    context_files: tuple  # files of the image's build context, relative to HERE
    sample: str  # solution(n) = n * 2 in function mode: what `execd doctor` runs

    def context(self):
        """(name in the build context, path on disk) for every file of the image."""
        return [(os.path.basename(p), os.path.join(HERE, p)) for p in self.context_files]

    def valid_entry_point(self, name):
        return bool(re.fullmatch(self.identifier, name))

    def doctor_job(self):
        return {"language": self.name, "code": self.sample,
                "testCases": [{"input": "21", "expectedOutput": "42"}, {"input": "0", "expectedOutput": "0"}]}

    def describe(self):
        return {"name": self.name, "version": self.version, "aliases": list(self.aliases),
                "modes": ["function", "stdio"]}


LANGUAGES = {
    "python": Language(
        name="python",
        version="3.11 (Debian bookworm)",
        aliases=("py", "python3", "py3"),
        identifier=r"[A-Za-z_][A-Za-z0-9_]{0,127}",
        context_files=("python/Dockerfile", "runner.py"),
        sample="def solution(n):\n    return n * 2\n",
    ),
    "javascript": Language(
        name="javascript",
        version="Node.js 18 (Debian bookworm)",
        aliases=("js", "node", "nodejs", "javascript18"),
        identifier=r"[A-Za-z_$][A-Za-z0-9_$]{0,127}",
        context_files=("javascript/Dockerfile", "runner.py", "bootstrap.js"),
        sample="function solution(n) { return n * 2; }",
    ),
}

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
