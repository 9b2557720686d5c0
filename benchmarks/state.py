"""Device state at site scale: state, deadlines, health, diff and reconcile over lab devices.

Makes N lab devices (usage files and before-import captures) and the simulated CSSM's answer
(ACKs and after-import captures), then times each command with its peak memory (PSS of the
process tree), beside ``grep`` reading the same files (the floor for just reading them). With
two sizes or more it also says how many bytes each device adds to each command's memory
between the smallest and the largest size: what the per-device summaries cost. It ends with
one Markdown table of it all (the README's).

The fleet is built once per size under ``--keep DIR`` (``DIR/<N>/fleet``, ``DIR/<N>/cssm``)
and reused by later runs; without ``--keep`` it goes to a temporary folder removed at the end.

    python benchmarks/state.py [--devices 10000 100000] [--repeat 3 | 0] [--keep DIR]
                               [--only health reconcile]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.validate import sampled, timed

AIRGAP = [sys.executable, "-m", "airgap"]
TODAY = "2026-11-02"  # the lab clock's day: the lab fleet is then neither due nor overdue


def build(where: Path, devices: int) -> None:
    """The lab fleet and CSSM's answer under ``where``, unless an earlier run left them."""
    if (where / "cssm").is_dir():
        return
    if where.exists():
        sys.exit(f"{where} holds no whole fleet (a build cut short?): remove it first")
    where.mkdir(parents=True)
    for step, command in (
        (
            "lab fleet",
            [*AIRGAP, "lab", "fleet", "--devices", str(devices), "--out", str(where / "fleet")],
        ),
        (
            "lab cssm",
            [*AIRGAP, "lab", "cssm", str(where / "fleet" / "usage"), "--out", str(where / "cssm")],
        ),
    ):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        print(f"built: {step} of {devices} devices in {time.perf_counter() - start:.1f} s")


# The grep run that reads the same files as each command: its floor.
FLOORS = {
    "state": "grep",
    "deadlines": "grep",
    "health": "grep",
    "diff": "grep-both",
    "reconcile": "grep-all",
}


def commands(where: Path) -> dict[str, tuple[str, list[str]]]:
    """Name -> (label, command) of everything measured over the fleet under ``where``."""
    usage, acks = where / "fleet" / "usage", where / "cssm"
    before, after = where / "fleet" / "before", acks / "after"
    return {
        "grep": (
            "grep 'Next ACK deadline' after/ (the floor)",
            ["grep", "-rh", "Next ACK deadline", str(after)],
        ),
        "grep-both": (
            "grep over before/ and after/ (the floor)",
            ["grep", "-rh", "Last ACK received", str(before), str(after)],
        ),
        "grep-all": (
            "grep over usage/ and cssm/ (the floor)",
            ["grep", "-rh", "Next ACK deadline", str(usage), str(acks)],
        ),
        "state": (
            "airgap state --format json after/",
            [*AIRGAP, "state", "--format", "json", str(after)],
        ),
        "deadlines": (
            "airgap deadlines after/",
            [*AIRGAP, "deadlines", str(after), "--today", TODAY],
        ),
        "health": ("airgap health after/", [*AIRGAP, "health", str(after), "--today", TODAY]),
        "diff": ("airgap diff before/ after/", [*AIRGAP, "diff", str(before), str(after)]),
        "reconcile": (
            "airgap reconcile usage/ cssm/",
            [*AIRGAP, "reconcile", str(usage), str(acks)],
        ),
    }


def measure(repeat: int, command: list[str]) -> tuple[float, float, int]:
    """Best wall time of ``repeat`` runs, and the CPU seconds (the process and its workers)
    and peak PSS (bytes) of one more, sampled run; with ``repeat`` 0 the wall time of the
    sampled run itself (half the time at 100,000 devices, a little slower: the sampler takes
    CPU). CPU time varies less than wall time on a loaded machine. Exit 1 (findings) is a
    finished run; anything above it stops the benchmark."""
    walls = []
    for _ in range(repeat):
        wall, code = timed(command)
        if code > 1:
            sys.exit(f"failed ({code}): {' '.join(command)}")
        walls.append(wall)
    start, used = time.perf_counter(), _children_cpu()
    (_, pss), code = sampled(command)
    if code > 1:
        sys.exit(f"failed ({code}): {' '.join(command)}")
    cpu = _children_cpu() - used
    return min(walls, default=time.perf_counter() - start), cpu, pss


def _children_cpu() -> float:
    """User and system seconds of every finished child (their own children included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


Runs = dict[str, dict[int, tuple[float, float, int]]]  # name -> size -> (wall, CPU, PSS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[10_000])
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="timed runs per command (best); 0: time the sampled run",
    )
    parser.add_argument("--keep", type=Path, help="build the fleets here once and reuse them")
    parser.add_argument(
        "--only", nargs="+", help="measure only these: " + ", ".join(commands(Path(".")))
    )
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="airgap-bench-"))
    runs: Runs = {}
    try:
        for devices in sorted(args.devices):
            where = root / str(devices)
            build(where, devices)
            kind = f"best of {args.repeat}" if args.repeat else "one sampled run each"
            print(
                f"\n{devices} lab devices: {devices} captures on each side (4 commands "
                f"each), {devices} usage files and ACKs; {kind}; load {os.getloadavg()[0]:.1f}"
            )
            print(f"{'command':45} {'wall s':>7} {'CPU s':>7} {'ms/device':>9} {'PSS MB':>7}")
            for name, (label, command) in commands(where).items():
                if args.only and name not in args.only and not name.startswith("grep"):
                    continue
                wall, cpu, pss = measure(args.repeat, command)
                runs.setdefault(name, {})[devices] = (wall, cpu, pss)
                print(
                    f"{label:45} {wall:7.2f} {cpu:7.2f} {wall * 1000 / devices:9.3f} "
                    f"{pss / 1e6:7.0f}",
                    flush=True,
                )
        print()
        print(table(root, sorted(args.devices), runs))
    finally:
        if args.keep is None:
            shutil.rmtree(root)


def table(root: Path, sizes: list[int], runs: Runs) -> str:
    """Every command's wall time, CPU time and peak PSS at each size, the bytes a device adds
    between the smallest and largest size, and the grep floor over the same files at the
    largest size, in Markdown."""
    low, high = sizes[0], sizes[-1]
    labels = {name: label for name, (label, _) in commands(root).items()}
    head = ["command"]
    for n in sizes:
        head += [f"{n:,}: wall s", f"{n:,}: CPU s", f"{n:,}: PSS MB"]
    head += ["bytes a device"] if high > low else []
    head += [f"grep floor, {high:,}: wall s"]
    rows = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for name, found in runs.items():
        if name.startswith("grep"):
            continue
        cells = [f"`{labels[name]}`"]
        for n in sizes:
            wall, cpu, pss = found.get(n, (float("nan"), float("nan"), 0))
            cells += [f"{wall:.1f}", f"{cpu:.1f}", f"{pss / 1e6:,.0f}"]
        if high > low:
            added = (found[high][2] - found[low][2]) / (high - low) if low in found else None
            cells.append("" if added is None else f"{added:,.0f}")
        floor = runs.get(FLOORS.get(name, ""), {}).get(high)
        cells.append("" if floor is None else f"{floor[0]:.1f}")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
