"""The exception tree. Each error that reaches a caller carries a contract code."""

# The contract's error codes: those refusing a job before it runs, then the rest.
REFUSAL_CODES = ("invalid_job", "unsupported_language", "code_too_large", "too_many_tests", "input_too_large",
                 "limit_exceeded")
ERROR_CODES = REFUSAL_CODES + ("unauthorized", "overloaded", "sandbox_unavailable", "internal_error")


class ExecdError(Exception):
    """Base of every execd error; `code` is the contract's error code."""

    code = "internal_error"

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class JobError(ExecdError):
    """The job was refused before anything ran (invalid_job, code_too_large ...)."""

    code = "invalid_job"


class SandboxUnavailable(ExecdError):
    """The Docker engine failed or could not be reached; the job did not run."""

    code = "sandbox_unavailable"
    accepted = True  # False when the sandbox died before it read the job: a fresh one may retry


class SandboxKilled(SandboxUnavailable):
    """The sandbox ended by a SIGKILL that neither execd nor Docker's OOM flag accounts for.
    `outcome` holds what its runner reported before it died."""

    def __init__(self, message, outcome=None):
        super().__init__(message)
        self.outcome = outcome


class SandboxOutOfMemory(SandboxUnavailable):
    """The sandbox ran out of memory before its runner was ready: the memory limit is too small
    for the language's runtime (gVisor's kernel needs some of it too)."""


class ConfigError(ExecdError):
    """A configuration value is missing or malformed; names the key and its source."""

    code = "internal_error"


class ImageError(ExecdError):
    """A sandbox image is missing, stale or could not be built."""

    code = "sandbox_unavailable"
