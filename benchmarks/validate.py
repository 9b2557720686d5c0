"""airgap validate against stock xmllint on the same usage files: wall time and peak memory.

Generates 100,000 RUM reports in 2,000 usage files (and the same files as one tar.gz), then
times ``airgap validate`` (XSD, JSON Schema on every envelope and payload, every rule) beside
``xmllint --noout --schema schemas/usage.xsd`` (XSD only), and prints the ratio from this run.
Peak memory is sampled every 10 ms over airgap's process tree, in a run of its own (the
sampler's CPU would slow a timed run), as the sum of RSS (which counts pages that forked
workers share with the parent once per process) and of PSS (which splits them: the memory the
tree really holds). A smaller run (200 files) shows whether memory stays flat as files grow,
and one large file whether it follows the file's size.

    python benchmarks/validate.py [--files 2000] [--reports 50] [--big 20000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.fleet import write_fleet, write_tar_gz

ROOT = Path(__file__).resolve().parent.parent


def tree_memory(pid: int) -> tuple[int, int]:
    """Resident bytes of ``pid`` and all its descendants, from /proc: the sum of their RSS
    (pages shared between forked workers counted once per process) and of their PSS (shared
    pages split between the processes that share them: the memory the tree really holds)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    rss = pss = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        stack.extend(children.get(current, []))
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        fields = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in rollup[1:]}
        rss += fields.get("Rss", 0)
        pss += fields.get("Pss", 0)
    return rss, pss


def sampled(command: list[str]) -> tuple[tuple[int, int], int]:
    """Peak tree memory (RSS and PSS sums, bytes) and exit code of one run of a command."""
    peak = (0, 0)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            rss, pss = tree_memory(process.pid)
            peak = (max(peak[0], rss), max(peak[1], pss))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    code = process.wait()
    done.set()
    sampler.join()
    return peak, code


def timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and exit code of one run of a command."""
    start = time.perf_counter()
    code = subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    ).returncode
    return time.perf_counter() - start, code


def best_of(count: int, command: list[str]) -> tuple[float, int, int]:
    """Best wall time of ``count`` runs, and the peaks (RSS sum, PSS sum) of one more run.

    Memory is sampled in a run of its own: reading /proc every 10 ms takes CPU, which on two
    cores the timed command would otherwise lose (xmllint, on one core, would not)."""
    walls = []
    for _ in range(count):
        wall, code = timed(command)
        if code != 0:
            sys.exit(f"failed ({code}): {' '.join(command)}")
        walls.append(wall)
    (rss, pss), code = sampled(command)
    if code != 0:
        sys.exit(f"failed ({code}): {' '.join(command)}")
    return min(walls), rss, pss


def table(rows: list[tuple[str, float, int, int]], baseline: float) -> None:
    """Wall time, its ratio to ``baseline`` and peak memory of each command."""
    print(f"{'command':45} {'wall s':>7} {'x xmllint':>9} {'RSS MB':>7} {'PSS MB':>7}")
    for label, wall, rss, pss in rows:
        print(f"{label:45} {wall:7.2f} {wall / baseline:9.2f} {rss / 1e6:7.0f} {pss / 1e6:7.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--reports", type=int, default=50, help="reports per file")
    parser.add_argument("--big", type=int, default=20_000, help="reports in the one large file")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per command (best)")
    parser.add_argument("--keep", type=Path, help="generate here and keep the files")
    args = parser.parse_args()
    xmllint = shutil.which("xmllint")
    if not xmllint:
        sys.exit("xmllint is needed (Debian package libxml2-utils)")
    airgap = [sys.executable, "-m", "airgap", "validate"]
    work = args.keep or Path(tempfile.mkdtemp(prefix="airgap-bench-"))
    try:
        small = write_fleet(work / "small", args.files // 10, args.reports)
        files = write_fleet(work / "files", args.files, args.reports)
        archive = write_tar_gz(files, work / "files.tar.gz")
        size = sum(p.stat().st_size for p in files)
        print(
            f"data: {args.files} usage files, {args.files * args.reports} RUM reports, "
            f"{size / 1e6:.0f} MB ({archive.stat().st_size / 1e6:.0f} MB as tar.gz); "
            f"{os.cpu_count()} cores; best of {args.repeat}"
        )
        schema = str(ROOT / "schemas" / "usage.xsd")
        lint = best_of(args.repeat, [xmllint, "--noout", "--schema", schema, *map(str, files)])
        rows = [("xmllint --noout --schema (XSD only)", *lint)]
        for label, command in (
            (f"airgap validate folder ({len(small)} files)", [*airgap, str(small[0].parent)]),
            (f"airgap validate folder ({len(files)} files)", [*airgap, str(files[0].parent)]),
            ("airgap validate -j1 folder (one core)", [*airgap, "-j1", str(files[0].parent)]),
            ("airgap validate files.tar.gz", [*airgap, str(archive)]),
        ):
            rows.append((label, *best_of(args.repeat, command)))
        table(rows, lint[0])
        # One large file: memory should follow the file's size, not its decoded reports.
        (big,) = write_fleet(work / "big", 1, args.big)
        print(f"\none usage file of {args.big} RUM reports, {big.stat().st_size / 1e6:.0f} MB")
        lint = best_of(args.repeat, [xmllint, "--noout", "--schema", schema, str(big)])
        table(
            [
                ("xmllint --noout --schema (XSD only)", *lint),
                ("airgap validate", *best_of(args.repeat, [*airgap, str(big)])),
            ],
            lint[0],
        )
    finally:
        if not args.keep:
            shutil.rmtree(work)


if __name__ == "__main__":
    main()
