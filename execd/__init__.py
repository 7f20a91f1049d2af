"""execd: a sandboxed code-execution service."""

__version__ = "0.2.0"
