"""Settings precedence (flag > environment > user > system) and the working-folder limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airgap import config
from airgap.errors import ConfigError
from tests.conftest import Cli


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def shown(cli: Cli, *flags: str) -> dict[str, dict[str, object]]:
    run = cli("config", "show", "--format", "json", *flags)
    assert run.code == 0, run.err
    return {s["name"]: s for s in json.loads(run.out)["results"]}


def test_each_source_wins_in_turn(hermetic: Path, cli: Cli,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert shown(cli)["ledger"]["source"] == "default"
    system = write(hermetic / "etc" / "config.toml", 'ledger = "/srv/system.jsonl"\n')
    assert shown(cli)["ledger"] == {"name": "ledger", "value": "/srv/system.jsonl",
                                    "source": str(system)}
    user = write(hermetic / ".config" / "airgap" / "config.toml", 'ledger = "/srv/user.jsonl"\n')
    assert shown(cli)["ledger"] == {"name": "ledger", "value": "/srv/user.jsonl",
                                    "source": str(user)}
    monkeypatch.setenv("AIRGAP_LEDGER", "/srv/env.jsonl")
    assert shown(cli)["ledger"] == {"name": "ledger", "value": "/srv/env.jsonl",
                                    "source": "AIRGAP_LEDGER"}
    assert shown(cli, "--ledger", "/srv/flag.jsonl")["ledger"] == {
        "name": "ledger", "value": "/srv/flag.jsonl", "source": "flag --ledger"}


def test_text_output_names_the_source(hermetic: Path, cli: Cli) -> None:
    write(hermetic / ".config" / "airgap" / "config.toml", 'privacy = "strict"\n')
    run = cli("config", "show")
    line = next(line for line in run.out.splitlines() if line.startswith("privacy"))
    assert '"strict"' in line and "config.toml" in line


@pytest.mark.parametrize("setting", ['trusted_keys = "/tmp/k"', 'ledger = "x.jsonl"',
                                     'key = "op.key"', 'privacy = "normal"'])
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


@pytest.mark.parametrize(("text", "why"), [
    ('privacy = "loud"', "expected one of normal, strict"),
    ('[rules]\nno-such-rule = "error"', "unknown rule"),
    ('[rules]\nsample-interval = "fatal"', "level must be one of"),
    ("surprise = 1", "is not a setting"),
    ("privacy = ", "invalid config"),
])
def test_invalid_settings_exit_3(text: str, why: str, hermetic: Path, cli: Cli) -> None:
    write(hermetic / ".config" / "airgap" / "config.toml", text + "\n")
    run = cli("validate", hermetic)
    assert run.code == 3
    assert why in run.err


def test_flag_value_is_checked(cli: Cli) -> None:
    run = cli("config", "show", "--privacy", "loud")
    assert run.code == 3 and "--privacy - privacy: expected one of" in run.err
