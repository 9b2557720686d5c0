"""Never read what is not a regular file, never read without a bound: a FIFO or a device given
as a bundle, a ledger, a key, a passphrase file, an accounts map or a ``--material`` is refused
(exit 3) before it is read; small inputs over their cap are refused; a ledger that is a symbolic
link is refused; a key asking for absurd scrypt work is refused at once.

Each case runs the real CLI in a subprocess with a timeout, so a read that hangs on a FIFO or
never ends on /dev/zero fails the test instead of stalling the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from airgap.signing.minisign import SecretKey
from tests.conftest import SAMPLES
from tests.ledger.hostile import fifo, greedy_key, oversize

TIMEOUT = 30
SAMPLE = SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml"


def airgap(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``airgap ARGS`` in a subprocess (environment: the hermetic one, plus ``env``)."""
    return subprocess.run(
        [sys.executable, "-m", "airgap", *map(str, args)],
        text=True,
        capture_output=True,
        timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An operator key pair (op.key owner-only, op.pub) and an encrypted key (enc.key)."""
    key = SecretKey.generate()
    (tmp_path / "op.key").write_text(key.text(None))
    (tmp_path / "op.key").chmod(0o600)
    (tmp_path / "op.pub").write_text(key.public.text())
    (tmp_path / "enc.key").write_text(key.text(b"pass"))
    (tmp_path / "enc.key").chmod(0o600)
    (tmp_path / "pass.txt").write_text("pass\n")
    return tmp_path


# Each input: the command line that reads it from SPECIAL, and extra environment.
Case = Callable[[Path, Path], tuple[list[str | Path], dict[str, str]]]
CASES: dict[str, Case] = {
    "bundle": lambda w, s: (
        ["bundle", "verify", s, "--sig", w / "op.pub", "--trusted-key", w / "op.pub"],
        {},
    ),
    "ledger (verify)": lambda w, s: (["ledger", "verify", "--ledger", s], {}),
    "ledger (record)": lambda w, s: (["ledger", "record", "--step", "note", "--ledger", s], {}),
    "ledger (show)": lambda w, s: (["ledger", "show", "--ledger", s], {}),
    "secret key": lambda w, s: (["sign", SAMPLE, "--key", s, "--out", w / "x.sig"], {}),
    "public key": lambda w, s: (
        ["ledger", "verify", "--ledger", w / "ledger.jsonl", "--trusted-key", s],
        {},
    ),
    "passphrase file": lambda w, s: (
        ["sign", SAMPLE, "--key", w / "enc.key", "--out", w / "x.sig"],
        {"AIRGAP_PASSPHRASE_FILE": str(s)},
    ),
    "accounts map": lambda w, s: (
        ["cslu", "pack", "--out", w / "up.tar.gz", SAMPLE, "--accounts", s],
        {},
    ),
    "material": lambda w, s: (
        ["ledger", "record", "--step", "note", "--ledger", w / "ledger.jsonl", "--material", s],
        {},
    ),
    "checkpoint": lambda w, s: (
        ["ledger", "verify", "--ledger", w / "ledger.jsonl", "--since-checkpoint", s],
        {},
    ),
    "proof": lambda w, s: (
        ["ledger", "verify-proof", s, SAMPLE, "--trusted-key", w / "op.pub"],
        {},
    ),
}
SPECIAL: dict[str, Callable[[Path], Path]] = {
    "fifo": lambda w: fifo(w / "special"),
    "/dev/zero": lambda w: Path("/dev/zero"),
}


@pytest.mark.parametrize("special", sorted(SPECIAL))
@pytest.mark.parametrize("case", sorted(CASES))
def test_special_files_are_refused(case: str, special: str, work: Path) -> None:
    path = SPECIAL[special](work)
    record = airgap("ledger", "record", "--step", "note", "--ledger", work / "ledger.jsonl")
    assert record.returncode == 0, record.stderr
    args, env = CASES[case](work, path)
    run = airgap(*args, env=env)
    assert run.returncode == 3, (run.returncode, run.stderr)
    assert str(path) in run.stderr and "not a regular file" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "case", ["secret key", "public key", "passphrase file", "checkpoint", "proof"]
)
def test_oversize_small_inputs_are_refused(case: str, work: Path) -> None:
    big = oversize(work / "big", (4 << 20) + 1)
    big.chmod(0o600)
    airgap("ledger", "record", "--step", "note", "--ledger", work / "ledger.jsonl")
    args, env = CASES[case](work, big)
    run = airgap(*args, env=env)
    assert run.returncode == 3 and "larger than" in run.stderr, run.stderr


def test_an_oversize_roster_is_refused(work: Path) -> None:
    folder = work / "trusted"
    folder.mkdir()
    oversize(folder / "roster.json", (4 << 20) + 1)
    run = airgap("key", "list", "--trusted-keys", folder)
    assert run.returncode == 3 and "invalid roster" in run.stderr and "larger than" in run.stderr


def test_a_fifo_roster_is_refused(work: Path) -> None:
    folder = work / "trusted"
    folder.mkdir()
    fifo(folder / "roster.json")
    run = airgap("key", "list", "--trusted-keys", folder)
    assert run.returncode == 3 and "not a regular file" in run.stderr


def test_a_symlinked_ledger_is_refused(work: Path) -> None:
    real = work / "real.jsonl"
    assert airgap("ledger", "record", "--step", "note", "--ledger", real).returncode == 0
    link = work / "link.jsonl"
    link.symlink_to(real)
    before = real.read_bytes()
    for args in (["verify"], ["show"], ["record", "--step", "note"], ["export"]):
        run = airgap("ledger", *args, "--ledger", link)
        assert run.returncode == 3 and "symbolic link" in run.stderr, (args, run.stderr)
    assert real.read_bytes() == before


@pytest.mark.parametrize(
    ("opslimit", "memlimit"), [(1 << 62, 1 << 62), (1 << 40, 1 << 24), (1 << 62, 1 << 40)]
)
def test_a_key_asking_absurd_scrypt_work_is_refused(
    opslimit: int, memlimit: int, work: Path
) -> None:
    key = greedy_key(work / "greedy.key", b"pass", opslimit, memlimit)
    run = airgap(
        "sign",
        SAMPLE,
        "--key",
        key,
        "--out",
        work / "x.sig",
        env={"AIRGAP_PASSPHRASE_FILE": str(work / "pass.txt")},
    )
    assert run.returncode == 3 and "refusing secret key" in run.stderr, run.stderr
    assert "scrypt" in run.stderr and not (work / "x.sig").exists()


def test_minisigns_own_scrypt_default_is_within_the_cap(work: Path) -> None:
    """minisign writes opslimit 2^25, memlimit 2^30 (1 GiB); such keys are not refused."""
    key = greedy_key(work / "minisign.key", b"pass", 1 << 25, 1 << 30)
    assert SecretKey.encrypted(key.read_text(), key)
