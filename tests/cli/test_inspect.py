"""``airgap inspect`` on real field files, samples and files of no known kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airgap.formats import showcli
from tests.conftest import FIELD, SAMPLES, Cli, need_field, wrap_fragment


def field_files(pattern: str) -> list[Path]:
    return sorted(FIELD.glob(pattern)) if FIELD.exists() else []


def test_field_rum_element_wrapped(tmp_path: Path, cli: Cli) -> None:
    fragment = need_field("rum", "c9800cl_17.09.02__RUMReport_element.xml").read_bytes()
    usage = tmp_path / "usage.xml"
    usage.write_bytes(wrap_fragment(fragment))
    run = cli("inspect", "--format", "json", usage)
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    assert doc["command"] == "inspect" and doc["ok"] is True
    (result,) = doc["results"]
    assert result["kind"] == "usage"
    assert result["devices"] == [{"pid": "C9800-CL-K9", "sn": "9NTUEA8FIIH"}]
    assert result["report_ids"] == [1671840750]
    measurements = result["measurements"]
    assert measurements["count"] == 3
    assert (measurements["start"], measurements["end"]) == (1671880245, 1673790212)
    assert measurements["values"] == ["2", "3", "3"]
    (report,) = result["reports"]
    assert [m["value"] for m in report["measurements"]] == ["2", "3", "3"]
    assert report["layout"] == "2.0"


def test_field_rum_element_alone_is_a_fragment(cli: Cli) -> None:
    path = need_field("rum", "c9800cl_17.09.02__RUMReport_element.xml")
    run = cli("inspect", "--format", "json", path)
    assert run.code == 0
    assert json.loads(run.out)["results"][0]["kind"] == "rum-fragment"


def expected_capture_kind(path: Path) -> str:
    """The kind a field capture's file name says (genieparser's class name)."""
    name = path.name
    for typed, kind in (
        ("show_license_status", "status"),
        ("show_license_all", "all"),
        ("show_license_usage", "usage"),
        ("show_license_summary", "summary"),
        ("show_license_rum_id_all", "rum-id-all"),
    ):
        if typed in name:
            return f"show-license-{kind}"
    command = name.split("__")[-2 if name.startswith("genie") else 0]
    command = command.removeprefix("ShowLicense").rstrip("0123456789")
    words = {
        "All": "all",
        "Eventlog": "eventlog",
        "HistoryMessage": "history-message",
        "RumIdAll": "rum-id-all",
        "RumIdDetail": "rum-id-detail",
        "Status": "status",
        "Summary": "summary",
        "TechSupport": "tech-support",
        "Udi": "udi",
        "Usage": "usage",
        "Authorization": "authorization",
    }
    return f"show-license-{words[command]}"


CAPTURES = (
    field_files("show/*_output.txt")
    + field_files("show/*.raw")
    + field_files("show/xaviervalette-*.txt")
    + field_files("show/genielibs__*.txt")
)


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_every_field_capture_gets_its_kind(path: Path, cli: Cli) -> None:
    run = cli("inspect", "--format", "json", path)
    assert run.code == 0, run.err
    assert json.loads(run.out)["results"][0]["kind"] == expected_capture_kind(path)


def test_field_xml_files_get_their_kind(cli: Cli) -> None:
    ack = need_field("ack")
    run = cli("inspect", "--format", "json", *sorted(ack.glob("*.xml")))
    assert run.code == 0, run.err
    results = json.loads(run.out)["results"]
    assert [r["kind"] for r in results] == ["import", "import"]
    rum_ack = results[0]
    assert rum_ack["parts"] == [
        "smartLicenseAuthorization",
        "smartLicensePolicy",
        "smartLicenseRumAck",
        "smartLicenseAccountInfo",
        "correlationID",
    ]
    assert rum_ack["policy"]["terms"]["perpetual"] == {
        "firstTimeReport": 90,
        "onGoingReporting": 356,
        "reportOnMACD": 90,
    }
    assert rum_ack["policy"]["ack_required"] is True


@pytest.mark.parametrize(
    "name", ["screenshot_redacted_rum_ack.png", "screenshot_redacted_slac.png"]
)
def test_file_of_no_known_kind_exits_3_in_one_line(name: str, cli: Cli) -> None:
    run = cli("inspect", need_field("ack", name))
    assert run.code == 3
    assert run.out == ""
    assert run.err.count("\n") == 1 and "no kind airgap knows" in run.err


def test_walking_a_folder_skips_unknown_files_with_a_note(cli: Cli) -> None:
    run = cli("inspect", need_field("ack"))
    assert run.code == 0
    assert "note: skipped" in run.err and "screenshot_redacted_slac.png" in run.err


def test_walk_finds_an_xml_root_after_a_long_prolog(tmp_path: Path, cli: Cli) -> None:
    # The walk looks at the first 4 KiB; a comment longer than that must not hide the root.
    sample = (SAMPLES / "usage-n9k-nxos-v1.xml").read_bytes()
    declaration, rest = sample.split(b"?>", 1)
    folder = tmp_path / "walked"
    folder.mkdir()
    (folder / "long.xml").write_bytes(declaration + b"?><!--" + b"x" * 5000 + b"-->" + rest)
    run = cli("inspect", "--format", "json", folder)
    assert run.code == 0, run.err
    assert json.loads(run.out)["results"][0]["kind"] == "usage"


def test_kind_comes_from_content_not_name(tmp_path: Path, cli: Cli) -> None:
    text = "Router#sh lic rum id all\nSmart Licensing Usage Report:\n"
    misleading = tmp_path / "usage.xml"
    misleading.write_text(text)
    run = cli("inspect", "--format", "json", misleading)
    assert json.loads(run.out)["results"][0]["kind"] == "show-license-rum-id-all"
    assert json.loads(run.out)["results"][0]["hostnames"] == ["Router"]


def test_broken_xml_is_exit_1(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "cut.xml"
    path.write_bytes(b"<smartLicense><RUMReport>")
    run = cli("inspect", path)
    assert run.code == 1
    assert "Traceback" not in run.err and run.err.startswith("error: ")


def test_missing_path_exits_3(tmp_path: Path, cli: Cli) -> None:
    run = cli("inspect", tmp_path / "nope.xml")
    assert run.code == 3 and "no such file" in run.err


@pytest.mark.parametrize(
    ("words", "kind"),
    [
        ("status", "show-license-status"),
        ("stat", "show-license-status"),
        ("tech support", "show-license-tech-support"),
        ("rum id all", "show-license-rum-id-all"),
        ("rum id 1634211151 detail", "show-license-rum-id-detail"),
        ("udi", "show-license-udi"),
        ("history message", "show-license-history-message"),
        ("eventlog 2", "show-license-eventlog"),
        ("bogus", None),
    ],
)
def test_command_words(words: str, kind: str | None) -> None:
    assert showcli.command_kind(words) == kind


def test_archives_are_named_as_a_whole(cli: Cli, tmp_path: Path) -> None:
    from airgap.formats import cslu
    from airgap.lab import fleet

    devices = list(fleet.fleet(2, 3))
    upload = tmp_path / "UD_SA_x.tar.gz"
    upload.write_bytes(
        cslu.pack(
            [(d.file_name, fleet.usage_file(d)) for d in devices],
            "PLANT",
            when=fleet.LAB_NOW,
            smart_account="Example",
        )
    )
    run = cli("inspect", upload, "--format", "json")
    assert run.code == 0, run.err
    results = json.loads(run.out)["results"]
    assert results[0]["kind"] == "cslu-upload-archive"
    assert results[0]["accounts"] == [{"smart_account": "Example", "virtual_account": "PLANT"}]
    assert [r["kind"] for r in results[1:]] == ["usage"] * 3
    key = tmp_path / "k"
    assert cli("key", "generate", "--out", key, "--no-passphrase").code == 0
    assert (
        cli("bundle", "create", "--out", tmp_path / "b.tar.gz", upload, "--key", f"{key}.key").code
        == 0
    )
    run = cli("inspect", tmp_path / "b.tar.gz")
    assert run.code == 0, run.err
    assert run.out.startswith(f"{tmp_path / 'b.tar.gz'}: bundle\n")
    assert "(outbound:" in run.out and "not verified here" in run.out


def test_json_is_utf8_whatever_the_locale(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.formats.helpers import envelope, payload, usage_xml

    usage = tmp_path / "usage.xml"
    usage.write_bytes(
        usage_xml(envelope(json.dumps(payload())), system_info={"hostname": "büro-sw-1"})
    )
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run(
        [sys.executable, "-m", "airgap", "inspect", "--format", "json", usage],
        capture_output=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.decode("utf-8"))["results"][0]["hostnames"] == ["büro-sw-1"]
