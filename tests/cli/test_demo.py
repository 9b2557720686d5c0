"""airgap demo: the whole round trip passes; a tampered USB stops it at verify with exit 4;
stock minisign and sha256sum accept what it made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import need_tool


def demo(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airgap", "demo", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def test_round_trip_passes_and_stock_tools_agree(tmp_path: Path) -> None:
    need_tool("minisign")
    need_tool("sha256sum")
    done = demo("--devices", "3", "--workdir", tmp_path / "w", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    body = json.loads(done.stdout)
    assert body["ok"] and body["summary"]["passed"]
    titles = [s["title"] for s in body["results"]]
    for wanted in (
        "verify the bundle: signature, manifest, files, one approval",
        "import each ACK on its device over SSH, and prove it",
        "a second person approves the release (two-person rule)",
        "the audit report for the inspector (one offline HTML page)",
        "did the import take effect?",
        "stock minisign checks the signature",
        "stock sha256sum checks the manifest",
        "reconcile reports, ACKs and devices",
        "verify this host's audit ledger",
    ):
        assert wanted in titles
    work = tmp_path / "w"
    for bundle, signer in (("outbound.tar.gz", "jump"), ("inbound.tar.gz", "internet")):
        subprocess.run(
            [
                "minisign",
                "-V",
                "-q",
                "-p",
                work / signer / "keys/operator.pub",
                "-m",
                work / "usb" / bundle,
            ],
            check=True,
        )
    for received in ("internet/received", "jump/received"):
        subprocess.run(
            ["sha256sum", "-c", "--quiet", "manifest-sha256.txt"], cwd=work / received, check=True
        )


def test_tampered_media_stops_at_verify_with_exit_4(tmp_path: Path) -> None:
    done = demo("--tamper", "media", "--devices", "2", "--workdir", tmp_path / "w")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "TAMPER" in done.stdout
    assert "stopped at step" in done.stderr and "verify the bundle" in done.stderr
    assert not (tmp_path / "w" / "internet" / "received").exists()


def test_temporary_workdir_is_removed_and_bad_flags_exit_2(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = demo("--tamper", "media", "--devices", "1", env={"TMPDIR": str(scratch)})
    assert done.returncode == 4
    assert not any(scratch.iterdir())  # the demo's temporary folder went with it
    done = demo("--tamper", "cable")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("keep")
    done = demo("--workdir", tmp_path / "busy")
    assert done.returncode == 3 and "not empty" in done.stderr
    assert (tmp_path / "busy" / "x").read_text() == "keep"
