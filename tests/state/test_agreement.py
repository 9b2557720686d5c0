"""Field agreement with ntc-templates' parse of the real captures in ``../shared/field``: every
value both parsers read must be the same (goal: at least 99% of fields, measured here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airgap.state.model import DeviceState
from airgap.state.parse import parse_capture
from tests.conftest import FIELD

SHOW = FIELD / "show"
PARSED = sorted(SHOW.glob("ntc-templates__*.yml")) if SHOW.exists() else []


def records(path: Path) -> list[dict[str, str]]:
    """ntc-templates' ``parsed_sample`` list: ``- key: "value"`` records (no YAML library)."""
    found: list[dict[str, str]] = []
    for line in path.read_text().splitlines():
        text = line.strip()
        if text.startswith("- "):
            found.append({})
            text = text[2:]
        if found and ":" in text:
            key, _, value = text.partition(":")
            found[-1][key.strip()] = value.strip().strip('"')
    return found


def _ours(state: DeviceState, record: dict[str, str], index: int) -> dict[str, Any]:
    """Our value for each ntc-templates field we model, keyed by their field name."""
    lic = state.licenses[index] if index < len(state.licenses) else None
    count = lic.count if lic else None
    return {
        "smart_account": state.smart_account,
        "virtual_account": state.virtual_account,
        "pid": state.udi.pid if state.udi else None,
        "sn": state.udi.sn if state.udi else None,
        "license": lic.name if lic else None,
        "feature": lic.name if lic else None,
        "license_count": str(count) if count is not None else "-" if lic else None,
        "license_status": lic.status if lic else None,
        "status": lic.status if lic else None,
        "transport_type": state.transport_type,
    }


def agreement() -> tuple[int, int, list[str]]:
    """(fields agreeing, fields compared, the differences) over every ntc-templates parse."""
    agree = total = 0
    differences: list[str] = []
    for path in PARSED:
        (state,) = parse_capture(path.with_suffix(".raw").read_text(), str(path))
        for index, record in enumerate(records(path)):
            ours = _ours(state, record, index)
            for key, theirs in record.items():
                if key not in ours or theirs == "":
                    continue  # a field we do not model, or one they left empty
                total += 1
                if ours[key] == theirs:
                    agree += 1
                else:
                    differences.append(f"{path.name} #{index} {key}: {ours[key]!r} != {theirs!r}")
    return agree, total, differences


def test_field_agreement_with_ntc_templates() -> None:
    if not PARSED:
        pytest.skip(f"field captures not present: {SHOW}")
    agree, total, differences = agreement()
    assert total >= 40, total  # the comparison really covers the captures
    assert agree / total >= 0.99, differences
