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
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

import typer

from airgap import __version__
from airgap.names import escaped

if TYPE_CHECKING:
    from rich.console import Console

JSON_VERSION = 1
T = TypeVar("T")


class Format(StrEnum):
    """Output formats every command offers."""

    TEXT = "text"
    JSON = "json"


FormatOption = Annotated[
    Format, typer.Option("--format", help="Output format: text for people, json for scripts.")
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


class _Current:
    """What the running command is, so the error boundary can answer in its format."""

    command: str = ""
    format: Format = Format.TEXT


current = _Current()


def begin(command: str, fmt: Format) -> None:
    """Record the running command and its output format."""
    current.command, current.format = command, fmt


def envelope(ok: bool, results: list[Any], **extra: Any) -> dict[str, Any]:
    """The JSON envelope every command's ``--format json`` output shares."""
    return {
        "airgap": __version__,
        "json_version": JSON_VERSION,
        "command": current.command,
        "ok": ok,
        **extra,
        "results": results,
    }


def emit_json(ok: bool, results: list[Any], **extra: Any) -> None:
    """Write the envelope to stdout, in UTF-8."""
    data = json_bytes(envelope(ok, results, **extra), newline=True)
    sys.stdout.flush()
    sys.stdout.buffer.write(data)  # UTF-8 (RFC 8259) whatever the locale's encoding
    sys.stdout.buffer.flush()


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
    """A note on stderr, e.g. a file skipped while walking a folder."""
    err().print(f"note: {message}", markup=False, style="dim")


def plural(count: int, word: str, words: str = "") -> str:
    """``1 error``, ``2 errors``; ``words`` for a plural that is not ``word + "s"``."""
    return f"{count} {word if count == 1 else words or word + 's'}"


PROGRESS_BYTES = 64 << 20  # smaller work finishes before a bar would help


@contextlib.contextmanager
def progress(total: int, description: str) -> Iterator[Callable[[int], None]]:
    """A byte-count progress bar on stderr for long work on a terminal; else a no-op."""
    if total < PROGRESS_BYTES or not sys.stderr.isatty():
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


COUNT_AFTER = 1.0  # seconds: quicker work ends before a running count would help


def counted(items: Iterable[T], description: str, unit: str) -> Iterator[T]:
    """``items`` unchanged, with a running count on stderr ("validating: 1,234 files") once
    the work has taken over a second, on a terminal only."""
    if not sys.stderr.isatty():
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
