"""A step's result is one of :class:`Result`'s words on disk, in ``ledger export`` and in the
audit report; a ledger that holds a word this version does not know (an older or other airgap)
still verifies and still reports, the word shown as it stands and counted as an exception."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from airgap.ledger.store import Ledger, Result, now, write_entries
from airgap.signing.minisign import SecretKey
from tests.conftest import SAMPLES, Cli


def entry(key: SecretKey, step: str, result: str, note: str = "") -> dict[str, Any]:
    """The fields of one entry as airgap writes them, ``result`` as given."""
    return {
        "time": now(),
        "step": step,
        "operator": key.public.id,
        "host": "jump-1",
        "device": None,
        "materials": {"usage.xml": "sha256:" + "ab" * 32},
        "products": {},
        "result": result,
        "note": note,
    }


def old_ledger(tmp_path: Path) -> Path:
    """A ledger an older airgap wrote: a clean validate, then a bundle verify that ended with a
    word this version has no member for."""
    key = SecretKey.generate()
    path = tmp_path / "ledger.jsonl"
    write_entries(
        path,
        key,
        [entry(key, "validate", "ok"), entry(key, "bundle.verify", "aborted", "bundle AG-1")],
    )
    (tmp_path / "op.pub").write_text(key.public.text())
    return path


def test_the_words_are_the_ones_ledgers_hold() -> None:
    """Renaming a member's word would make every earlier ledger read differently."""
    assert [str(r) for r in Result] == ["ok", "failed", "refused", "invalid"]
    assert Result.of("refused") is Result.REFUSED
    assert Result.of("aborted") == "aborted" and not isinstance(Result.of("aborted"), Result)


def test_an_append_writes_the_word(tmp_path: Path) -> None:
    store = Ledger(tmp_path / "ledger.jsonl")
    store.append("validate", SecretKey.generate(), result=Result.FAILED)
    assert b'"result":"failed"' in store.path.read_bytes()


def test_a_failed_validate_is_recorded_failed_and_reported_as_an_exception(
    tmp_path: Path, cli: Cli
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    bad = tmp_path / "usage.xml"
    bad.write_text("<not-usage/>")
    good = sorted(SAMPLES.glob("usage-*.xml"))[0]
    assert cli("validate", good, "--record", "--ledger", ledger).code == 0
    run = cli("validate", bad, "--record", "--ledger", ledger)
    assert run.code == 1, run.out + run.err
    recorded = [json.loads(line)["result"] for line in ledger.read_text().splitlines()]
    assert recorded == ["ok", "failed"]
    out = tmp_path / "audit.json"
    run = cli(
        "audit", "report", "--ledger", ledger, "--since", "2000-01-01", "--out", out,
        "--format", "json",
    )  # fmt: skip
    assert run.code == 0, run.err
    doc = json.loads(out.read_text())
    assert [(r["result"], r["exception"]) for r in doc["rows"]] == [("failed", True), ("ok", False)]
    assert doc["exceptions"] == [2]


def test_an_old_ledger_with_an_unknown_result_verifies(tmp_path: Path, cli: Cli) -> None:
    path = old_ledger(tmp_path)
    run = cli(
        "ledger", "verify", "--ledger", path, "--trusted-key", tmp_path / "op.pub",
        "--format", "json",
    )  # fmt: skip
    assert run.code == 0, run.out + run.err
    assert "Traceback" not in run.err
    assert json.loads(run.out)["results"][0]["entries"] == 2


def test_an_old_ledger_with_an_unknown_result_reports_the_word(tmp_path: Path, cli: Cli) -> None:
    """JSON, HTML and CSV all show ``aborted``; it is an exception, listed first."""
    path = old_ledger(tmp_path)
    outputs = {}
    for fmt in ("json", "html", "csv"):
        out = tmp_path / f"audit.{fmt}"
        run = cli(
            "audit", "report", "--ledger", path, "--since", "2000-01-01", "--out", out,
            "--format", fmt,
        )  # fmt: skip
        assert run.code == 0, run.out + run.err
        assert "Traceback" not in run.err
        outputs[fmt] = out.read_text()
    doc = json.loads(outputs["json"])
    assert [(r["seq"], r["result"], r["exception"]) for r in doc["rows"]] == [
        (2, "aborted", True),
        (1, "ok", False),
    ]
    (transfer,) = doc["transfers"]
    assert transfer["validation"]["result"] == "aborted" and transfer["exception"]
    assert '<td class="bad">aborted</td>' in outputs["html"]
    assert '<span class="bad">aborted</span>' in outputs["html"]
    assert '<td class="ok">ok</td>' in outputs["html"]
    (line,) = csv.DictReader(outputs["csv"].splitlines())
    assert line["validation"] == "aborted"


def test_an_export_keeps_the_unknown_word(tmp_path: Path, cli: Cli) -> None:
    path = old_ledger(tmp_path)
    out = tmp_path / "ledger.csv"
    run = cli("ledger", "export", "--ledger", path, "--as", "csv", "--out", out)
    assert run.code == 0, run.out + run.err
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [r["result"] for r in rows] == ["ok", "aborted"]
