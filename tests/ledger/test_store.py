"""The ledger file: 10,000 entries verify; every tampering is named with exit 4; a torn tail
is exit 1 and blocks appends until repair; concurrent and killed appends lose nothing."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airgap.ledger.store import Ledger, now, sign_entry, write_entries
from airgap.signing.minisign import SecretKey
from tests.conftest import Cli

ENTRIES = 10_000


def build(path: Path, key: SecretKey, count: int) -> None:
    """``count`` signed entries written straight through the API."""
    write_entries(
        path,
        key,
        (
            {
                "time": now(),
                "step": "note",
                "operator": key.public.id,
                "host": "jump-1",
                "device": None,
                "materials": {},
                "products": {},
                "result": "ok",
                "note": f"entry {seq}",
            }
            for seq in range(1, count + 1)
        ),
    )


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SecretKey]:
    folder = tmp_path_factory.mktemp("ledger")
    key = SecretKey.generate()
    build(folder / "ledger.jsonl", key, ENTRIES)
    (folder / "op.pub").write_text(key.public.text())
    return folder, key


@pytest.fixture
def ledger(big: tuple[Path, SecretKey], tmp_path: Path) -> tuple[Path, SecretKey]:
    path = tmp_path / "ledger.jsonl"
    shutil.copy(big[0] / "ledger.jsonl", path)
    shutil.copy(big[0] / "op.pub", tmp_path / "op.pub")
    return path, big[1]


def verify(cli: Cli, path: Path, *extra: str | Path) -> tuple[int, str, dict[str, Any]]:
    run = cli(
        "ledger",
        "verify",
        "--ledger",
        path,
        "--trusted-key",
        path.parent / "op.pub",
        "--format",
        "json",
        *extra,
    )
    return run.code, run.err, json.loads(run.out)["results"][0] if run.out else {}


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def named(report: dict[str, Any], seq: int) -> bool:
    return any(f["seq"] == seq or f["line"] == seq for f in report["findings"])


def test_ten_thousand_entries_verify(ledger: tuple[Path, SecretKey], cli: Cli) -> None:
    code, err, report = verify(cli, ledger[0])
    assert code == 0, err
    assert report["entries"] == ENTRIES and report["findings"] == []


def test_one_field_edited(ledger: tuple[Path, SecretKey], cli: Cli) -> None:
    path, _ = ledger
    all_lines = lines(path)
    all_lines[4999] = all_lines[4999].replace(b'"note":"entry 5000"', b'"note":"entry 500"')
    path.write_bytes(b"".join(all_lines))
    code, _, report = verify(cli, path)
    assert code == 4 and named(report, 5000)
    assert any("bad signature" in f["message"] for f in report["findings"])


@pytest.mark.parametrize("change", ["deleted", "swapped", "forged", "signature"])
def test_line_changes(change: str, ledger: tuple[Path, SecretKey], cli: Cli) -> None:
    path = ledger[0]
    all_lines = lines(path)
    if change == "deleted":
        del all_lines[6999]
        expect = 7001
    elif change == "swapped":
        all_lines[2999], all_lines[3000] = all_lines[3000], all_lines[2999]
        expect = 3001
    elif change == "forged":
        forger = SecretKey.generate()
        entry = json.loads(all_lines[7999])
        forged = sign_entry(
            {**entry, "note": "nothing to see", "operator": forger.public.id}, forger
        )
        all_lines.insert(8000, forged + b"\n")
        expect = 8001
    else:
        entry = json.loads(all_lines[1233])
        other = json.loads(all_lines[1234])
        all_lines[1233] = (
            json.dumps(
                {**entry, "sig": other["sig"]}, sort_keys=True, separators=(",", ":")
            ).encode()
            + b"\n"
        )
        expect = 1234
    path.write_bytes(b"".join(all_lines))
    code, _, report = verify(cli, path)
    assert code == 4, report
    assert named(report, expect), report


def test_older_copy_is_caught_against_a_saved_checkpoint(
    ledger: tuple[Path, SecretKey], cli: Cli, tmp_path: Path
) -> None:
    path, key = ledger
    older = tmp_path / "older.jsonl"
    shutil.copy(path, older)
    store = Ledger(path)
    for number in range(5):
        store.append("note", key, note=f"later {number}")
    run = cli("ledger", "checkpoint", "--ledger", path, "--trusted-key", tmp_path / "op.pub")
    assert run.code == 0, run.err
    checkpoint = tmp_path / "checkpoint.txt"
    checkpoint.write_text(run.out)
    code, _, report = verify(cli, path, "--since-checkpoint", checkpoint)
    assert code == 0 and report["incremental_from"] == ENTRIES + 5
    shutil.copy(older, path)
    code, _, report = verify(cli, path, "--since-checkpoint", checkpoint)
    assert code == 4
    assert any("rolled back" in f["message"] for f in report["findings"])


def test_torn_tail(ledger: tuple[Path, SecretKey], cli: Cli) -> None:
    path, key = ledger
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # the last entry cut mid-line
    code, _, report = verify(cli, path)
    assert code == 1 and report["entries"] == ENTRIES - 1
    (finding,) = report["findings"]
    assert "torn tail" in finding["message"]
    with pytest.raises(Exception, match="torn tail"):
        Ledger(path).append("note", key)
    run = cli("ledger", "record", "--step", "note", "--ledger", path)
    assert run.code == 1 and "torn tail" in run.err
    side = Ledger(path).repair(key)
    assert (
        side is not None
        and side.read_bytes() == data[len(data) - len(side.read_bytes()) - 40 : len(data) - 40]
    )
    code, _, report = verify(cli, path)
    assert code == 0 and report["entries"] == ENTRIES  # 9,999 + the repair entry
    last = json.loads(lines(path)[-1])
    assert last["step"] == "ledger.repair" and side.name in last["note"]


def _appender(path: str, secret: str, count: int) -> None:
    key = SecretKey.parse(secret, None)
    store = Ledger(Path(path))
    for number in range(count):
        store.append("note", key, note=f"{os.getpid()} {number}")


def test_four_processes_appending_at_once(tmp_path: Path, cli: Cli) -> None:
    key = SecretKey.generate()
    (tmp_path / "op.pub").write_text(key.public.text())
    path = tmp_path / "ledger.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_appender, args=(str(path), key.text(None), 1000)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        assert worker.exitcode == 0
    code, err, report = verify(cli, path)
    assert code == 0, err
    assert report["entries"] == 4000


KILLED_APPENDER = """
import sys
from pathlib import Path
from airgap.ledger.store import Ledger
from airgap.signing.minisign import SecretKey
key = SecretKey.parse(Path(sys.argv[2]).read_text(), None)
store = Ledger(Path(sys.argv[1]))
while True:
    store.append("note", key, note="x" * 2000)
"""


@pytest.mark.slow
def test_kill_9_mid_append_fifty_times(tmp_path: Path, cli: Cli) -> None:
    key = SecretKey.generate()
    (tmp_path / "op.pub").write_text(key.public.text())
    (tmp_path / "op.key").write_text(key.text(None))
    path = tmp_path / "ledger.jsonl"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    before = 0
    for _ in range(50):
        process = subprocess.Popen(
            [sys.executable, "-c", KILLED_APPENDER, str(path), str(tmp_path / "op.key")], env=env
        )
        while not path.exists() or Ledger(path).tail().count in (None, before):
            pass  # wait until it has appended something new
        process.send_signal(signal.SIGKILL)
        process.wait()
        code, _, report = verify(cli, path)
        entries = int(report["entries"])
        assert entries > before, "an earlier entry was lost"
        if code == 1:
            assert [f["message"][:9] for f in report["findings"]] == ["torn tail"]
            Ledger(path).repair(key)
            entries += 1
        else:
            assert code == 0, report
        before = entries
    assert verify(cli, path)[0] == 0
