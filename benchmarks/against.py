"""The working tree against a git revision: the same output, and how much CPU each takes.

For a change meant to make airgap faster and nothing else. ``same`` runs each command with
both trees and compares stdout, stderr and the exit code byte for byte: over a lab fleet
(``benchmarks/state.py --keep DIR`` builds one; ``--fleet DIR/10000``), ``samples/`` and the
field captures in ``../shared/field`` when they are there. ``cpu`` runs the fleet commands
with each tree in turn, ``--repeat`` times, and prints each run's wall and CPU seconds (the
process and its workers) with the medians: on a machine whose speed swings from one minute
to the next, CPU seconds of runs made in turn tell a change from the noise where one wall
time does not. ``instructions`` counts the machine instructions one file of each kind costs
as ``health``, ``reconcile`` and ``diff`` read it (walked, parsed and summarised, in one
process under valgrind's callgrind, which must be installed): the same count on any machine
at any load, to a fraction of a percent, so a change of 2% shows where CPU seconds swing by a
quarter. The revision is checked out in a temporary worktree, removed at the end.

    python benchmarks/against.py same --base REV --fleet DIR/10000
    python benchmarks/against.py cpu --base REV --fleet DIR/100000 [--repeat 3]
                                     [--only health reconcile]
    python benchmarks/against.py instructions --base REV --fleet DIR/10000 [--files 200]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
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


# What each kind of file costs: the folder of the fleet it is taken from, the files' names,
# and how it is read (as ``health``, ``reconcile`` and ``diff`` ask ``evidence.load``).
KINDS = {
    "capture (health)": ("cssm/after", "", "summary=True"),
    "capture (reconcile)": ("cssm/after", "", "summary=True, reduce=evidence.reconciled"),
    "capture (diff)": ("cssm/after", "", "for_diff=True"),
    "usage file": ("fleet/usage", "", "summary=True"),
    "ACK": ("cssm", "ACK_", "summary=True"),
}
_COUNTED = re.compile(rb"Collected : (\d+)")


def instructions(base: Path, fleet: Path, files: int) -> int:
    """Machine instructions a file of each kind costs, each tree: the count for ``2 * files``
    files less the count for ``files`` (start-up and the walk's first look cancel out), over
    ``files``. One process, no workers (on one core ``evidence.load`` reads in-process)."""
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    print(f"{'kind':20} {'base':>12} {'new':>12} {'new/base':>9}  (instructions a file)")
    with tempfile.TemporaryDirectory(prefix="airgap-files-") as folder:
        for kind, (where, prefix, how) in KINDS.items():
            names = sorted(  # files, not the folders beside them (cssm/after)
                n
                for n in os.listdir(fleet / where)
                if n.startswith(prefix) and (fleet / where / n).is_file()
            )[: 2 * files]
            if len(names) < 2 * files:
                sys.exit(f"{fleet / where}: fewer than {2 * files} files")
            counts = []
            for tree in (base, ROOT):
                small, large = (
                    _counted(
                        tree, _linked(fleet / where, names[:n], Path(folder) / f"{kind}{n}"), how
                    )
                    for n in (files, 2 * files)
                )
                counts.append((large - small) / files)
            print(f"{kind:20} {counts[0]:12,.0f} {counts[1]:12,.0f} {counts[1] / counts[0]:9.3f}")
    return 0


def _linked(source: Path, names: list[str], where: Path) -> Path:
    """A folder of ``names`` from ``source``, each a hard link (a regular file, as walked)
    or a copy where no link can be made."""
    if not where.exists():
        where.mkdir()
        for name in names:
            try:
                os.link(source / name, where / name)
            except OSError:
                shutil.copyfile(source / name, where / name)
    return where


def _counted(tree: Path, folder: Path, how: str) -> int:
    """Instructions of one in-process ``evidence.load`` of ``folder`` with ``tree``."""
    code = f"from airgap.state import evidence; evidence.load([{str(folder)!r}], {how})"
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    counter = [
        "taskset",
        "-c",
        "0",
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
    ]
    done = subprocess.run(  # in the files' folder: no airgap there to import before the tree's
        [*counter, sys.executable, "-c", code], cwd=folder, env=env, capture_output=True
    )
    found = _COUNTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        sys.exit(f"{tree}: evidence.load failed under valgrind: {done.stderr[-300:]!r}")
    return int(found[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("same", "cpu", "instructions"))
    parser.add_argument("--base", required=True, help="the git revision to compare against")
    parser.add_argument("--fleet", type=Path, required=True, help="a lab fleet: DIR/<N>")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tree (cpu)")
    parser.add_argument("--only", nargs="*", default=[], help="commands to time (cpu)")
    parser.add_argument("--files", type=int, default=200, help="files of each kind (instructions)")
    options = parser.parse_args()
    if not (options.fleet / "fleet").is_dir():
        sys.exit(f"{options.fleet}: no lab fleet here (benchmarks/state.py --keep builds one)")
    with worktree(options.base) as base:
        if options.what == "same":
            sys.exit(same(base, options.fleet))
        if options.what == "instructions":
            sys.exit(instructions(base, options.fleet, options.files))
        sys.exit(cpu(base, options.fleet, options.repeat, options.only))


if __name__ == "__main__":
    main()
