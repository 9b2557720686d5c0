"""Settings: flags win over ``AIRGAP_*`` environment variables, which win over the user config,
which wins over the system config (DESIGN.md "Settings").

An ``airgap.toml`` in the working folder may set rule levels and exclude patterns only, and
wins over the user and system configs for those. It may never set trusted keys, the ledger,
keys or the privacy level, so that a file on a stick or in a repository cannot change what is
trusted: such a file is refused, not partly applied.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airgap.errors import ConfigError

SYSTEM_CONFIG = Path("/etc/airgap/config.toml")
PROJECT_FILE = "airgap.toml"
RULE_LEVELS = ("error", "warning", "off")
PRIVACY = ("normal", "strict")


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


def _patterns(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ValueError("expected a list of glob patterns")
    return list(value)


# Rules a file in a repository or on a stick must not turn down: they keep lab output out.
HOST_ONLY_RULES = frozenset({"simulated-ack"})


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
    "trusted_keys": Spec(_path, None, "AIRGAP_TRUSTED_KEYS", False,
                         "folder of trusted public keys and their roster"),
    "key": Spec(_path, None, "AIRGAP_KEY", False, "the operator's secret key"),
    "privacy": Spec(_privacy, "normal", "AIRGAP_PRIVACY", False,
                    "strict makes a hostname in an outbound file an error"),
    "rules": Spec(_rules, {}, None, True, "rule levels: rule id = error | warning | off"),
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
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError("cannot read config", path, exc.strerror or str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("invalid config", path, str(exc)) from None


def _checked(name: str, value: Any, where: str) -> Any:
    spec = SPECS.get(name)
    if spec is None:
        raise ConfigError("unknown setting", where, f"{name!r} is not a setting "
                          f"(known: {', '.join(SPECS)})")
    try:
        return spec.check(value)
    except ValueError as exc:
        raise ConfigError("invalid setting", where, f"{name}: {exc}") from None


def load(flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
         cwd: Path | None = None) -> Settings:
    """The settings in force: defaults, then system, user, project, environment and flags."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    values = {name: Setting(name, spec.default, "default") for name, spec in SPECS.items()}

    system = Path(env.get("AIRGAP_SYSTEM_CONFIG", str(SYSTEM_CONFIG)))
    for path in (system, user_config(env)):
        for name, value in (_read_toml(path) or {}).items():
            values[name] = Setting(name, _checked(name, value, str(path)), str(path))

    project = cwd / PROJECT_FILE
    project_values = _read_toml(project) or {}
    refused = [name for name in project_values if name in SPECS and not SPECS[name].project]
    if refused:
        raise ConfigError(
            "refused", project,
            f"a working-folder airgap.toml may set only rule levels and exclude patterns, "
            f"not {', '.join(refused)}",
            "set trusted keys, keys, the ledger and privacy in your user config instead "
            f"({user_config(env)})")
    host_only = sorted(set(project_values.get("rules") or {}) & HOST_ONLY_RULES)
    if host_only:
        raise ConfigError("refused", project, f"a working-folder airgap.toml may not set rule "
                          f"{', '.join(host_only)}",
                          "accept simulated ACKs with 'validate --lab', or in the user config of "
                          "a training host")
    for name, value in project_values.items():
        values[name] = Setting(name, _checked(name, value, str(project)), str(project))

    for name, spec in SPECS.items():
        if spec.env and env.get(spec.env):
            values[name] = Setting(name, _checked(name, env[spec.env], spec.env), spec.env)
    for name, value in (flags or {}).items():
        if value is not None:
            flag = "--" + name.replace("_", "-")
            values[name] = Setting(name, _checked(name, value, flag), f"flag {flag}")
    return Settings(values)
