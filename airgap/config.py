"""Settings: flags win over ``AIRGAP_*`` environment variables, which win over the user config,
which wins over the system config (DESIGN.md "Settings").

An ``airgap.toml`` in the working folder may set rule levels and exclude patterns only, and
wins over the user and system configs for those. It may never set trusted keys, the ledger,
keys or the privacy level, nor lower a rule that guards what crosses the gap, so that a file on
a stick or in a repository cannot change what is trusted or let a bad file through: such a
file is refused, not partly applied. Flags (``--lab``, ``--privacy``) win over files.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airgap.errors import ConfigError, why
from airgap.findings import Level

SYSTEM_CONFIG = Path("/etc/airgap/config.toml")
PROJECT_FILE = "airgap.toml"
RULE_LEVELS = ("error", "warning", "off")
PRIVACY = ("normal", "strict")
MAX_CONFIG_BYTES = 1 << 20  # a settings file is a few lines; anything larger is not one
LAST_EPOCH = 253402300799  # 9999-12-31T23:59:59Z, the last second a date can show


def _path(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a path")
    return str(Path(value).expanduser())


def _privacy(value: Any) -> str:
    if value not in PRIVACY:
        raise ValueError(f"expected one of {', '.join(PRIVACY)}")
    return str(value)


def _rules(value: Any) -> dict[str, str]:
    from airgap.validate.rules import RULES

    if not isinstance(value, dict):
        raise ValueError("expected a table of rule id = level")
    for rule_id, level in value.items():
        if rule_id not in RULES:
            raise ValueError(f"unknown rule {rule_id!r} (see 'airgap rules')")
        if level not in RULE_LEVELS:
            raise ValueError(f"rule {rule_id}: level must be one of {', '.join(RULE_LEVELS)}")
    return dict(value)


def _policy(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or set(value) - {"approvals"}:
        raise ValueError("expected a [policy] table with approvals = N")
    approvals = value.get("approvals", 0)
    if not isinstance(approvals, int) or isinstance(approvals, bool) or not 0 <= approvals <= 9:
        raise ValueError("approvals must be a whole number from 0 to 9")
    return {"approvals": approvals}


def _patterns(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ValueError("expected a list of glob patterns")
    return list(value)


# Error-level rules a file in a repository or on a stick must not lower: they keep malformed,
# forged, replayed, wrong-device and lab files from crossing (every ``json-*`` rule too).
GUARD_RULES = frozenset(
    {"doctype", "not-xml", "xml-schema", "sudi-mismatch", "duplicate-report", "simulated-ack"}
)
STRICT_GUARD_RULES = frozenset({"hostname-present"})  # a guard under ``privacy = strict``


@dataclass(frozen=True)
class Spec:
    """One setting: how to check a value, its default, and where a project file may set it."""

    check: Callable[[Any], Any]
    default: Any
    env: str | None
    project: bool  # may airgap.toml in the working folder set it?
    help: str


SPECS: dict[str, Spec] = {
    "ledger": Spec(_path, None, "AIRGAP_LEDGER", False, "audit ledger file (JSON Lines)"),
    "trusted_keys": Spec(
        _path, None, "AIRGAP_TRUSTED_KEYS", False, "folder of trusted public keys and their roster"
    ),
    "key": Spec(_path, None, "AIRGAP_KEY", False, "the operator's secret key"),
    "known_hosts": Spec(
        _path,
        None,
        "AIRGAP_KNOWN_HOSTS",
        False,
        "the known_hosts file that pins each device's SSH host key",
    ),
    "privacy": Spec(
        _privacy,
        "normal",
        "AIRGAP_PRIVACY",
        False,
        "strict makes a hostname in an outbound file an error",
    ),
    "rules": Spec(_rules, {}, None, True, "rule levels: rule id = error | warning | off"),
    "policy": Spec(
        _policy,
        {"approvals": 0},
        None,
        False,
        "[policy] approvals = N: approvals a bundle needs (no later file lowers it)",
    ),
    "exclude": Spec(_patterns, [], None, True, "glob patterns skipped when walking folders"),
}


@dataclass(frozen=True)
class Setting:
    """A setting's value in force and where it came from."""

    name: str
    value: Any
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``config show``."""
        return {"name": self.name, "value": self.value, "source": self.source}


@dataclass(frozen=True)
class Settings:
    """Every setting in force."""

    values: dict[str, Setting]

    def __getitem__(self, name: str) -> Any:
        return self.values[name].value


def user_config(env: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME/airgap/config.toml``, by default ``~/.config/airgap/config.toml``."""
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "airgap" / "config.toml"


def _read_toml(path: Path) -> dict[str, Any] | None:
    """A settings file's tables, None when there is none; a FIFO or device is refused
    without blocking on it, and at most ``MAX_CONFIG_BYTES`` are read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError("cannot read config", path, why(exc)) from None
    with os.fdopen(fd, "rb") as handle:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ConfigError("cannot read config", path, "not a regular file")
            data = handle.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigError("cannot read config", path, why(exc)) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError("invalid config", path, f"over {MAX_CONFIG_BYTES} bytes")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("invalid config", path, why(exc)) from None


def _checked(name: str, value: Any, where: str) -> Any:
    spec = SPECS.get(name)
    if spec is None:
        raise ConfigError(
            "unknown setting", where, f"{name!r} is not a setting (known: {', '.join(SPECS)})"
        )
    try:
        return spec.check(value)
    except ValueError as exc:
        raise ConfigError("invalid setting", where, f"{name}: {exc}") from None


def load(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """The settings in force: defaults, then system, user, project, environment and flags."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    values = {name: Setting(name, spec.default, "default") for name, spec in SPECS.items()}

    system = Path(env.get("AIRGAP_SYSTEM_CONFIG", str(SYSTEM_CONFIG)))
    for path in (system, user_config(env)):
        for name, value in (_read_toml(path) or {}).items():
            checked = _checked(name, value, str(path))
            if (
                name == "policy"
                and values["policy"].source != "default"
                and values["policy"].value["approvals"] > checked["approvals"]
            ):
                continue  # a user config never lowers what the system config requires
            values[name] = Setting(name, checked, str(path))

    project = cwd / PROJECT_FILE
    project_values = _read_toml(project) or {}
    refused = [name for name in project_values if name in SPECS and not SPECS[name].project]
    if refused:
        raise ConfigError(
            "refused",
            project,
            f"a working-folder airgap.toml may set only rule levels and exclude patterns, "
            f"not {', '.join(refused)}",
            "set trusted keys, keys, the ledger and privacy in your user config instead "
            f"({user_config(env)})",
        )
    for name, value in project_values.items():
        values[name] = Setting(name, _checked(name, value, str(project)), str(project))

    for name, spec in SPECS.items():
        if spec.env and env.get(spec.env):
            values[name] = Setting(name, _checked(name, env[spec.env], spec.env), spec.env)
    for name, value in (flags or {}).items():
        if value is not None:
            flag = "--" + name.replace("_", "-")
            values[name] = Setting(name, _checked(name, value, flag), f"flag {flag}")
    if values["rules"].source == str(project):
        _refuse_lowered_guards(project, values["rules"].value, values["privacy"].value)
    return Settings(values)


def key_setting(flag: Path | None) -> Path | None:
    """The secret key a command signs with: ``--key``, else the ``key`` setting
    (``AIRGAP_KEY``, the user or system config; never a working folder's airgap.toml), else
    None (where a command may sign with this host's key)."""
    setting = load({"key": None if flag is None else str(flag)})["key"]
    return Path(setting) if setting else None


def key_file(flag: Path | None) -> Path:
    """As :func:`key_setting`, for a command that needs an operator's key: without one, a
    :class:`ConfigError` (exit 3) saying how to give it."""
    path = key_setting(flag)
    if path is None:
        raise ConfigError(
            "no secret key to sign with",
            None,
            "",
            "give --key FILE, set AIRGAP_KEY or 'key' in your user config",
        )
    return path


def _refuse_lowered_guards(project: Path, rules: Mapping[str, str], privacy: str) -> None:
    """A working-folder file may raise any rule, and lower only those that guard nothing."""
    guards = GUARD_RULES | (STRICT_GUARD_RULES if privacy == "strict" else frozenset())
    lowered = sorted(
        rule
        for rule, level in rules.items()
        if level != Level.ERROR and (rule in guards or rule.startswith("json-"))
    )
    if lowered:
        raise ConfigError(
            "refused",
            project,
            f"a working-folder airgap.toml may not lower rule {', '.join(lowered)}",
            "these rules keep bad files from crossing; accept simulated ACKs with "
            "'validate --lab', lower a rule in the user config of a training host",
        )


def source_date_epoch(env: Mapping[str, str]) -> int | None:
    """``SOURCE_DATE_EPOCH`` (reproducible output) when set: ASCII digits for a second from
    1970 to 9999; else None."""
    value = env.get("SOURCE_DATE_EPOCH")
    if value is None:
        return None
    digits = value.isascii() and value.isdigit() and len(value) <= len(str(LAST_EPOCH))
    if not digits or int(value) > LAST_EPOCH:
        raise ConfigError(
            "invalid SOURCE_DATE_EPOCH",
            value,
            f"expected seconds since 1970 in ASCII digits, at most {LAST_EPOCH}",
        )
    return int(value)
