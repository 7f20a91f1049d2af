"""The runner-to-host report: framing, record checks and the order of events.

The runner inside a sandbox is trusted only as far as the sandbox keeps the
submission away from it (see README, "Security model"); the host still takes
nothing on faith. A test passes only on its own well-formed record, in order;
anything else ends the report as a protocol failure, which the executor turns
into `runtime_error` for every test without a record. No I/O here.
"""

EVENTS = ("accepted", "compiled", "test", "compile_error", "done")

# field -> the types a record may carry there (None: the field may be null)
_RECORD_FIELDS = {
    "timedOut": (bool,),
    "oom": (bool,),
    "exitCode": (int, None),
    "signal": (int, None),
    "result": (dict, None),
    "stdout": (str,),
    "stdoutTruncated": (bool,),
    "stderr": (str,),
    "stderrTruncated": (bool,),
    "timeMs": (int,),
    "memoryKb": (int, None),
}
_RESULT_FIELDS = {"ok": (bool,), "output": (str,), "error": (str,)}
MAX_TIME_MS = 24 * 3600 * 1000


class ProtocolError(Exception):
    """The report broke the protocol; the message names how, for the result and the logs."""


def _typed(value, kinds):
    if value is None:
        return None in kinds
    if isinstance(value, bool):
        return bool in kinds
    return any(k is not None and k is not bool and isinstance(value, k) for k in kinds)


def check_record(message, index):
    """The test record as the executor may use it, or ProtocolError."""
    for name, kinds in _RECORD_FIELDS.items():
        if not _typed(message.get(name), kinds):
            raise ProtocolError("the report of test %d has a malformed %r" % (index + 1, name))
    if not 0 <= message["timeMs"] <= MAX_TIME_MS:
        raise ProtocolError("the report of test %d has an impossible time" % (index + 1))
    if message["memoryKb"] is not None and message["memoryKb"] < 0:
        raise ProtocolError("the report of test %d has an impossible memory peak" % (index + 1))
    result = message["result"]
    if result is not None:
        for name, kinds in _RESULT_FIELDS.items():
            if name in result and not _typed(result[name], kinds):
                raise ProtocolError("the report of test %d has a malformed result" % (index + 1))
        if not isinstance(result.get("ok"), bool):
            raise ProtocolError("the report of test %d has a malformed result" % (index + 1))
    return {name: message[name] for name in _RECORD_FIELDS}


class Report:
    """Accumulates one job's events; `accept()` says when the report is complete.

    Raises ProtocolError on the first event that breaks the protocol; what was
    accepted before it stays usable.
    """

    def __init__(self, test_count):
        self.test_count = test_count
        self.accepted = False
        self.records = []
        self.compile_error = None
        self.compile_time_ms = None  # set by a `compiled` event (compiled languages)
        self.compile_output = None
        self.done = False

    def accept(self, message):
        """Take one decoded message; True once the report is complete."""
        if self.done:
            raise ProtocolError("the runner wrote past the end of its report")
        if not isinstance(message, dict) or not isinstance(message.get("event"), str):
            raise ProtocolError("the report holds a message that is not an event")
        event = message["event"]
        if event not in EVENTS:
            raise ProtocolError("the report holds an unknown event")
        if event == "accepted":
            if self.accepted:
                raise ProtocolError("the runner accepted the job twice")
            self.accepted = True
            return False
        if not self.accepted:
            raise ProtocolError("the runner reported before it accepted the job")
        if event == "compiled":
            if self.records or self.compile_time_ms is not None:
                raise ProtocolError("the runner reported a compile out of order")
            time_ms, output = message.get("timeMs"), message.get("output")
            if isinstance(time_ms, bool) or not isinstance(time_ms, int) or time_ms < 0 \
                    or not isinstance(output, str):
                raise ProtocolError("the report of the compile is malformed")
            self.compile_time_ms, self.compile_output = time_ms, output
            return False
        if event == "test":
            index = message.get("index")
            expected = len(self.records)
            if isinstance(index, bool) or not isinstance(index, int) or index != expected:
                raise ProtocolError("the report skipped or repeated a test (got a record for %r, expected test %d)"
                                    % (index if isinstance(index, int) else "?", expected + 1))
            if expected >= self.test_count:
                raise ProtocolError("the report holds a record for a test that does not exist")
            self.records.append(check_record(message, expected))
            return False
        if event == "compile_error":
            if self.records:
                raise ProtocolError("the runner reported a compile error after running tests")
            text = message.get("message")
            self.compile_error = text if isinstance(text, str) else ""
            self.done = True
            return True
        # done
        if len(self.records) != self.test_count:
            raise ProtocolError("the runner ended its report after %d of %d tests"
                                % (len(self.records), self.test_count))
        self.done = True
        return True


class LineBuffer:
    """Newline-framed bytes in, lines out; linear in the bytes fed, whatever their split.

    A line longer than `max_line` raises OverflowError (the caller's protocol
    failure) instead of growing without bound.
    """

    def __init__(self, max_line):
        self.max_line = max_line
        self._data = bytearray()
        self._pos = 0  # start of the first unread line
        self._scan = 0  # no newline before this offset

    def feed(self, data):
        self._data += data

    def pending(self):
        return len(self._data) - self._pos

    def next_line(self):
        """The next complete line (without its newline) as bytes, or None."""
        i = self._data.find(b"\n", max(self._scan, self._pos))
        if i < 0:
            self._scan = len(self._data)
            if self.pending() > self.max_line:
                raise OverflowError("sandbox message over %d bytes" % self.max_line)
            return None
        if i - self._pos > self.max_line:
            raise OverflowError("sandbox message over %d bytes" % self.max_line)
        line = bytes(self._data[self._pos:i])
        self._pos = i + 1
        self._scan = self._pos
        if self._pos > 65536 and self._pos * 2 > len(self._data):
            del self._data[:self._pos]
            self._scan -= self._pos
            self._pos = 0
        return line
