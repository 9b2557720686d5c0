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
    monkeypatch.setattr(output, "err", lambda: Console(file=screen, force_terminal=True))
    assert list(output.counted(iter(range(1200)), "validating", "files")) == list(range(1200))
    assert "validating: 1,200 files" in screen.getvalue()
