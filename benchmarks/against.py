"""The working tree against a git revision: the same output, and how much CPU each takes.

For a change meant to make airgap faster and nothing else. ``same`` runs each command with
both trees and compares stdout, stderr and the exit code byte for byte: over a lab fleet
(``benchmarks/state.py --keep DIR`` builds one; ``--fleet DIR/10000``), ``samples/`` and the
field captures in ``../shared/field`` when they are there. ``cpu`` runs the fleet commands
with each tree in turn, ``--repeat`` times, and prints each run's wall and CPU seconds (the
process and its workers) with the medians: on a machine whose speed swings from one minute
to the next, CPU seconds of runs made in turn tell a change from the noise where one wall
time does not. The revision is checked out in a temporary worktree, removed at the end.

    python benchmarks/against.py same --base REV --fleet DIR/10000
    python benchmarks/against.py cpu --base REV --fleet DIR/100000 [--repeat 3]
                                     [--only health reconcile]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.state import TODAY, _children_cpu, commands

ROOT = Path(__file__).resolve().parent.parent
FIELD = ROOT.parent / "shared" / "field"


def fleet_commands(fleet: Path) -> dict[str, list[str]]:
    """The airgap commands ``benchmarks/state.py`` times over ``fleet``, as arguments."""
    return {
        name: command[command.index("airgap") + 1 :]
        for name, (_, command) in commands(fleet).items()
        if "airgap" in command
    }


def output_commands(fleet: Path) -> dict[str, list[str]]:
    """Every command whose output ``same`` compares: the fleet's, in text and JSON, then
    ``samples/`` and the field captures."""
    found: dict[str, list[str]] = {}
    for name, args in fleet_commands(fleet).items():
        found[name] = args
        if "--format" not in args:
            found[f"{name} json"] = [args[0], "--format", "json", *args[1:]]
    found["validate usage/"] = ["validate", str(fleet / "fleet" / "usage")]
    for where in (ROOT / "samples", FIELD):
        if not where.is_dir():
            continue
        for command in ("reconcile", "health", "deadlines", "state", "validate", "inspect"):
            dated = ["--today", TODAY] if command in ("health", "deadlines") else []
            found[f"{command} {where.name}/"] = [command, str(where), *dated]
            found[f"{command} {where.name}/ json"] = [command, "--format", "json", str(where)]
            found[f"{command} {where.name}/ json"] += dated
    return found


@contextmanager
def worktree(revision: str) -> Iterator[Path]:
    """``revision`` checked out in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="airgap-base-") as folder:
        where = Path(folder) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(where), revision],
            check=True,
        )
        try:
            yield where
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(where)], check=False
            )


def run(tree: Path, args: list[str], *, keep: bool) -> tuple[bytes, bytes, int, float, float]:
    """One run of ``airgap ARGS`` from ``tree``, in a folder of its own: its stdout and
    stderr (when ``keep``), exit code, wall and CPU seconds."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0", "NO_COLOR": "1"}
    env["COLUMNS"] = "120"
    output = subprocess.PIPE if keep else subprocess.DEVNULL
    with tempfile.TemporaryDirectory(prefix="airgap-run-") as cwd:
        start, used = time.perf_counter(), _children_cpu()
        done = subprocess.run(
            [sys.executable, "-m", "airgap", *args],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=output,
            check=False,
        )
        wall, cpu = time.perf_counter() - start, _children_cpu() - used
    return done.stdout or b"", done.stderr or b"", done.returncode, wall, cpu


def same(base: Path, fleet: Path) -> int:
    """Compare every command's output from both trees; 1 when any differs."""
    listed = output_commands(fleet)
    differ = 0
    for name, args in listed.items():
        new, old = run(ROOT, args, keep=True), run(base, args, keep=True)
        parts = [p for p, a, b in zip(PARTS, new, old, strict=False) if a != b]
        print(f"DIFFERS  {name}: {', '.join(parts)}" if parts else f"same     {name}")
        differ += bool(parts)
    print(f"{differ} of {len(listed)} commands differ")
    return 1 if differ else 0


PARTS = ("stdout", "stderr", "exit code")  # what ``same`` compares of a run


def cpu(base: Path, fleet: Path, repeat: int, only: list[str]) -> int:
    """Each fleet command with each tree in turn, ``repeat`` times; medians at the end."""
    chosen = {n: a for n, a in fleet_commands(fleet).items() if not only or n in only}
    walls: dict[tuple[str, str], list[float]] = {}
    used: dict[tuple[str, str], list[float]] = {}
    for round_ in range(repeat):
        for name, args in chosen.items():
            trees = [("new", ROOT), ("base", base)]
            for label, tree in trees if round_ % 2 == 0 else reversed(trees):  # neither first
                *_, wall, seconds = run(tree, args, keep=False)
                walls.setdefault((name, label), []).append(wall)
                used.setdefault((name, label), []).append(seconds)
                print(f"{name:10} {label:4} wall {wall:6.1f} s  CPU {seconds:6.1f} s", flush=True)
    print(f"\n{'command':10} {'tree':4} {'median wall s':>13} {'median CPU s':>12}")
    for key, found in walls.items():
        wall, seconds = statistics.median(found), statistics.median(used[key])
        print(f"{key[0]:10} {key[1]:4} {wall:13.1f} {seconds:12.1f}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("same", "cpu"))
    parser.add_argument("--base", required=True, help="the git revision to compare against")
    parser.add_argument("--fleet", type=Path, required=True, help="a lab fleet: DIR/<N>")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tree (cpu)")
    parser.add_argument("--only", nargs="*", default=[], help="commands to time (cpu)")
    options = parser.parse_args()
    if not (options.fleet / "fleet").is_dir():
        sys.exit(f"{options.fleet}: no lab fleet here (benchmarks/state.py --keep builds one)")
    with worktree(options.base) as base:
        if options.what == "same":
            sys.exit(same(base, options.fleet))
        sys.exit(cpu(base, options.fleet, options.repeat, options.only))


if __name__ == "__main__":
    main()
