"""``airgap audit report`` over the demo's ledger: every step listed with a proof that verifies,
the JSON form against its schema, and the HTML page in a real headless Chromium."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from airgap.xml import schema_dir
from tests.conftest import Cli, need_tool


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished demo: the jump host's ledger, keys and trusted keys."""
    root = tmp_path_factory.mktemp("audit") / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "airgap", "demo", "--workdir", str(root)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return root


def as_jump_host(monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    home = root / "jump"
    for name, value in (
        ("HOME", home),
        ("XDG_CONFIG_HOME", home / ".config"),
        ("XDG_DATA_HOME", home / ".local" / "share"),
        ("AIRGAP_LEDGER", home / "ledger.jsonl"),
        ("AIRGAP_TRUSTED_KEYS", home / "trusted"),
    ):
        monkeypatch.setenv(name, str(value))
    monkeypatch.chdir(root)
    return home


def test_the_report_lists_every_step_with_proofs_that_verify(
    demo: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import jsonschema_rs

    home = as_jump_host(monkeypatch, demo)
    out = tmp_path / "report.json"
    run = cli("audit", "report", "--since", "2000-01-01", "--out", out, "--format", "json")
    assert run.code == 0, run.err
    doc = json.loads(out.read_text())
    schema = json.loads((schema_dir() / "audit-report.schema.json").read_text())
    jsonschema_rs.validator_for(schema).validate(doc)
    lines = (home / "ledger.jsonl").read_text().splitlines()
    assert [r["seq"] for r in doc["rows"]] == list(range(1, len(lines) + 1))
    steps = {r["step"] for r in doc["rows"]}
    assert {
        "usage.collect",
        "validate",
        "bundle.create",
        "media.write",
        "bundle.verify",
        "import.apply",
        "import.after",
        "diff",
    } <= steps
    operator = next(r for r in doc["rows"] if r["step"] == "bundle.create")
    assert operator["person"] == "Jump host operator" and operator["role"] == "operator"
    host_pub = tmp_path / "host.pub"
    key = cli("key", "export", "--key", home / ".local" / "share" / "airgap" / "host.key")
    assert key.code == 0, key.err
    host_pub.write_text(key.out)
    for row in doc["rows"][:: max(1, len(doc["rows"]) // 6)]:
        (tmp_path / "p").write_text(row["proof"])
        (tmp_path / "e").write_text(row["entry"] + "\n")
        checked = cli(
            "ledger", "verify-proof", tmp_path / "p", tmp_path / "e", "--trusted-key", host_pub
        )
        assert checked.code == 0, checked.err
    controls = {c["control"]: c for c in doc["controls"]}
    assert controls["NIST SP 800-53 MP-5"]["evidenced"]


def test_csv_is_one_line_per_transfer_and_cells_cannot_run_as_formulas(
    demo: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    as_jump_host(monkeypatch, demo)
    record = cli("ledger", "record", "--step", "usage.collect", "--device", '=HYPERLINK("x")')
    assert record.code == 0, record.err
    out, data = tmp_path / "report.csv", tmp_path / "report.json"
    assert (
        cli("audit", "report", "--since", "2000-01-01", "--out", out, "--format", "csv").code == 0
    )
    assert (
        cli("audit", "report", "--since", "2000-01-01", "--out", data, "--format", "json").code == 0
    )
    with out.open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    transfers = json.loads(data.read_text())["transfers"]
    assert [line["transfer"] for line in lines] == [t["transfer"] for t in transfers]
    assert [line["entries"] for line in lines] == [
        " ".join(map(str, t["entries"])) for t in transfers
    ]
    (forged,) = [line for line in lines if "HYPERLINK" in line["from_host"]]
    assert forged["from_host"] == '\'=HYPERLINK("x")' and forged["kind"] == "usage.collect"


def test_the_outbound_bundle_names_the_inbound_bundle_that_answered_it(
    demo: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The jump host's ledger alone joins the outbound bundle's create, approval and media
    write, and finds its receipt: the inbound bundle whose bag-info answers it, with the
    internet PC's checkpoint that bundle carried."""
    as_jump_host(monkeypatch, demo)
    out = tmp_path / "report.json"
    assert (
        cli("audit", "report", "--since", "2000-01-01", "--out", out, "--format", "json").code == 0
    )
    doc = json.loads(out.read_text())
    steps = {r["seq"]: r["step"] for r in doc["rows"]}
    bundles = {t["direction"]: t for t in doc["transfers"] if t["kind"] == "bundle"}
    outbound, inbound = bundles["outbound"], bundles["inbound"]
    info = dict(
        line.split(": ", 1)
        for line in (demo / "jump" / "received" / "bag-info.txt").read_text().splitlines()
    )
    carried = json.loads((demo / "jump" / "received" / "airgap-checkpoint.txt").read_text())
    origin, size = carried["checkpoint"].splitlines()[:2]
    assert info["Airgap-Answers"] == outbound["bundle_id"] == inbound["answers"]
    receipt = outbound["receipt"]
    assert receipt["bundle_id"] == info["Airgap-Bundle-Id"] == inbound["bundle_id"]
    assert receipt["checkpoint"] == f"{origin} at {size}" and receipt["result"] == "ok"
    assert {steps[n] for n in receipt["entries"]} == {"bundle.verify", "bundle.extract"}
    assert outbound["to_host"] == origin == inbound["from_host"]
    assert outbound["from_host"] == doc["origin"] == inbound["to_host"]
    assert {"bundle.create", "bundle.approve", "media.write"} <= {
        steps[n] for n in outbound["entries"]
    }
    archive = demo / "outbound.tar.gz"
    assert outbound["archive"] == {
        "outbound.tar.gz": "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()
    }
    (approval,) = outbound["approvals"]
    assert (approval["person"], approval["role"]) == ("Release approver", "approver")
    assert outbound["who"]["person"] == "Jump host operator"
    assert inbound["who"]["person"] == "Internet PC operator"
    site = {p.name for p in (demo / "jump" / "collected").iterdir()}
    devices = [t for t in doc["transfers"] if site & {t["from_host"], t["to_host"]}]
    assert sorted(t["kind"] for t in devices) == ["import.apply"] * len(site) + [
        "usage.collect"
    ] * len(site)
    for t in devices:
        assert t["receipt_status"] in ("not applicable", "answered")
        assert all(d.startswith("sha256:") for d in t["files"].values()) and t["files"]


def _png_is_blank(data: bytes) -> bool:
    """True when every pixel row of a PNG screenshot is the same (a blank page)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat = 8, b""
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"IDAT":
            idat += data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    pixels = zlib.decompress(idat)
    return len({pixels[i : i + 64] for i in range(0, len(pixels), 4096)}) <= 2


def test_the_page_renders_in_a_real_browser_with_no_request(
    demo: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    browser = next((b for b in ("chromium", "chromium-browser") if _which(b)), "chromium")
    need_tool(browser)
    as_jump_host(monkeypatch, demo)
    page = tmp_path / "report.html"
    assert (
        cli(
            "audit",
            "report",
            "--since",
            "2000-01-01",
            "--out",
            page,
            "--captures",
            demo / "jump" / "imports" / "after",
        ).code
        == 0
    )
    text = page.read_text()
    assert "<script" not in text and not re.search(r"(src|href)=\"(https?:)?//", text)
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,1600",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert shot.exists(), done.stderr[-2000:]
    console = [
        line
        for line in done.stderr.splitlines()
        if "CONSOLE" in line or "Content Security Policy" in line or "net::ERR" in line
    ]
    assert console == [], console
    assert not _png_is_blank(shot.read_bytes())


def _which(name: str) -> str | None:
    import shutil

    return shutil.which(name)
