"""Log lines, configured once per process with static fields (service, role, slot): JSON for
log collectors, or plain text for a person at a terminal (LOG_FORMAT: auto, json, text)."""
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

_NOISY = ("pika", "docker", "urllib3", "waitress")
FORMATS = ("auto", "json", "text")
# What every LogRecord has; anything else on a record is a field passed with extra={...}.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "service"}


class _StaticFields(logging.Filter):
    def __init__(self, fields):
        super().__init__()
        self.fields = fields

    def filter(self, record):
        for key, value in self.fields.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class TextFormatter(logging.Formatter):
    """`12:00:01 INFO  supervisor  execd running  workers=2 port=3003`: the extra fields last."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)-7s %(role)-10s %(message)s", datefmt="%H:%M:%S")

    def format(self, record):
        text = super().format(record)
        extras = ["%s=%s" % (k, v) for k, v in vars(record).items()
                  if k not in _STANDARD and k != "role" and not k.startswith("_")]
        return text + ("  " + " ".join(extras) if extras else "")


def resolve_format(fmt, stream):
    """json or text: `auto` is text on a terminal, JSON otherwise (a pipe, a file, journald)."""
    if fmt == "auto":
        isatty = getattr(stream, "isatty", None)
        return "text" if isatty is not None and isatty() else "json"
    return fmt


def setup_logging(level="info", role="main", stream=None, fmt="auto", **static):
    """Replace the root handlers with one handler; call again after a fork."""
    stream = stream or sys.stdout
    handler = logging.StreamHandler(stream)
    if resolve_format(fmt, stream) == "text":
        handler.setFormatter(TextFormatter())
    else:
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           rename_fields={"levelname": "level", "asctime": "time"}))
    handler.addFilter(_StaticFields(dict(service="execd", role=role, **static)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
    # A passive queue_declare that finds no queue closes its channel; we expect that.
    logging.getLogger("pika.channel").setLevel(logging.ERROR)
