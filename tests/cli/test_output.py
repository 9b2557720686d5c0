"""The shared pieces of output: a running count on a terminal that never changes the items."""

from __future__ import annotations

import io
import sys

import pytest
from rich.console import Console

from airgap.cli import output


def test_counted_passes_items_through_off_a_terminal() -> None:
    assert list(output.counted(iter(range(5)), "validating", "files")) == [0, 1, 2, 3, 4]


def test_counted_shows_a_running_count_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(output, "COUNT_AFTER", 0.0)
    monkeypatch.setattr(
        output, "_console", lambda stderr: Console(file=screen, force_terminal=True)
    )
    assert list(output.counted(iter(range(1200)), "validating", "files")) == list(range(1200))
    assert "validating: 1,200 files" in screen.getvalue()


def test_lines_off_a_terminal_are_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    output.out().print("usage:smile:.xml: ok [x]", markup=False, style="red")
    output.err().print("note: [dim]", markup=False)
    captured = capsys.readouterr()
    assert captured.out == "usage:smile:.xml: ok [x]\n"
    assert captured.err == "note: [dim]\n"


def test_lines_on_a_terminal_go_through_rich_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(
        output,
        "_console",
        lambda stderr: Console(file=screen, force_terminal=True, highlight=False),
    )
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    output.out().print("\x1b[2Kgone\u202egpj.exe: ok", markup=False, style="red")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    output.out().print("second", markup=False)
    shown = screen.getvalue()
    assert "\\x1b[2Kgone\\u202egpj.exe: ok" in shown and "second" in shown
    assert "\x1b[2K" not in shown and "\u202e" not in shown  # rich's own colour codes only


def test_lines_escape_control_characters_but_keep_tabs_and_leading_blank_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    output.out().print("\n\nname\twith\ttabs \x07\r\n\x9b\udcff\u2066", markup=False)
    assert capsys.readouterr().out == "\n\nname\twith\ttabs \\x07\\x0d\\x0a\\x9b\\xff\\u2066\n"


def test_json_with_a_name_that_is_not_utf8_is_written_escaped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    output.begin("test", output.Format.JSON)
    output.emit_json(True, [{"path": "bad\udcff.xml", "bad\udcfe": ["\x1b"]}])
    results = json.loads(capsys.readouterr().out)["results"]
    assert results == [{"path": "bad\\xff.xml", "bad\\xfe": ["\\x1b"]}]


def test_rich_prints_emoji_codes_as_they_are() -> None:
    console = output._console(stderr=False)
    with console.capture() as captured:
        console.print("a:smile:b.xml", markup=False)
    assert captured.get() == "a:smile:b.xml\n"


def test_json_with_an_integer_over_64_bits_is_still_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    with output.running(output.Run()):
        output.begin("test", output.Format.JSON)
        output.emit_json(True, [{"count": 1 << 70, "name": "bad\udcff", "ok": [1.5, None, True]}])
    document = json.loads(capsys.readouterr().out)
    assert document["results"] == [{"count": 1 << 70, "name": "bad\\xff", "ok": [1.5, None, True]}]
    assert document["command"] == "test" and document["ok"] is True


@pytest.mark.parametrize(
    "results",
    [[], [{"a": 1}], [{"device": "PID:X,SN:1", "changes": [{"f": "é", "n": None}]}, [], "x"]],
)
def test_results_written_as_they_come_are_the_bytes_of_the_whole_envelope(
    results: list[object], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """``diff`` writes each device's result as it is made: the bytes ``emit_json`` writes
    for the same results held in a list."""
    with output.running(output.Run()):
        output.begin("test", output.Format.JSON)
        output.emit_json(False, results, mode="states", verdict="unknown")
        whole = capsysbinary.readouterr().out
        output.emit_json_results(False, iter(results), mode="states", verdict="unknown")
        streamed = capsysbinary.readouterr().out
    assert streamed == whole
