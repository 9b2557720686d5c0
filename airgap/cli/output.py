"""Output: the ``--format`` option, the versioned JSON envelope, and terminal consoles.

Results go to stdout, everything else (progress, notes, errors) to stderr. Colour only on a
terminal (or with ``FORCE_COLOR``) and never when ``NO_COLOR`` is set (rich honours both); lines
to a pipe or a file are plain text. Every line passes through :func:`airgap.names.escaped`
here, so no file name can rewrite the screen; JSON escapes control characters itself, and a
name that is not UTF-8 is written escaped there too rather than crash the output.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

import typer

from airgap import __version__
from airgap.errors import ExitCode
from airgap.names import escaped
from airgap.names import plural as plural  # the commands' one way to count words

if TYPE_CHECKING:
    from rich.console import Console

    from airgap.findings import Finding

JSON_VERSION = 1
T = TypeVar("T")


class Format(StrEnum):
    """Output formats every command offers."""

    TEXT = "text"
    JSON = "json"


FormatOption = Annotated[
    Format, typer.Option("--format", help="Output format: text for people, json for scripts.")
]


class ReportFormat(StrEnum):
    """What a command whose result is findings can write: the common formats and three for
    CI (``airgap.cli.reporters``)."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    GITHUB = "github"

    @property
    def common(self) -> Format:
        """The common format the run answers in (errors, the JSON envelope): a CI report
        is a result on stdout, its errors are text on stderr."""
        return Format.JSON if self is ReportFormat.JSON else Format.TEXT

    @property
    def ci(self) -> bool:
        """True for sarif, junit and github, written by ``airgap.cli.reporters``."""
        return self not in (ReportFormat.TEXT, ReportFormat.JSON)


REPORT_FORMATS = "text, json, sarif (2.1.0), junit (XML) or github (annotations)"
ReportFormatOption = Annotated[
    ReportFormat, typer.Option("--format", help=f"Output format: {REPORT_FORMATS}.")
]
TzOption = Annotated[
    list[str] | None,
    typer.Option(
        "--tz",
        metavar="LABEL=OFFSET",
        help="What a time-zone label the device prints means, e.g. "
        "PDT=-07:00 or IST=+05:30 (repeatable). Labels are set by the operator, so only UTC is "
        "converted without it; other times stay local time with no offset.",
        show_default=False,
    ),
]


@dataclass
class Run:
    """This invocation: its command, its output format and how much it says. One per run,
    made by the error boundary, so it answers in the command's format."""

    command: str = ""
    format: Format = Format.TEXT
    debug: bool = False
    quiet: bool = False  # errors and results only
    verbose: bool = False  # every file checked, too
    progress: bool = True  # bars and counts on a terminal


# The invocation's one context object, set by the error boundary for the length of a run
# (a context variable, so nothing outlives the run: in-process tests run many in a row).
_RUN: ContextVar[Run] = ContextVar("airgap_run")


@contextlib.contextmanager
def running(run: Run) -> Iterator[Run]:
    """``run`` is this invocation's context while the block runs."""
    token = _RUN.set(run)
    try:
        yield run
    finally:
        _RUN.reset(token)


def this_run() -> Run:
    """The running invocation (a fresh default outside a command)."""
    return _RUN.get(None) or Run()


def begin(command: str, fmt: Format) -> None:
    """Record the running command and its output format."""
    run = this_run()
    run.command, run.format = command, fmt


def error_object(
    exit_code: int, message: str, path: str | None = None, why: str = "", hint: str = ""
) -> dict[str, Any]:
    """The one shape of an error in JSON, for a failure that stops a command (the envelope's
    ``error``) and for each input that could not be read (``problems``)."""
    return {"exit_code": int(exit_code), "message": message, "path": path, "why": why, "hint": hint}


def problem_object(problem: Finding) -> dict[str, Any]:
    """An input that could not be read, in the error shape."""
    code = ExitCode.CANNOT_RUN if problem.exit_code is None else problem.exit_code
    return error_object(code, _problem_text(problem), problem.path, problem.message, problem.hint)


def _problem_text(problem: Finding) -> str:
    """``<what>: <path>``: an input that could not be read, in words (JSON and text alike)."""
    from airgap.findings import shown

    return f"{problem.message}: {shown(problem.where)}"


def tell_problems(problems: Iterable[Finding]) -> None:
    """Each input that could not be read, as one error line (and its hint) on stderr: the one
    text form of a problem in every command."""
    for problem in problems:
        err().print(f"error: {_problem_text(problem)}", markup=False, style="bold red")
        if problem.hint:
            err().print(f"hint: {problem.hint}", markup=False)


def envelope(
    ok: bool,
    results: list[Any],
    *,
    problems: Iterable[Finding] = (),
    error: dict[str, Any] | None = None,
    command: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The JSON envelope every command's ``--format json`` output shares. Inputs that could
    not be read are ``problems``; the worst of them that stops a verdict (exit 2 or over) is
    also the ``error``, so a script reads one place whatever the command."""
    listed = [problem_object(p) for p in problems]
    if error is None and not ok:
        stopping = [p for p in listed if p["exit_code"] >= ExitCode.USAGE]
        error = max(stopping, key=lambda p: _SEVERITY.get(p["exit_code"], 0), default=None)
    return {
        "airgap": __version__,
        "json_version": JSON_VERSION,
        "command": this_run().command if command is None else command,
        "ok": ok,
        **({"error": error} if error is not None else {}),
        **({"problems": listed} if listed else {}),
        **extra,
        "results": results,
    }


# Which error an envelope names when several inputs failed: as exit codes combine (worst()).
_SEVERITY = {ExitCode.TRUST: 3, ExitCode.CANNOT_RUN: 2, ExitCode.USAGE: 1}


def emit_json(ok: bool, results: list[Any], **extra: Any) -> None:
    """Write the envelope to stdout, in UTF-8."""
    data = json_bytes(envelope(ok, results, **extra), newline=True)
    sys.stdout.flush()
    sys.stdout.buffer.write(data)  # UTF-8 (RFC 8259) whatever the locale's encoding
    sys.stdout.buffer.flush()


def emit_json_results(ok: bool, results: Iterable[Any], **extra: Any) -> None:
    """``emit_json`` of results made one at a time, each written as it comes: the same
    bytes, with no list of them held."""
    head = json_bytes(envelope(ok, [], **extra))
    assert head.endswith(_NO_RESULTS), head[-40:]
    sys.stdout.flush()
    write = sys.stdout.buffer.write
    write(head[: -len(_NO_RESULTS)] + b"[")
    written = False
    for result in results:
        write((b",\n    " if written else b"\n    ") + rendered_result(result))
        written = True
    write((b"\n  ]" if written else b"]") + b"\n}\n")
    sys.stdout.buffer.flush()


_NO_RESULTS = b"[]\n}"  # how the envelope with no results ends


def rendered_result(result: Any) -> bytes:
    """One result as it stands in the envelope's results list."""
    return json_bytes(result).replace(b"\n", b"\n    ")


def json_bytes(value: Any, *, newline: bool = False) -> bytes:
    """``value`` as indented JSON in UTF-8; a name that is not UTF-8, or an integer over 64
    bits (a capture's), goes through the standard encoder with its strings escaped."""
    import orjson  # the standard encoder is pure Python when it indents: ~10x slower

    try:
        return orjson.dumps(
            value, option=orjson.OPT_INDENT_2 | (orjson.OPT_APPEND_NEWLINE if newline else 0)
        )
    except orjson.JSONEncodeError:  # rare, so only then
        return _slow_json(_escaped_strings(value)) + (b"\n" if newline else b"")


def _slow_json(document: Any) -> bytes:
    """The standard encoder, which takes integers of any size."""
    import dataclasses
    import datetime
    import json

    def plain(value: Any) -> Any:
        if isinstance(value, datetime.date | datetime.time):
            return value.isoformat()
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.asdict(value)
        raise TypeError(f"{type(value).__name__} is not JSON")

    return json.dumps(document, indent=2, ensure_ascii=False, default=plain).encode()


def _escaped_strings(value: Any) -> Any:
    """``value`` with every string in it, keys too, escaped as names are."""
    if isinstance(value, str):
        return escaped(value)
    if isinstance(value, dict):
        return {_escaped_strings(k): _escaped_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped_strings(v) for v in value]
    return value


def shown(text: str) -> str:
    """A line as it may reach a terminal or a log: every control character in it escaped
    (names are part of lines), except tabs and the newlines it starts with (a blank line
    before), which cannot move the cursor anywhere else."""
    body = text.lstrip("\n")
    return text[: len(text) - len(body)] + "\t".join(map(escaped, body.split("\t")))


class Lines(Protocol):
    """Where a command writes its lines; each is printed as it is (``markup`` must be off)."""

    def print(self, text: str, *, markup: bool = ..., style: str | None = ...) -> None:
        """Write one line, in ``style`` where there is colour."""


class _Plain:
    """Lines for a pipe or a file: no colour to add there, so rich is not even loaded (a
    command whose output a script reads starts about 15 ms sooner)."""

    def __init__(self, stderr: bool) -> None:
        self.stderr = stderr

    def print(self, text: str, *, markup: bool = False, style: str | None = None) -> None:
        (sys.stderr if self.stderr else sys.stdout).write(f"{shown(text)}\n")


class _Coloured:
    """Lines for a terminal, through rich, escaped like plain ones."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def print(self, text: str, *, markup: bool = False, style: str | None = None) -> None:
        self.console.print(shown(text), markup=markup, style=style)


@functools.cache
def _console(stderr: bool) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)


def _lines(stderr: bool) -> Lines:
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty() or os.environ.get("FORCE_COLOR"):
        return _Coloured(_console(stderr))
    return _Plain(stderr)


def out() -> Lines:
    """Where results go (stdout)."""
    return _lines(stderr=False)


def err() -> Lines:
    """Where notes, progress and errors go (stderr)."""
    return _lines(stderr=True)


def note(message: str) -> None:
    """A note on stderr, e.g. a file skipped while walking a folder (none under ``-q``)."""
    if this_run().quiet:
        return
    err().print(f"note: {message}", markup=False, style="dim")


def _shows_progress() -> bool:
    """Progress only on a terminal, and not under ``--no-progress`` or ``-q``."""
    run = this_run()
    return sys.stderr.isatty() and run.progress and not run.quiet


PROGRESS_BYTES = 64 << 20  # smaller work finishes before a bar would help


@contextlib.contextmanager
def progress(total: int, description: str) -> Iterator[Callable[[int], None]]:
    """A byte-count progress bar on stderr for long work on a terminal; else a no-op."""
    if total < PROGRESS_BYTES or not _shows_progress():
        yield lambda _: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        description,
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done: bar.advance(task, done)


@contextlib.contextmanager
def tally(total: int, description: str, unit: str) -> Iterator[Callable[[], None]]:
    """A count of ``total`` things done ("collect: 12/40 devices") on stderr, on a terminal
    only; the ``tick`` it yields counts one more."""
    if total < 2 or not _shows_progress():
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = (f"{description}:", BarColumn(), MofNCompleteColumn(), unit, TimeElapsedColumn())
    with Progress(*columns, console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task, 1)


COUNT_AFTER = 1.0  # seconds: quicker work ends before a running count would help


def counted(items: Iterable[T], description: str, unit: str) -> Iterator[T]:
    """``items`` unchanged, with a running count on stderr ("validating: 1,234 files") once
    the work has taken over a second, on a terminal only."""
    if not _shows_progress():
        yield from items
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    started, done = time.monotonic(), 0
    bar: Progress | None = None
    try:
        for item in items:
            yield item
            done += 1
            if bar is None and time.monotonic() - started > COUNT_AFTER:
                bar = Progress(
                    SpinnerColumn(),
                    TextColumn(f"{description}: {{task.completed:,}} {unit}"),
                    TimeElapsedColumn(),
                    console=_console(stderr=True),
                    transient=True,
                )
                bar.start()
                task = bar.add_task(description, total=None, completed=done)
            if bar is not None:
                bar.update(task, completed=done)
    finally:
        if bar is not None:
            bar.stop()
