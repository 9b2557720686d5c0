"""``validate`` as a workflow: walk the inputs, check each licensing file on every core, and
record the run in the ledger when asked. What the command shows as it goes (each report, each
problem, each skipped file) reaches it through :class:`Seen`; the result holds them all."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airgap import config, inputs
from airgap.errors import ConfigError, ExitCode, InputError, worst
from airgap.findings import Finding
from airgap.flows import ledger as steps
from airgap.ledger.store import Result, Step
from airgap.names import escaped, plural

if TYPE_CHECKING:
    from airgap.validate.engine import FileReport, Validator


@dataclass(frozen=True)
class ValidateOptions:
    """What ``validate`` was asked for."""

    paths: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    privacy: str | None = None
    lab: bool = False  # simulated ACKs from the lab pass (rule simulated-ack off)
    jobs: int = 0
    skip_unknown: bool = False  # named files taken like files met in a folder (hooks)
    record: bool = False
    ledger: Path | None = None


@dataclass(frozen=True)
class Seen:
    """What the workflow hands out as it goes, in input order."""

    report: Callable[[FileReport], None] = steps.quiet
    problem: Callable[[Finding], None] = steps.quiet
    skipped: Callable[[inputs.Skipped], None] = steps.quiet
    announce: Callable[[dict[str, Any]], None] = steps.quiet  # a ledger entry recorded
    counting: Callable[[Iterable[Any]], Iterable[Any]] = iter  # e.g. a running count


@dataclass
class Validated:
    """Every file checked, skipped, counted as a capture, or that could not be read."""

    reports: list[FileReport] = field(default_factory=list)
    skipped: list[inputs.Skipped] = field(default_factory=list)
    captures: list[inputs.Item] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.reports)

    @property
    def warnings(self) -> int:
        return sum(r.warnings for r in self.reports)

    @property
    def exit_code(self) -> ExitCode:
        findings = ExitCode.FINDINGS if self.errors else ExitCode.OK
        return worst(findings, *(p.exit_code or ExitCode.CANNOT_RUN for p in self.problems))


def validate_inputs(options: ValidateOptions, seen: Seen = Seen()) -> Validated:
    """Check every licensing file under the paths (hardened parse, XSD, JSON Schema, rules);
    a folder that holds nothing to check is exit 3; record the run when asked."""
    from airgap.validate.engine import Checked
    from airgap.validate.parallel import check_entries

    settings = config.load({"privacy": options.privacy})
    validator = validator_for(settings, options.lab)
    store = steps.configured(options.ledger) if options.record else None
    if options.record and store is None:  # before the work, not after it
        raise ConfigError(
            "no ledger configured",
            None,
            "--record needs --ledger FILE, AIRGAP_LEDGER or 'ledger' in your user config",
        )
    found = Validated()
    exclude = [*settings["exclude"], *options.exclude]
    entries = inputs.walk(options.paths, exclude, strict=not options.skip_unknown)
    for result in seen.counting(check_entries(entries, validator.levels, options.jobs)):
        if isinstance(result, Checked):
            report = validator.finish(result)
            found.reports.append(report)
            seen.report(report)
        elif isinstance(result, Finding):
            found.problems.append(result)
            seen.problem(result)
        elif isinstance(result, inputs.Skipped):
            found.skipped.append(result)
            seen.skipped(result)
        else:  # a capture: nothing to validate in it; counted
            found.captures.append(result)
    if not (found.reports or found.problems or found.captures):
        _refuse_nothing_checked(options.paths, len(found.skipped))
    if store is not None:
        _record(store, found, seen.announce)
    return found


def validator_for(settings: config.Settings, lab: bool = False) -> Validator:
    """The validator the settings in force call for (``lab``: simulated ACKs from 'airgap lab
    cssm' pass, rule simulated-ack off)."""
    from airgap.validate.engine import Validator

    levels = {**settings["rules"], **({"simulated-ack": "off"} if lab else {})}
    return Validator(privacy=settings["privacy"], levels=levels)


def _record(store: Any, found: Validated, announce: Callable[[dict[str, Any]], None]) -> None:
    steps.Recorder(store, announce)(
        Step.VALIDATE,
        materials={r.path: f"sha256:{r.sha256}" for r in found.reports if r.sha256},
        note=f"{plural(len(found.reports), 'file')}: {plural(found.errors, 'error')}, "
        f"{plural(found.warnings, 'warning')}",
        result=Result.OK if found.exit_code == ExitCode.OK else Result.FAILED,
    )


def _refuse_nothing_checked(paths: tuple[str, ...], skipped: int) -> None:
    """A folder named to be checked that holds nothing to check is exit 3, not a green
    "0 files validated": the input names nothing. (Named files that were all skipped or
    excluded, as a pre-commit hook may give, stay exit 0.)"""
    folder = next((path for path in paths if Path(path).is_dir()), None)
    if folder is not None:
        raise InputError(
            "nothing to check",
            escaped(folder),
            "no licensing file or capture in it"
            + (f" ({skipped} skipped: see the notes)" if skipped else ""),
            "name the folder that holds the usage files, ACKs or captures",
        )
