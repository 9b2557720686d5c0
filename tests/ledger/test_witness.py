"""Two ledgers across the gap: the receiver of each bundle checks the sender's checkpoint
against the last one it saw; a rollback or a fork of the sender's ledger is exit 4. Also the
steps airgap records by itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from airgap.ledger.store import Ledger
from airgap.signing.minisign import SecretKey
from tests.conftest import SAMPLES, Cli

PAYLOAD = sorted(SAMPLES.glob("usage-*.xml"))


@pytest.fixture
def sides(tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    key = SecretKey.generate()
    (tmp_path / "op.key").write_text(key.text(None))
    (tmp_path / "op.key").chmod(0o600)
    (tmp_path / "op.pub").write_text(key.public.text())
    trusted = tmp_path / "trusted"
    assert (
        cli(
            "key",
            "trust",
            tmp_path / "op.pub",
            "--name",
            "Olga",
            "--role",
            "operator",
            "--trusted-keys",
            trusted,
            "--yes",
        ).code
        == 0
    )
    monkeypatch.setenv("AIRGAP_TRUSTED_KEYS", str(trusted))
    return {
        "root": tmp_path,
        "jump": tmp_path / "jump" / "ledger.jsonl",
        "internet": tmp_path / "internet" / "ledger.jsonl",
    }


def send(
    cli: Cli,
    sides: dict[str, Path],
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    ledger: Path | None = None,
) -> Path:
    monkeypatch.setenv("AIRGAP_LEDGER", str(ledger or sides["jump"]))
    out = sides["root"] / "usb" / f"{name}.tar.gz"
    run = cli(
        "bundle",
        "create",
        "--out",
        out,
        *PAYLOAD,
        "--key",
        sides["root"] / "op.key",
        "--allow-resend",
    )  # the same sample reports go out in every test bundle
    assert run.code == 0, run.err
    return out


def receive(
    cli: Cli, sides: dict[str, Path], bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    monkeypatch.setenv("AIRGAP_LEDGER", str(sides["internet"]))
    run = cli("bundle", "verify", bundle)
    return run.code, run.out + run.err


def note(cli: Cli, ledger: Path, text: str) -> None:
    assert cli("ledger", "record", "--step", "note", "--note", text, "--ledger", ledger).code == 0


def test_bundles_carry_checkpoints_and_both_sides_record(
    sides: dict[str, Path], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    note(cli, sides["jump"], "cycle starts")
    first = send(cli, sides, "b1", monkeypatch)
    code, output = receive(cli, sides, first, monkeypatch)
    assert code == 0, output
    note(cli, sides["jump"], "more work")
    second = send(cli, sides, "b2", monkeypatch)
    monkeypatch.setenv("AIRGAP_LEDGER", str(sides["internet"]))
    run = cli("bundle", "verify", second, "--format", "json")
    assert run.code == 0, run.out
    witnessed = json.loads(run.out)["results"][0]["witnessed"]
    assert witnessed["previous_size"] is not None and witnessed["size"] > witnessed["previous_size"]
    steps = [json.loads(line)["step"] for _, line in Ledger(sides["jump"]).lines()]
    assert steps == ["note", "bundle.create", "note", "bundle.create"]
    steps = [json.loads(line)["step"] for _, line in Ledger(sides["internet"]).lines()]
    assert steps == ["bundle.verify", "bundle.verify"]
    for ledger in (sides["jump"], sides["internet"]):
        assert cli("ledger", "verify", "--ledger", ledger).code == 0


def test_rollback_of_the_sender_is_exit_4(
    sides: dict[str, Path], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    note(cli, sides["jump"], "one")
    older = sides["root"] / "jump-older"
    shutil.copytree(sides["jump"].parent, older)  # the whole folder: ledger, checkpoints
    first = send(cli, sides, "b1", monkeypatch)
    assert receive(cli, sides, first, monkeypatch)[0] == 0
    note(cli, sides["jump"], "two")
    assert receive(cli, sides, send(cli, sides, "b2", monkeypatch), monkeypatch)[0] == 0
    shutil.rmtree(sides["jump"].parent)
    shutil.copytree(older, sides["jump"].parent)  # an older copy put back
    code, output = receive(cli, sides, send(cli, sides, "b3", monkeypatch), monkeypatch)
    assert code == 4 and "sender ledger rolled back" in output


def test_fork_shown_to_the_receiver_is_exit_4(
    sides: dict[str, Path], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    note(cli, sides["jump"], "shared history")
    older = sides["root"] / "jump-older"
    shutil.copytree(sides["jump"].parent, older)
    note(cli, sides["jump"], "second entry")
    first = send(cli, sides, "b1", monkeypatch)  # the receiver sees 2 entries
    assert receive(cli, sides, first, monkeypatch)[0] == 0
    # another history from the same first entry: exported once elsewhere at the same size,
    # then shown to the receiver
    fork = older / "ledger.jsonl"
    note(cli, fork, "a different second entry")
    send(cli, sides, "elsewhere", monkeypatch, ledger=fork)
    note(cli, fork, "and more")
    code, output = receive(
        cli, sides, send(cli, sides, "b2", monkeypatch, ledger=fork), monkeypatch
    )
    assert code == 4 and "sender ledger forked" in output, output


def test_a_new_ledger_under_the_same_host_key_is_exit_4(
    sides: dict[str, Path], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    note(cli, sides["jump"], "first history")
    assert receive(cli, sides, send(cli, sides, "b1", monkeypatch), monkeypatch)[0] == 0
    fresh = sides["root"] / "fresh" / "ledger.jsonl"
    note(cli, fresh, "a brand new ledger")
    code, output = receive(
        cli, sides, send(cli, sides, "b2", monkeypatch, ledger=fresh), monkeypatch
    )
    assert code == 4 and "sender ledger replaced" in output


def test_media_write_and_validate_record_themselves(
    sides: dict[str, Path], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = send(cli, sides, "b1", monkeypatch)
    usb = sides["root"] / "stick"
    usb.mkdir()
    assert cli("media", "write", bundle, usb).code == 0
    assert cli("validate", "--record", *PAYLOAD).code == 0
    entries = [json.loads(line) for _, line in Ledger(sides["jump"]).lines()]
    assert [e["step"] for e in entries] == ["bundle.create", "media.write", "validate"]
    assert set(entries[2]["materials"]) == {str(p) for p in PAYLOAD}
    assert all(v.startswith("sha256:") for e in entries for v in e["products"].values())


def test_reports_already_sent_are_refused_unless_allowed(
    sides: dict[str, Path], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    send(cli, sides, "b1", monkeypatch)
    out = sides["root"] / "usb" / "again.tar.gz"
    run = cli("bundle", "create", "--out", out, PAYLOAD[0], "--key", sides["root"] / "op.key")
    assert run.code == 1 and "refusing to send reports again" in run.err
    assert "went out in bundle AG" in run.err and not out.exists()
    run = cli(
        "bundle",
        "create",
        "--out",
        out,
        PAYLOAD[0],
        "--key",
        sides["root"] / "op.key",
        "--allow-resend",
    )
    assert run.code == 0 and out.exists()


def _sample_reports(path: Path) -> list[tuple[str, str, int]]:
    """(PID, serial, report id) of each report of a sample usage file, as its XML says."""
    from airgap import formats
    from airgap.formats.usage import UsageFile

    model = formats.read(path.read_bytes()).model  # type: ignore[union-attr]
    assert isinstance(model, UsageFile)
    return [
        (r.udi.pid, r.udi.sn, r.report_id)
        for r in model.iter_reports()
        if r.udi is not None and r.report_id is not None
    ]


def test_the_index_of_sent_reports_keeps_its_form_and_old_indexes_still_read(
    sides: dict[str, Path], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    send(cli, sides, "b1", monkeypatch)
    index = sides["jump"].with_name("ledger.jsonl.sent")
    rows = [line.split("\t") for line in index.read_text().splitlines()]
    reports = _sample_reports(PAYLOAD[0])
    assert reports and all(len(row) == 4 and row[3].startswith("AG") for row in rows)
    assert {(pid, sn, int(rid)) for pid, sn, rid, _ in rows} >= set(reports)
    pid, sn, rid = reports[-1]  # an index an older release wrote: one line, another bundle
    index.write_text(f"{pid}\t{sn}\t{rid}\tAG-OLD-1\n")
    out = sides["root"] / "usb" / "again.tar.gz"
    run = cli("bundle", "create", "--out", out, PAYLOAD[0], "--key", sides["root"] / "op.key")
    assert run.code == 1 and not out.exists()
    assert f"report {rid} of PID:{pid},SN:{sn} went out in bundle AG-OLD-1" in run.err
    assert run.err.count("went out in bundle") == 1
