"""The exception tree and the exit codes of DESIGN.md.

Every exception airgap raises derives from :class:`AirgapError` and carries the exit code the
CLI returns for it and a hint for the user. Third-party exceptions are wrapped where the library
is called, with the path and what went wrong. Findings about a file's content are not exceptions:
they are data (see ``airgap.validate``).
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Process exit codes; a public interface (DESIGN.md "Exit codes")."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    CANNOT_RUN = 3
    TRUST = 4
    INTERNAL = 5
    INTERRUPTED = 130


def worst(*codes: int) -> ExitCode:
    """Combine exit codes: 4 beats 3 beats 1 beats 0 (DESIGN.md)."""
    order = (ExitCode.TRUST, ExitCode.CANNOT_RUN, ExitCode.FINDINGS)
    for code in order:
        if code in codes:
            return code
    return ExitCode.OK


def why(exc: BaseException) -> str:
    """A library exception's cause in one plain line, without the path the caller names anyway:
    ``No such file or directory``, not ``[Errno 2] No such file or directory: 'x'``."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start})"
    return " ".join(str(exc).split()) or type(exc).__name__


class AirgapError(Exception):
    """Base of every error airgap raises on purpose.

    ``what`` says what failed, ``path`` names the file or setting concerned, ``why`` gives the
    cause and ``hint`` what the user can do about it.
    """

    exit_code: ExitCode = ExitCode.CANNOT_RUN
    default_hint: str = ""

    def __init__(
        self, what: str, path: str | Path | None = None, why: str = "", hint: str = ""
    ) -> None:
        self.what = what
        self.path = str(path) if path is not None else None
        self.why = why
        self.hint = hint or self.default_hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """One line: ``<what>: <path> - <why>``, leaving out the parts that are empty."""
        text = self.what
        if self.path:
            text += f": {self.path}"
        if self.why:
            text += f" - {self.why}"
        return text


class InputError(AirgapError):
    """A named path is missing, unreadable, or of no kind airgap knows (exit 3)."""

    exit_code = ExitCode.CANNOT_RUN


class UnknownKindError(InputError):
    """A file named on the command line is of no kind airgap knows (exit 3)."""

    default_hint = "run 'airgap inspect --help' for the kinds airgap reads"


class ConfigError(AirgapError):
    """A setting is invalid, or a file tried to set what it may not (exit 3)."""

    exit_code = ExitCode.CANNOT_RUN
    default_hint = "run 'airgap config show' to see the settings in force and their sources"


class FindingsError(AirgapError):
    """The operation cannot go on because its input is invalid (exit 1)."""

    exit_code = ExitCode.FINDINGS


class TrustError(AirgapError):
    """A trust failure: bad or missing signature, unsafe archive member, tampering (exit 4)."""

    exit_code = ExitCode.TRUST
