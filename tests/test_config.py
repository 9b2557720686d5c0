"""Settings precedence (flag > environment > user > system) and the working-folder limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airgap import config
from airgap.errors import ConfigError
from tests.conftest import SAMPLES, Cli


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def shown(cli: Cli, *flags: str) -> dict[str, dict[str, object]]:
    run = cli("config", "show", "--format", "json", *flags)
    assert run.code == 0, run.err
    return {s["name"]: s for s in json.loads(run.out)["results"]}


def test_each_source_wins_in_turn(
    hermetic: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert shown(cli)["ledger"]["source"] == "default"
    system = write(hermetic / "etc" / "config.toml", 'ledger = "/srv/system.jsonl"\n')
    assert shown(cli)["ledger"] == {
        "name": "ledger",
        "value": "/srv/system.jsonl",
        "source": str(system),
    }
    user = write(hermetic / ".config" / "airgap" / "config.toml", 'ledger = "/srv/user.jsonl"\n')
    assert shown(cli)["ledger"] == {
        "name": "ledger",
        "value": "/srv/user.jsonl",
        "source": str(user),
    }
    monkeypatch.setenv("AIRGAP_LEDGER", "/srv/env.jsonl")
    assert shown(cli)["ledger"] == {
        "name": "ledger",
        "value": "/srv/env.jsonl",
        "source": "AIRGAP_LEDGER",
    }
    assert shown(cli, "--ledger", "/srv/flag.jsonl")["ledger"] == {
        "name": "ledger",
        "value": "/srv/flag.jsonl",
        "source": "flag --ledger",
    }


def test_text_output_names_the_source(hermetic: Path, cli: Cli) -> None:
    write(hermetic / ".config" / "airgap" / "config.toml", 'privacy = "strict"\n')
    run = cli("config", "show")
    line = next(line for line in run.out.splitlines() if line.startswith("privacy"))
    assert '"strict"' in line and "config.toml" in line


@pytest.mark.parametrize(
    "setting",
    ['trusted_keys = "/tmp/k"', 'ledger = "x.jsonl"', 'key = "op.key"', 'privacy = "normal"'],
)
def test_working_folder_file_may_not_set_trust(setting: str, hermetic: Path, cli: Cli) -> None:
    write(hermetic / "airgap.toml", setting + "\n")
    run = cli("config", "show")
    assert run.code == 3
    assert "airgap.toml may set only rule levels and exclude patterns" in run.err
    assert setting.split()[0] in run.err
    assert "Traceback" not in run.err


def test_working_folder_file_may_not_let_lab_acks_through(hermetic: Path, cli: Cli) -> None:
    write(hermetic / ".config" / "airgap" / "config.toml", '[rules]\nsimulated-ack = "off"\n')
    assert config.load()["rules"] == {"simulated-ack": "off"}  # a training host may
    write(hermetic / "airgap.toml", '[rules]\nsimulated-ack = "warning"\n')
    run = cli("validate", hermetic / "airgap.toml")
    assert run.code == 3
    assert "may not lower rule simulated-ack" in run.err and "Traceback" not in run.err


def test_working_folder_file_sets_rule_levels(hermetic: Path) -> None:
    write(hermetic / "airgap.toml", '[rules]\nsample-interval = "error"\nexclude = []\n')
    with pytest.raises(ConfigError, match=r"unknown rule .exclude."):
        config.load()  # 'exclude' ended up inside [rules]: a typo is refused, not ignored
    write(hermetic / "airgap.toml", 'exclude = ["old/*"]\n[rules]\nsample-interval = "error"\n')
    settings = config.load()
    assert settings["rules"] == {"sample-interval": "error"}
    assert settings["exclude"] == ["old/*"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('privacy = "loud"', "expected one of normal, strict"),
        ('[rules]\nno-such-rule = "error"', "unknown rule"),
        ('[rules]\nsample-interval = "fatal"', "level must be one of"),
        ("surprise = 1", "is not a setting"),
        ("privacy = ", "invalid config"),
    ],
)
def test_invalid_settings_exit_3(text: str, why: str, hermetic: Path, cli: Cli) -> None:
    write(hermetic / ".config" / "airgap" / "config.toml", text + "\n")
    run = cli("validate", hermetic)
    assert run.code == 3
    assert why in run.err


def test_flag_value_is_checked(cli: Cli) -> None:
    run = cli("config", "show", "--privacy", "loud")
    assert run.code == 2 and "'loud' is not one of 'normal', 'strict'" in run.err


def one_error_line(run_err: str) -> str:
    """The one error line (a hint may follow), never a traceback."""
    lines = run_err.splitlines()
    assert lines and lines[0].startswith("error: ") and len(lines) <= 2, run_err
    assert "Traceback" not in run_err and "internal error" not in run_err
    return lines[0]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("rules = 5", "expected a table of rule id = level"),
        ('rules = ["doctype"]', "expected a table of rule id = level"),
        ("[rules]\nsample-interval = 1", "level must be one of"),
        ("[rules.sample-interval]\nlevel = 'off'", "level must be one of"),
        ('exclude = "old/*"', "expected a list of glob patterns"),
        ("exclude = [1]", "expected a list of glob patterns"),
        ("ledger = 5", "expected a path"),
        ('ledger = ""', "expected a path"),
        ("privacy = true", "expected one of normal, strict"),
    ],
)
def test_a_value_of_the_wrong_type_is_exit_3(text: str, why: str, hermetic: Path, cli: Cli) -> None:
    write(hermetic / ".config" / "airgap" / "config.toml", text + "\n")
    run = cli("config", "show")
    assert run.code == 3
    assert why in one_error_line(run.err)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b'ledger = "\xff.jsonl"\n', "not UTF-8 text (byte 10)"),
        (b"\xef\xbb\xbfprivacy = 'strict'\n", "Invalid statement"),  # a BOM is not TOML
        (b"privacy = 'strict'\x00\n", "Expected newline"),
        (b"# " + b"x" * (1 << 20) + b"\n", "over 1048576 bytes"),
    ],
)
def test_a_config_file_that_is_not_toml_text_is_exit_3(
    data: bytes, why: str, hermetic: Path, cli: Cli
) -> None:
    path = hermetic / ".config" / "airgap" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    run = cli("validate", hermetic)
    assert run.code == 3
    line = one_error_line(run.err)
    assert line.startswith(f"error: invalid config: {path} - ") and why in line, line


def test_a_config_that_is_a_folder_or_a_fifo_is_refused_without_blocking(
    hermetic: Path, cli: Cli
) -> None:
    import os
    import subprocess
    import sys

    path = hermetic / ".config" / "airgap" / "config.toml"
    path.mkdir(parents=True)
    run = cli("config", "show")
    assert run.code == 3 and "Is a directory" in one_error_line(run.err)
    path.rmdir()
    os.mkfifo(path)
    done = subprocess.run(
        [sys.executable, "-m", "airgap", "config", "show"],
        timeout=30,
        capture_output=True,
        text=True,
        check=False,
    )  # hangs if it blocks
    assert done.returncode == 3
    assert "not a regular file" in one_error_line(done.stderr)


@pytest.mark.parametrize(
    "value",
    [
        "-1",
        "1e9",
        " 1",
        "1.5",
        "",
        "\u0661\u0662\u0663",
        "\u00b2",
        "253402300800",
        "9" * 5000,
        "0x10",
    ],
)
def test_source_date_epoch_out_of_range_or_not_ascii_digits_is_exit_3(
    value: str, hermetic: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("key", "generate", "--out", hermetic / "op", "--no-passphrase").code == 0
    usage = hermetic / "usage.xml"
    usage.write_bytes((SAMPLES / "usage-n9k-nxos-v1.xml").read_bytes())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    for args in (
        ["sign", usage, "--key", hermetic / "op.key"],
        ["bundle", "create", "--out", hermetic / "b.tar.gz", usage, "--key", hermetic / "op.key"],
        ["cslu", "pack", "--out", hermetic / "upload.tar", usage],
    ):
        run = cli(*args)
        assert run.code == 3, (args, run.err)
        assert "invalid SOURCE_DATE_EPOCH" in one_error_line(run.err)
    assert not (hermetic / "b.tar.gz").exists() and not (hermetic / "upload.tar").exists()


@pytest.mark.parametrize("value", ["0", "253402300799"])
def test_source_date_epoch_at_its_limits_gives_the_same_bytes(
    value: str, hermetic: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("key", "generate", "--out", hermetic / "op", "--no-passphrase").code == 0
    usage = hermetic / "usage.xml"
    usage.write_bytes((SAMPLES / "usage-n9k-nxos-v1.xml").read_bytes())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    made = []
    for folder in ("one", "two"):
        out = hermetic / folder / "usage.tar.gz"
        run = cli("bundle", "create", "--out", out, usage, "--key", hermetic / "op.key")
        assert run.code == 0, run.err
        made.append(out.read_bytes())
        assert f"timestamp:{value}\t" in Path(f"{out}.minisig").read_text()
    assert made[0] == made[1]


def test_an_ascii_output_encoding_degrades_to_escapes(hermetic: Path) -> None:
    import os
    import subprocess
    import sys

    folder = hermetic / "café"
    folder.mkdir()
    (folder / "Zürich→.xml").write_bytes((SAMPLES / "invalid" / "not-xml.xml").read_bytes())
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C"}
    for fmt, code in (("text", 1), ("json", 1), ("junit", 1), ("sarif", 1), ("github", 1)):
        done = subprocess.run(
            [sys.executable, "-m", "airgap", "validate", "--format", fmt, str(folder)],
            env=env,
            capture_output=True,
            check=False,
        )
        assert done.returncode == code, (fmt, done.stderr)
        assert b"Traceback" not in done.stderr
        if fmt == "json":  # JSON is UTF-8 whatever the locale (RFC 8259)
            assert "Zürich→.xml".encode() in done.stdout
        elif fmt == "sarif":
            assert b"Z%C3%BCrich%E2%86%92.xml" in done.stdout
        else:
            assert b"caf\\xe9/Z\\xfcrich\\u2192.xml" in done.stdout, done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "airgap", "inspect", str(hermetic / "nowhere→")],
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 3 and b"nowhere\\u2192" in done.stderr


GUARDS = [
    "doctype",
    "not-xml",
    "xml-schema",
    "json-syntax",
    "json-schema",
    "sudi-mismatch",
    "duplicate-report",
    "simulated-ack",
]


@pytest.mark.parametrize("rule", GUARDS)
@pytest.mark.parametrize("level", ["warning", "off"])
def test_working_folder_file_may_not_lower_a_guarding_rule(
    rule: str, level: str, hermetic: Path, cli: Cli
) -> None:
    write(hermetic / "airgap.toml", f'[rules]\n{rule} = "{level}"\n')
    run = cli("validate", SAMPLES / "invalid" / f"{rule}.xml")
    assert run.code == 3
    assert f"may not lower rule {rule}" in one_error_line(run.err)


def test_working_folder_file_may_raise_any_rule_and_lower_the_others(
    hermetic: Path, cli: Cli
) -> None:
    write(
        hermetic / "airgap.toml",
        '[rules]\ndoctype = "error"\nsample-interval = "error"\n'
        'start-after-end = "off"\nhostname-present = "off"\n',
    )
    assert cli("validate", SAMPLES / "warnings" / "sample-interval.xml").code == 1
    assert cli("validate", SAMPLES / "invalid" / "start-after-end.xml").code == 0
    assert cli("validate", SAMPLES / "warnings" / "hostname-present.xml").code == 0


def test_the_user_config_may_lower_a_guarding_rule(hermetic: Path, cli: Cli) -> None:
    write(hermetic / ".config" / "airgap" / "config.toml", '[rules]\ndoctype = "warning"\n')
    assert cli("validate", SAMPLES / "invalid" / "doctype.xml").code == 0


@pytest.mark.parametrize("strict", ["flag", "environment", "user config"])
def test_hostname_present_guards_under_strict_privacy(
    strict: str, hermetic: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(hermetic / "airgap.toml", '[rules]\nhostname-present = "warning"\n')
    flags = ["--privacy", "strict"] if strict == "flag" else []
    if strict == "environment":
        monkeypatch.setenv("AIRGAP_PRIVACY", "strict")
    elif strict == "user config":
        write(hermetic / ".config" / "airgap" / "config.toml", 'privacy = "strict"\n')
    run = cli("validate", *flags, SAMPLES / "warnings" / "hostname-present.xml")
    assert run.code == 3
    assert "may not lower rule hostname-present" in one_error_line(run.err)


def test_flags_win_over_a_working_folder_file(hermetic: Path, cli: Cli) -> None:
    write(hermetic / "airgap.toml", '[rules]\nsimulated-ack = "error"\n')
    assert cli("validate", SAMPLES / "invalid" / "simulated-ack.xml").code == 1
    assert cli("validate", "--lab", SAMPLES / "invalid" / "simulated-ack.xml").code == 0
