"""`execd serve --dev` (what `make serve` runs): a first run that works from the terminal.

When no credentials are configured, a development API key is generated once into
.execd/dev-api-key (ignored by git, mode 0600) and used for this run, and the terminal shows
it with a curl line to try. Without --dev nothing is generated: production stays strict, and
a service with no credentials refuses every /api/* call (and says so at start).
"""
import os
import secrets

DEV_KEY_FILE = os.path.join(".execd", "dev-api-key")
TRY_JOB = ('{"language":"python","code":"def solution(n):\\n    return n * 2\\n",'
           '"testCases":[{"input":"21","expectedOutput":"42"}]}')


def has_credentials(settings):
    try:
        return bool(settings.static_api_keys() or settings.jwt_secret)
    except OSError:
        return True  # an unreadable API_KEYS_FILE is a configuration error, reported elsewhere; add nothing


def dev_key(path=DEV_KEY_FILE):
    """The development key kept at `path`, made on first use."""
    try:
        with open(path, encoding="utf-8") as f:
            key = f.read().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    key = "dev-" + secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    return key


def banner(port, key, key_path=DEV_KEY_FILE):
    """What the terminal shows: where execd listens, the key, and a request to paste."""
    url = "http://127.0.0.1:%d" % port
    lines = ["", "execd (development mode) on %s" % url]
    if key:
        lines += ["  API key: %s   (kept in %s; for this machine only)" % (key, key_path)]
        auth = "-H 'Authorization: Bearer %s' " % key
    else:
        lines += ["  using the credentials configured (EXECD_API_KEYS, API_KEYS_FILE or JWT_SECRET)"]
        auth = "-H 'Authorization: Bearer <your key>' "
    lines += ["  Try it:",
              "    curl -s %s-H 'Content-Type: application/json' -d '%s' %s/api/execute" % (auth, TRY_JOB, url),
              "  Health: %s/health   Metrics: %s/metrics   API: %s/openapi.json" % (url, url, url), ""]
    return "\n".join(lines)
