"""``airgap demo``: the whole offline round trip (:mod:`airgap.lab.demo`), narrated."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from airgap.cli.output import Format, FormatOption, begin, emit_json, err, out
from airgap.errors import ExitCode, InputError
from airgap.lab.demo import SHOWN_LINES, Demo, Step, Stop, Tamper, round_trip


def demo(
    devices: Annotated[
        int, typer.Option("--devices", min=1, max=10_000, help="How many lab devices.")
    ] = 5,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir",
            help="Keep everything in this new folder (default: a temporary folder, "
            "removed at the end).",
            show_default=False,
        ),
    ] = None,
    tamper: Annotated[
        Tamper | None,
        typer.Option(
            "--tamper",
            help="media: flip one byte of the outbound bundle on the USB; the demo "
            "must stop at verify with exit 4.",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Run the whole offline round trip with lab devices and a simulated CSSM, narrating
    each command: the lab devices served over real SSH on loopback, inventory check, collect
    usage over SSH, validate, bundle and sign, write to a 'USB' folder, verify on the internet
    side (its own keys and ledger), CSLU-style pack, simulated CSSM, ACK bundle back, verify,
    push each ACK to its device over SSH (import, capture after, verdict), diff, reconcile,
    deadlines, and the ledgers of both hosts. Exit 0 only when every check passed."""
    begin("demo", fmt)
    if workdir is not None and workdir.exists() and any(workdir.iterdir()):
        raise InputError("refusing to run the demo in", workdir, "it is not empty")
    root = (workdir or Path(tempfile.mkdtemp(prefix="airgap-demo-"))).resolve()
    root.mkdir(parents=True, exist_ok=True)
    shown = fmt is Format.TEXT
    run = Demo(root, _narrate if shown else _silent, _say if shown else _silent)
    code = ExitCode.OK
    try:
        round_trip(run, devices, tamper)
    except Stop as stop:
        code = ExitCode(stop.step.code) if stop.step.code in set(ExitCode) else ExitCode.FINDINGS
    finally:
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    _finish(run, fmt, code, tamper, None if workdir is None else root)
    raise typer.Exit(code)


def _silent(_: object) -> None:
    """Nothing told as it runs (under --format json, the steps come in the envelope)."""


def _narrate(step: Step) -> None:
    console = out()
    console.print(f"\n{step.number:>2}. [{step.side}] {step.title}", markup=False, style="bold")
    console.print(f"    $ {step.command}", markup=False)
    lines = step.output.splitlines()
    for line in lines[:SHOWN_LINES]:
        console.print(f"      {line}", markup=False, style="dim")
    if len(lines) > SHOWN_LINES:
        console.print(
            f"      ... {len(lines) - SHOWN_LINES} more lines (--workdir keeps "
            "every file to look at)",
            markup=False,
            style="dim",
        )
    verdict = "ok" if step.ok else f"FAILED: exit {step.code}, expected {step.expect}"
    console.print(f"    -> {verdict}", markup=False, style="green" if step.ok else "red")


def _say(text: str) -> None:
    out().print(f"\n    {text}", markup=False, style="yellow")


def _finish(run: Demo, fmt: Format, code: ExitCode, tamper: str | None, kept: Path | None) -> None:
    passed = code == ExitCode.OK
    summary = {
        "passed": passed,
        "steps": len(run.steps),
        "tamper": tamper,
        "stopped_at": None if passed else run.steps[-1].title,
        "workdir": str(kept) if kept else None,
        "seconds": round(sum(s.seconds for s in run.steps), 2),
    }
    if fmt is Format.JSON:
        emit_json(passed, [s.to_dict() for s in run.steps], summary=summary)
        return
    if passed:
        out().print(
            f"\ndemo passed: {len(run.steps)} steps in {summary['seconds']} s"
            + (f"; everything is in {kept}" if kept else ""),
            markup=False,
            style="bold",
        )
    else:
        expected = (
            " as it should: the tampered bundle was refused"
            if tamper and code == ExitCode.TRUST
            else ""
        )
        err().print(
            f"demo stopped at step {len(run.steps)} ({run.steps[-1].title}) with exit "
            f"{int(code)}{expected}" + (f"; everything is in {kept}" if kept else ""),
            markup=False,
            style="bold red",
        )
