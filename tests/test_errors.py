"""Causes from libraries read as one plain line; exit codes combine as DESIGN.md says."""

from __future__ import annotations

import pytest

from airgap.errors import ExitCode, why, worst


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (FileNotFoundError(2, "No such file or directory", "/x"), "No such file or directory"),
        (
            UnicodeDecodeError("utf-8", b"ab\xff", 2, 3, "invalid start byte"),
            "not UTF-8 text (byte 2)",
        ),
        (ValueError("bad\n  value"), "bad value"),
        (KeyError(), "KeyError"),
    ],
)
def test_why_is_one_plain_line(exc: BaseException, text: str) -> None:
    assert why(exc) == text


def test_worst_prefers_trust_then_cannot_run_then_findings() -> None:
    assert worst(1, 3, 4, 0) is ExitCode.TRUST
    assert worst(1, 3) is ExitCode.CANNOT_RUN
    assert worst(0, 1) is ExitCode.FINDINGS
    assert worst() is ExitCode.OK
