"""Hostile usage files through ``airgap validate``: what is checked is what crosses (repeated
JSON keys, report ids no device writes, markup inside a report, hostnames anywhere), and a file
with millions of faults gives bounded output in bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from airgap.validate.engine import MAX_FINDINGS
from tests.conftest import ROOT, Cli
from tests.validate import hostile

Case = tuple[str, Callable[[], bytes], set[str]]

# (name, builder, the error rules it must give under --privacy strict, and no others)
CASES: list[Case] = [
    ("envelope-payload", hostile.envelope_repeats_payload, {"json-duplicate-key"}),
    ("envelope-sudi", hostile.envelope_repeats_sudi, {"json-duplicate-key"}),
    (
        "payload-hostname",
        hostile.payload_repeats_hostname,
        {"json-duplicate-key", "hostname-present"},
    ),
    (
        "system-info-hostname",
        hostile.system_info_repeats_hostname,
        {"json-duplicate-key", "hostname-present"},
    ),
    ("id-float", lambda: hostile.report_id_written("1696420871.0"), {"report-id"}),
    ("id-exponent", lambda: hostile.report_id_written("1.696420871e9"), {"report-id"}),
    ("id-2-64", lambda: hostile.report_id_written(str(2**64)), {"report-id"}),
    ("id-negative", lambda: hostile.report_id_written("-1696420871"), {"report-id"}),
    ("id-float-v2", lambda: hostile.report_id_written("1696420871.0", "2.0"), {"report-id"}),
    ("comment-in-report", lambda: hostile.report_with("<!-- seen -->"), {"json-markup"}),
    ("pi-in-report", lambda: hostile.report_with("<?note x?>", before=False), {"json-markup"}),
    ("hostname-list", hostile.hostname_in_list, {"hostname-present"}),
    ("hostname-envelope", hostile.hostname_in_envelope, {"hostname-present"}),
    ("hostname-nested", hostile.hostname_nested, {"hostname-present"}),
    ("nested-1000", lambda: hostile.hostname_nested(1000), {"json-syntax"}),
    (
        "hostname-comment",
        lambda: hostile.hostname_in_markup(f"<!-- hostname: {hostile.HOSTNAME} -->"),
        {"hostname-present"},
    ),
    (
        "hostname-pi",
        lambda: hostile.hostname_in_markup(f'<?note host-name="{hostile.HOSTNAME}"?>'),
        {"hostname-present"},
    ),
]


@pytest.mark.parametrize(("name", "build", "rules"), CASES, ids=[c[0] for c in CASES])
def test_hostile_file_is_refused_naming_its_rule(
    name: str, build: Callable[[], bytes], rules: set[str], cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / f"{name}.xml"
    path.write_bytes(build())
    text = cli("validate", "--privacy", "strict", path)
    assert text.code == 1, text.out
    assert text.err == ""
    assert {
        line.rsplit("[", 1)[1].rstrip("]") for line in text.out.splitlines() if ": error: " in line
    } == rules
    run = cli("validate", "--privacy", "strict", "--format", "json", path)
    assert run.code == 1
    (result,) = json.loads(run.out)["results"]
    assert not result["ok"]
    assert {f["rule"] for f in result["findings"] if f["level"] == "error"} == rules


def test_a_repeated_key_names_the_key_and_the_document(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "f.xml"
    path.write_bytes(hostile.envelope_repeats_sudi())
    run = cli("validate", path)
    assert run.code == 1
    assert f"{path}:1: error: RUM report envelope repeats key 'sudi'" in run.out


def test_the_leaking_first_hostname_is_the_one_reported(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "f.xml"
    path.write_bytes(hostile.payload_repeats_hostname())
    run = cli("validate", "--format", "json", path)
    (result,) = json.loads(run.out)["results"]
    (host,) = [f for f in result["findings"] if f["rule"] == "hostname-present"]
    assert hostile.HOSTNAME in host["message"] and host["level"] == "warning"


def test_a_report_after_a_comment_is_read_whole(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "f.xml"
    path.write_bytes(hostile.report_with("<!-- seen -->"))
    run = cli("validate", path)
    assert "json-syntax" not in run.out and "empty" not in run.out
    assert "a comment inside <RUMReport> [json-markup]" in run.out


def test_a_repeated_report_id_written_as_a_float_is_refused(cli: Cli, tmp_path: Path) -> None:
    """Once as 1696420871 and once as 1696420871.0: the second is no duplicate to a reader
    that compares integers, so it is refused on its own."""
    path = tmp_path / "f.xml"
    plain, written = (
        hostile.report_id_written(str(hostile.ID)),
        hostile.report_id_written(f"{hostile.ID}.0"),
    )
    path.write_bytes(
        plain.replace(b"</smartLicense>", b"") + written.replace(b"<smartLicense>", b"")
    )
    run = cli("validate", "--format", "json", path)
    assert run.code == 1
    (result,) = json.loads(run.out)["results"]
    assert [f["rule"] for f in result["findings"]] == ["report-id"]


def test_findings_past_the_cap_are_counted_not_kept(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "f.xml"
    path.write_bytes(hostile.many_bad_attributes(MAX_FINDINGS + 2_500))
    text = cli("validate", path)
    assert text.code == 1
    lines = text.out.splitlines()
    assert sum(line.endswith("[xml-schema]") for line in lines) == MAX_FINDINGS
    assert (
        f"{path}: error: 2,500 more findings not shown (2,500 errors, 0 warnings; "
        f"the first 1,000 are)" in lines
    )
    assert lines[-1] == f"1 file validated: 1 invalid, {MAX_FINDINGS + 2_500} errors, 0 warnings"
    run = cli("validate", "--format", "json", path)
    (result,) = json.loads(run.out)["results"]
    assert len(result["findings"]) == MAX_FINDINGS
    assert result["omitted"] == {"errors": 2_500, "warnings": 0}
    assert json.loads(run.out)["summary"]["errors"] == MAX_FINDINGS + 2_500


def test_many_bad_attributes_take_bounded_memory(tmp_path: Path) -> None:
    """4.4 MB with 400,000 attributes, each an XSD violation: before the cap, about 790 MB
    and 100 MB of JSON (two million: 3.7 GB); now about 180 MB and a
    thousand findings."""
    count = 400_000
    path = tmp_path / "f.xml"
    path.write_bytes(hostile.many_bad_attributes(count))
    # VmHWM, not ru_maxrss: Linux carries a parent's ru_maxrss over fork and exec
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['airgap', 'validate', '-j1', '--format', 'json', sys.argv[1]]\n"
        "try:\n    runpy.run_module('airgap', run_name='__main__')\n"
        "finally:\n    status = open('/proc/self/status').read()\n"
        "    print(status.split('VmHWM:')[1].split()[0], file=sys.stderr)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert run.returncode == 1, run.stderr
    (result,) = json.loads(run.stdout)["results"]
    assert len(result["findings"]) == MAX_FINDINGS
    assert result["omitted"]["errors"] == count - MAX_FINDINGS
    assert len(run.stdout) < 1 << 20
    peak_mib = int(run.stderr.split()[-1]) >> 10
    assert peak_mib < 400, f"peak {peak_mib} MiB"
