"""The one finding model of the package: what is wrong, or worth a look, and where.

Validation rules, reconciliation, ledger verification, bundle verification and the inputs that
could not be read all report a :class:`Finding`: a code (the rule id or the kind), a level, a
structured :class:`Location`, a message, a hint and its evidence. Each command's JSON and text
shapes are projections of it made where the command reports; the ``outer!inner!member`` form of
a place inside archives is built here only (:func:`shown`), never split again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from airgap.errors import ExitCode

SEP = "!"  # outer!inner!member, for display only
PROBLEM = "problem"  # the code of an input that could not be examined


class Level(StrEnum):
    """How serious a finding is: errors fail a check (exit 1 or worse); warnings and notes
    do not."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


class Basis(StrEnum):
    """What a piece of evidence rests on: something a file shows (seen), or a reading of keys
    that are not public (inferred) (DESIGN.md "State and reconciliation")."""

    SEEN = "seen"
    INFERRED = "inferred"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One piece of evidence for a finding, in words: ``seen: <text>``."""

    basis: Basis
    text: str

    def __str__(self) -> str:
        return f"{self.basis}: {self.text}"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding is: a file (on disk, or the outermost archive), the path of names
    inside archives from the outer to the inner one, a line, a device, a ledger entry."""

    file: str | None = None
    member: tuple[str, ...] = ()
    line: int | None = None
    device: str | None = None
    seq: int | None = None

    @property
    def path(self) -> str | None:
        """The file, and the member inside it, as the user reads them: ``a.tar!b.xml``."""
        if self.file is None:
            return None
        return joined((self.file, *self.member)) if self.member else self.file


def joined(parts: tuple[str, ...]) -> str:
    """``outer!inner!name``: a place inside archives as the user reads it; the one place the
    ``!`` form is built from parts (it is never split again)."""
    return SEP.join(parts)


def shown(where: Location) -> str:
    """A location for text: ``a.tar!b.xml:12``; the device or ledger entry when there is no
    file."""
    path = where.path
    if path is None:
        if where.device is not None:
            return where.device
        return f"entry {where.seq}" if where.seq is not None else ""
    return f"{path}:{where.line}" if where.line else path


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong, or worth a look. ``exit_code`` is the code the finding calls for
    when it is not the command's own verdict (an unreadable input, a trust failure);
    ``report_ids`` names the reports of a reconciliation finding."""

    code: str
    level: Level
    message: str
    where: Location = Location()
    hint: str = ""
    evidence: tuple[Evidence, ...] = ()
    exit_code: ExitCode | None = None
    report_ids: tuple[int, ...] = ()

    @property
    def path(self) -> str:
        """The file (and archive member) the finding is about, as shown; empty when it is
        about none (a device, a ledger entry)."""
        return self.where.path or ""

    @property
    def line(self) -> int | None:
        """The line the finding is on, when known."""
        return self.where.line

    def __str__(self) -> str:
        """``a.tar!b.xml:12: error: message [rule]``: how ``validate`` prints a finding."""
        return f"{shown(self.where)}: {self.level}: {self.message} [{self.code}]"


def problem(
    path: str,
    why: str,
    exit_code: ExitCode = ExitCode.CANNOT_RUN,
    hint: str = "",
    member: tuple[str, ...] = (),
) -> Finding:
    """A path that could not be examined: missing or unreadable (exit 3 by default), a corrupt
    archive (exit 1), an unsafe archive member (exit 4)."""
    return Finding(PROBLEM, Level.ERROR, why, Location(path, member), hint, exit_code=exit_code)
