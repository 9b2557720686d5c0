"""Options several commands share, typed so that ``--help`` and shell completion show their
values: privacy, the lab's simulated ACKs, the ledger, how much a command says (``-q``,
``-v``, ``--no-progress``), and where a command writes (``--out``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from airgap.cli.output import note, this_run

T = TypeVar("T")


class Privacy(StrEnum):
    """The privacy levels (the ``privacy`` setting)."""

    NORMAL = "normal"
    STRICT = "strict"


PrivacyOption = Annotated[
    Privacy | None,
    typer.Option(
        "--privacy",
        help="normal, or strict: a hostname in an outbound file is an error "
        "(default: the 'privacy' setting).",
        show_default=False,
    ),
]
LabOption = Annotated[
    bool,
    typer.Option(
        "--lab", help="Accept simulated ACKs from 'airgap lab cssm' (rule simulated-ack off)."
    ),
]
LedgerOption = Annotated[
    Path | None,
    typer.Option(
        "--ledger", help="The ledger file (default: the 'ledger' setting).", show_default=False
    ),
]
QuietOption = Annotated[
    bool, typer.Option("-q", "--quiet", help="Say only what failed: errors, no notes.")
]
VerboseOption = Annotated[bool, typer.Option("-v", "--verbose", help="Name every file checked.")]
NoProgressOption = Annotated[
    bool, typer.Option("--no-progress", help="No progress bars or counts on the terminal.")
]


def speak(*, quiet: bool = False, verbose: bool = False, no_progress: bool = False) -> None:
    """How much this run says: ``-q`` wins over ``-v``."""
    run = this_run()
    run.quiet, run.verbose = quiet, verbose and not quiet
    run.progress = not no_progress


def moved_out(what: str, where: str) -> Any:
    """The ``--out`` option of a command whose output was once an argument (its first or
    last, ``where``), which :func:`out_or_positional` still reads for one release."""
    return typer.Option(
        "--out",
        "-o",
        metavar="OUT",
        help=f"{what} (formerly the {where} argument: still read so, with a note, for one "
        "release).",
        show_default=False,
    )


def out_or_positional(
    out: T | None,
    given: list[T],
    *,
    first: bool,
    command: str,
    suffixes: tuple[str, ...] = (),
) -> tuple[T, list[T]]:
    """The output a command writes, and its inputs. Outputs are ``--out`` on every command
    that makes something new from inputs; the older spelling, the output as the first (or
    last) argument, still works for one release with a note on stderr (with ``suffixes``,
    only for an argument named so, so that an input is never taken for the output)."""
    if out is not None:
        return out, given
    if len(given) < 2 or not str(given[0 if first else -1]).endswith(suffixes or ("",)):
        raise typer.BadParameter("name what to write with --out", param_hint="--out")
    target, rest = (given[0], given[1:]) if first else (given[-1], given[:-1])
    note(
        f"'{command}' with the output as the {'first' if first else 'last'} argument is "
        f"deprecated and goes in the next release: write --out {target}"
    )
    return target, rest
