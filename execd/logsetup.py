"""JSON log lines, configured once per process with static fields (service, role, slot)."""
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

_NOISY = ("pika", "docker", "urllib3", "waitress")


class _StaticFields(logging.Filter):
    def __init__(self, fields):
        super().__init__()
        self.fields = fields

    def filter(self, record):
        for key, value in self.fields.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def setup_logging(level="info", role="main", stream=None, **static):
    """Replace the root handlers with one JSON handler; call again after a fork."""
    handler = logging.StreamHandler(stream or sys.stdout)
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
