"""No false green (DESIGN.md): each case where airgap said "ok" against the evidence, through
the real CLI, and the device identity that decides which captures are one device."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airgap.formats.common import Udi
from airgap.lab import cssm
from tests.conftest import SAMPLES, Cli, need_field

TODAY = "2026-11-02"


def status(
    last_ack: str = "Oct 01 10:00:00 2026 UTC",
    deadline: str = "Dec 30 10:00:00 2026 UTC",
    *,
    prompt: str | None = None,
    clock: str | None = None,
    udi: str | None = None,
) -> str:
    """A ``show license status`` capture as IOS-XE 17.x prints it (no UDI unless asked)."""
    lines = [f"{prompt}#show license status"] if prompt else []
    lines += [f"Time source is NTP, {clock}"] if clock else []
    lines += [
        "",
        "Utility:",
        "  Status: DISABLED",
        "",
        "Smart Licensing Using Policy:",
        "  Status: ENABLED",
        "",
        "Usage Reporting:",
        f"  Last ACK received: {last_ack}",
        f"  Next ACK deadline: {deadline}",
        "  Reporting push interval: 0 (no reporting)",
        "  Next ACK push check: <none>",
        "  Next report push: <none>",
        "  Last report push: <none>",
        "  Last report file write: <none>",
        "",
    ]
    if udi:
        lines += ["Product Information:", f"  UDI: {udi}", ""]
    return "\n".join(lines)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def deadlines(cli: Cli, *paths: Path) -> tuple[int, list[dict[str, object]]]:
    run = cli("deadlines", "--format", "json", "--today", TODAY, *paths)
    assert run.code in (0, 1), run.err
    return run.code, json.loads(run.out)["results"]


def test_status_captures_without_a_udi_are_separate_devices(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "site", "a.txt", status())
    write(
        tmp_path / "site", "b.txt", status("Jan 05 10:00:00 2025 UTC", "Apr 05 10:00:00 2025 UTC")
    )
    code, results = deadlines(cli, tmp_path / "site")
    assert code == 1  # one of them is overdue by hundreds of days
    assert [r["status"] for r in results] == ["overdue", "ok"]
    assert {r["identified_by"] for r in results} == {"file"}
    days_left = results[0]["days_left"]
    assert isinstance(days_left, int) and days_left < -500


def test_two_prompts_are_two_devices(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path, "a.txt", status(prompt="sw-a"))
    write(
        tmp_path,
        "b.txt",
        status("Jan 05 10:00:00 2025 UTC", "Apr 05 10:00:00 2025 UTC", prompt="sw-b"),
    )
    code, results = deadlines(cli, tmp_path)
    assert code == 1
    assert [(r["hostname"], r["status"], r["identified_by"]) for r in results] == [
        ("sw-b", "overdue", "hostname"),
        ("sw-a", "ok", "hostname"),
    ]


def test_same_prompt_in_one_folder_is_one_device(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path, "a.txt", status(prompt="sw-a"))
    write(tmp_path, "b.txt", status(prompt="sw-a"))
    _, results = deadlines(cli, tmp_path)
    assert len(results) == 1 and results[0]["identified_by"] == "hostname"


def test_a_bang_in_a_folder_name_is_not_an_archive_member(tmp_path: Path, cli: Cli) -> None:
    # a!b/one.txt is in the folder a!b, not in a file 'a' beside two.txt: two devices
    write(tmp_path / "a!b", "one.txt", status(prompt="sw-a"))
    write(tmp_path, "two.txt", status(prompt="sw-a"))
    _, results = deadlines(cli, tmp_path)
    assert sorted(str(r["device"]) for r in results) == [
        f"host:sw-a in {tmp_path}",
        f"host:sw-a in {tmp_path / 'a!b'}",
    ]


def test_a_member_is_in_the_folder_of_its_archive(tmp_path: Path, cli: Cli) -> None:
    import io
    import tarfile

    data = status(prompt="sw-a").encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("inner/one.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "caps.tar").write_bytes(buffer.getvalue())
    write(tmp_path / "site", "two.txt", status(prompt="sw-a"))
    _, results = deadlines(cli, tmp_path)
    assert [r["device"] for r in results] == [f"host:sw-a in {tmp_path / 'site'}"]


def test_a_host_capture_joins_the_udi_device_that_shows_its_host(tmp_path: Path, cli: Cli) -> None:
    udi = "PID:C9300-24UX,SN:FCW2437L0TZ"
    write(tmp_path, "udi.txt", "sw-a#show license udi\nUDI: " + udi + "\n")
    write(tmp_path, "status.txt", status(prompt="sw-a"))
    write(tmp_path, "other.txt", status(prompt="sw-b"))
    run = cli("state", "--format", "json", tmp_path)
    assert run.code == 0
    _, results = deadlines(cli, tmp_path)
    assert sorted((r["device"], r["identified_by"]) for r in results) == [
        ("PID:C9300-24UX,SN:FCW2437L0TZ", "udi"),
        ("host:sw-b in " + str(tmp_path), "hostname"),
    ]


def test_none_before_and_after_an_import_is_not_applied(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "before", "sw.txt", status("<none>", "<none>", prompt="sw-a"))
    write(tmp_path / "after", "sw.txt", status("<none>", "<none>", prompt="sw-a"))
    run = cli("diff", "--format", "json", tmp_path / "before", tmp_path / "after")
    assert run.code == 1, run.out
    doc = json.loads(run.out)
    assert doc["verdict"] == "not applied"
    assert any("still <none>" in line for line in doc["results"][0]["evidence"])


def test_unknown_only_when_the_field_is_not_shown(tmp_path: Path, cli: Cli) -> None:
    bare = "sw-a#show license status\n\nSmart Licensing Using Policy:\n  Status: ENABLED\n"
    write(tmp_path / "before", "sw.txt", bare)
    write(tmp_path / "after", "sw.txt", bare)
    run = cli("diff", "--format", "json", tmp_path / "before", tmp_path / "after")
    assert run.code == 0 and json.loads(run.out)["verdict"] == "unknown"


def test_the_same_last_ack_after_is_not_applied(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "before", "sw.txt", status(prompt="sw-a"))
    write(tmp_path / "after", "sw.txt", status(prompt="sw-a"))
    run = cli("diff", tmp_path / "before", tmp_path / "after")
    assert run.code == 1 and "verdict: not applied" in run.out


def test_next_ack_deadline_none_is_no_ack_pending(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path, "sw.txt", status("Oct 01 10:00:00 2026 UTC", "<none>", prompt="sw-a"))
    _, (result,) = deadlines(cli, tmp_path)
    assert result["ack_by"] is None and result["basis"] == "report_by"
    assert any("no ACK is pending" in note for note in result["notes"])  # type: ignore[attr-defined]
    report_by = result["report_by"]
    assert isinstance(report_by, dict) and report_by["estimate"] is True


def test_diff_of_two_devices_is_an_error(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "before", "a.txt", status("<none>", "<none>", prompt="sw-a"))
    write(tmp_path / "after", "b.txt", status("Oct 20 10:00:00 2026 UTC", prompt="sw-b"))
    run = cli("diff", tmp_path / "before", tmp_path / "after")
    assert run.code == 1 and "took effect" not in run.out
    assert "different devices" in run.err and "sw-a" in run.err and "sw-b" in run.err
    forced = cli(
        "diff", "--format", "json", "--same-device", tmp_path / "before", tmp_path / "after"
    )
    assert forced.code == 0, forced.err
    (device,) = json.loads(forced.out)["results"]
    assert device["verdict"] == "took effect" and device["paired"] == "forced by --same-device"


def test_two_udis_are_two_devices_in_diff(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "before", "a.txt", status(udi="PID:C9300-24UX,SN:FCW0000000A"))
    write(
        tmp_path / "after",
        "a.txt",
        status("Oct 20 10:00:00 2026 UTC", udi="PID:C9300-24UX,SN:FCW0000000B"),
    )
    run = cli("diff", "--format", "json", tmp_path / "before", tmp_path / "after")
    assert run.code == 1
    error = json.loads(run.out)
    assert "FCW0000000A" in json.dumps(error) and "FCW0000000B" in json.dumps(error)


def test_the_newest_capture_is_the_one_the_device_clock_says(tmp_path: Path, cli: Cli) -> None:
    udi = "PID:C9300-24UX,SN:FCW2437L0TZ"
    # taken in January; its last ACK is the latest of the two
    write(
        tmp_path,
        "january.txt",
        status(
            "Dec 20 10:00:00 2025 UTC",
            "Mar 20 10:00:00 2026 UTC",
            clock="10:00:00.000 UTC Mon Jan 05 2026",
            udi=udi,
        ),
    )
    # taken in October after a reset: no ACK since, a new deadline
    write(
        tmp_path,
        "october.txt",
        status(
            "<none>", "Jan 10 10:00:00 2027 UTC", clock="10:00:00.000 UTC Thu Oct 15 2026", udi=udi
        ),
    )
    run = cli("deadlines", "--format", "json", "--today", TODAY, tmp_path)
    (result,) = json.loads(run.out)["results"]
    assert run.code == 0 and result["status"] == "ok"  # not a false overdue
    assert result["ack_by"]["date"] == "2027-01-10"


def test_a_past_report_by_makes_a_device_overdue(tmp_path: Path, cli: Cli) -> None:
    text = status(prompt="sw-a").replace(
        "Next report push: <none>", "Next report push: Sep 01 10:00:00 2026 UTC"
    )
    write(tmp_path, "sw.txt", text)
    code, (result,) = deadlines(cli, tmp_path)
    assert code == 1 and (result["status"], result["basis"]) == ("overdue", "report_by")


def test_an_ack_whose_slac_names_a_device_not_given_is_foreign(tmp_path: Path, cli: Cli) -> None:
    foreign, given = Udi("C9300-24UX", "FCW9999ZZZZ"), Udi("C9300-24UX", "FCW2437L0TZ")
    ack = tmp_path / "ACK_x.xml"  # SLAC (seen) names a stranger; RUM ACK (inferred) ours
    ack.write_bytes(
        cssm.ack_xml(foreign, [(1678901231, given)], "c0ffee", datetime(2026, 10, 1, tzinfo=UTC))
    )
    run = cli("diff", "--format", "json", ack, SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml")
    assert run.code == 1, run.out
    (check,) = json.loads(run.out)["results"]
    assert check["belongs"] is False


def test_a_part_one_side_does_not_show_is_not_shown(tmp_path: Path, cli: Cli) -> None:
    summary = (
        "sw-a#show license summary\nLicense Usage:\n  License                 "
        "Entitlement Tag               Count Status\n  ----------------------------"
        "-------------------------------------------------\n  network-advantage       "
        "(C9300-24 Network Advan...)       1 IN USE\n"
    )
    write(tmp_path / "before", "sw.txt", status("<none>", "<none>", prompt="sw-a") + summary)
    write(tmp_path / "after", "sw.txt", status("Oct 20 10:00:00 2026 UTC", prompt="sw-a"))
    run = cli("diff", "--format", "json", tmp_path / "before", tmp_path / "after")
    (device,) = json.loads(run.out)["results"]
    assert "licenses (after)" in device["not_shown"]
    assert not any(c["field"] == "licenses" for c in device["changes"])


def test_csr1000v_before_and_after_registration_are_one_device(cli: Cli) -> None:
    first = need_field("show", "xaviervalette-sl__csr1000v_show_license_status_1_unregistered.txt")
    second = first.with_name("xaviervalette-sl__csr1000v_show_license_status_2_registered.txt")
    run = cli("diff", "--format", "json", first, second)
    assert run.code in (0, 1), run.err
    (device,) = json.loads(run.out)["results"]
    assert device["identified_by"] == ["hostname", "hostname"]


@pytest.mark.parametrize(
    "name",
    [
        "genieparser__ShowLicenseAuthorization__c9300_golden_output_output.txt",
        "ShowLicenseTechSupport__golden_output_2_output.txt",
    ],
)
def test_state_says_how_each_capture_is_identified(name: str, cli: Cli) -> None:
    run = cli("state", "--format", "json", need_field("show", name))
    assert run.code == 0
    (state,) = json.loads(run.out)["results"]
    assert state["identified_by"] == "udi" and state["udi_source"] == "capture"


def test_a_syslog_reporting_required_event_gives_a_deadline_seen_on_the_device(
    tmp_path: Path, cli: Cli
) -> None:
    logging = (
        "sw-a#show clock\n*10:00:00.000 UTC Thu Oct 15 2026\n"
        "sw-a#show logging | include SMART_LIC\n*Oct 14 09:00:00.123: "
        "%SMART_LIC-6-REPORTING_REQUIRED: A Usage report acknowledgement will be "
        "required in 20 days.\n"
    )
    write(
        tmp_path,
        "sw.txt",
        status("Oct 01 10:00:00 2026 UTC", "", prompt="sw-a").replace("  Next ACK deadline: \n", "")
        + logging,
    )
    code, (result,) = deadlines(cli, tmp_path)
    ack_by = result["ack_by"]
    assert isinstance(ack_by, dict)
    assert (ack_by["source"], ack_by["date"], ack_by["estimate"]) == ("syslog", "2026-11-03", False)
    assert code == 1 and result["status"] == "due"


def test_unidentified_captures_pair_by_file_name_and_say_so(tmp_path: Path, cli: Cli) -> None:
    for name, ack in (("a.txt", "Oct 20 10:00:00 2026 UTC"), ("b.txt", "<none>")):
        write(tmp_path / "before", name, status("<none>", "<none>"))
        write(tmp_path / "after", name, status(ack))
    run = cli("diff", "--format", "json", tmp_path / "before", tmp_path / "after")
    assert run.code == 1  # b.txt still shows <none>
    verdicts = {
        d["device"].rsplit("/", 1)[-1]: (d["verdict"], d["paired"])
        for d in json.loads(run.out)["results"]
    }
    assert verdicts == {
        "a.txt": ("took effect", "same file name a.txt, neither names its device"),
        "b.txt": ("not applied", "same file name b.txt, neither names its device"),
    }
