"""Saving the verified state of a ledger that changed meanwhile is a clear error (exit 3),
never a bare ValueError (exit 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airgap.errors import AirgapError, ExitCode
from airgap.ledger.store import Ledger
from airgap.ledger.verify import save_state, state_path, verify
from tests.conftest import Cli


def test_a_ledger_appended_to_after_its_verify_is_not_checkpointed(
    tmp_path: Path, cli: Cli
) -> None:
    path = tmp_path / "ledger.jsonl"
    assert cli("ledger", "record", "--step", "note", "--ledger", path).code == 0
    ledger = Ledger(path)
    report = verify(ledger, {}, trust_given=False)
    assert report.entries == 1
    assert cli("ledger", "record", "--step", "note", "--ledger", path).code == 0
    with pytest.raises(AirgapError) as caught:
        save_state(ledger, report)
    assert caught.value.exit_code == ExitCode.CANNOT_RUN
    assert (
        caught.value.message
        == f"cannot checkpoint the ledger: {path} - it changed while it was checked"
    )
    assert not state_path(ledger).exists()
    save_state(ledger, verify(ledger, {}, trust_given=False))
    assert state_path(ledger).exists()
