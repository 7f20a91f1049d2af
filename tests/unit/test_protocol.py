"""The runner-to-host report: what the host accepts, in what order, and that
no input makes the parser raise anything but ProtocolError/OverflowError."""
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from execd.protocol import LineBuffer, ProtocolError, Report

PROPERTY = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def record(index, **overrides):
    rec = {"event": "test", "index": index, "timedOut": False, "oom": False, "exitCode": 0, "signal": None,
           "result": {"ok": True, "output": "1"}, "stdout": "", "stdoutTruncated": False, "stderr": "",
           "stderrTruncated": False, "timeMs": 3, "memoryKb": 100}
    rec.update(overrides)
    return rec


def feed(report, *messages):
    complete = False
    for m in messages:
        complete = report.accept(m)
    return complete


def test_a_complete_report():
    report = Report(2)
    assert feed(report, {"event": "accepted"}, record(0), record(1), {"event": "done"})
    assert [r["timeMs"] for r in report.records] == [3, 3]


def test_compile_error_before_any_test():
    report = Report(2)
    assert feed(report, {"event": "accepted"}, {"event": "compile_error", "message": "bad"})
    assert report.compile_error == "bad"


@pytest.mark.parametrize("messages,needle", [
    ([{"event": "accepted"}, {"event": "done"}], "after 0 of 2"),
    ([{"event": "accepted"}, record(0), {"event": "done"}], "after 1 of 2"),
    ([{"event": "accepted"}, record(1)], "skipped or repeated"),
    ([{"event": "accepted"}, record(0), record(0)], "skipped or repeated"),
    ([{"event": "accepted"}, record(0), record(1), record(2)], "does not exist"),
    ([{"event": "accepted"}, {"event": "verdict", "verdict": "pass"}], "unknown event"),
    ([record(0)], "before it accepted"),
    ([{"event": "accepted"}, {"event": "accepted"}], "twice"),
    ([{"event": "accepted"}, record(0), {"event": "compile_error", "message": "x"}], "after running tests"),
    ([{"event": "accepted"}, record(0, timeMs=-1)], "impossible time"),
    ([{"event": "accepted"}, record(0, memoryKb=-1)], "impossible memory"),
    ([{"event": "accepted"}, record(0, timeMs="0")], "malformed 'timeMs'"),
    ([{"event": "accepted"}, record(0, timedOut=0)], "malformed 'timedOut'"),
    ([{"event": "accepted"}, record(0, exitCode=True)], "malformed 'exitCode'"),
    ([{"event": "accepted"}, record(0, result={"ok": "yes"})], "malformed result"),
    ([{"event": "accepted"}, dict(record(0), index=True)], "skipped or repeated"),
    ([["event", "test"]], "not an event"),
])
def test_protocol_failures(messages, needle):
    report = Report(2)
    with pytest.raises(ProtocolError, match=needle):
        feed(report, *messages)


def test_nothing_after_done():
    report = Report(1)
    feed(report, {"event": "accepted"}, record(0), {"event": "done"})
    with pytest.raises(ProtocolError):
        report.accept(record(0))


def test_records_are_reduced_to_known_fields():
    report = Report(1)
    feed(report, {"event": "accepted"}, record(0, verdict="pass", passed=True))
    assert "verdict" not in report.records[0] and "passed" not in report.records[0]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20)
events = st.one_of(
    json_values,
    st.builds(lambda i, extra: dict(record(i), **extra), st.integers(-2, 4),
              st.dictionaries(st.sampled_from(sorted(record(0))), json_values, max_size=3)),
    st.sampled_from([{"event": "accepted"}, {"event": "done"}, {"event": "compile_error", "message": "m"}]))


@PROPERTY
@given(st.integers(1, 3), st.lists(events, max_size=8))
def test_any_event_sequence_raises_only_protocol_errors(count, messages):
    report = Report(count)
    try:
        for m in messages:
            if report.accept(m):
                break
    except ProtocolError:
        pass
    # Whatever was accepted is in order, within the job, and well-typed.
    assert [r for r in report.records] == report.records[:count]
    assert len(report.records) <= count
    for r in report.records:
        assert isinstance(r["timeMs"], int) and not isinstance(r["timeMs"], bool)
    if report.done and report.compile_error is None:
        assert len(report.records) == count


@PROPERTY
@given(st.lists(st.binary(max_size=40), max_size=30))
def test_line_buffer_splits_like_bytes_split(chunks):
    buf = LineBuffer(max_line=10_000)
    lines = []
    for chunk in chunks:
        buf.feed(chunk)
        while (line := buf.next_line()) is not None:
            lines.append(line)
    whole = b"".join(chunks)
    assert lines == whole.split(b"\n")[:-1]


def test_line_buffer_refuses_an_oversized_line():
    buf = LineBuffer(max_line=100)
    buf.feed(b"x" * 101)
    with pytest.raises(OverflowError):
        buf.next_line()


def test_line_buffer_is_linear_in_its_input():
    # 8 MB arriving in 4 KB pieces with one newline at the end: a quadratic
    # buffer (bytes +=, re-scanning from the start) takes minutes here.
    buf = LineBuffer(max_line=16 << 20)
    piece = b"a" * 4096
    t0 = time.monotonic()
    for _ in range(2048):
        buf.feed(piece)
        assert buf.next_line() is None
    buf.feed(b"\n")
    assert len(buf.next_line()) == 2048 * 4096
    assert time.monotonic() - t0 < 5


def test_report_line_round_trip():
    # What the runner writes is what the host reads back.
    buf = LineBuffer(max_line=1 << 20)
    report = Report(1)
    for m in ({"event": "accepted"}, record(0), {"event": "done"}):
        buf.feed((json.dumps(m) + "\n").encode())
    complete = False
    while (line := buf.next_line()) is not None:
        complete = report.accept(json.loads(line))
    assert complete
