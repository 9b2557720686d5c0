"""Options several commands share, typed so that ``--help`` and shell completion show their
values: privacy, and how much a command says (``-q``, ``-v``, ``--no-progress``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from airgap.cli.output import this_run


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
