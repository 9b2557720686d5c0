"""airgap validate against stock xmllint on the same usage files: wall time and peak memory.

Generates 100,000 RUM reports in 2,000 usage files (and the same files as one tar.gz), then
times ``airgap validate`` (XSD, JSON Schema on every envelope and payload, every rule) beside
``xmllint --noout --schema schemas/usage.xsd`` (XSD only), and prints the ratio from this run.
Peak memory is the largest sum of resident memory over airgap's process tree, sampled every
10 ms. A smaller run (200 files) shows whether memory stays flat as files grow.

    python benchmarks/validate.py [--files 2000] [--reports 50] [--keep DIR]
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
PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            statm = Path(f"/proc/{entry}/statm").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = int(statm.split()[1]) * PAGE
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total


def run(command: list[str]) -> tuple[float, int, int]:
    """Wall seconds, peak tree memory (bytes) and exit code of one command."""
    peak = 0
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    code = process.wait()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    return wall, peak, code


def best_of(count: int, command: list[str]) -> tuple[float, int]:
    results = []
    for _ in range(count):
        wall, peak, code = run(command)
        if code != 0:
            sys.exit(f"failed ({code}): {' '.join(command)}")
        results.append((wall, peak))
    return min(r[0] for r in results), max(r[1] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--reports", type=int, default=50, help="reports per file")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best)")
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
        print(f"data: {args.files} usage files, {args.files * args.reports} RUM reports, "
              f"{size / 1e6:.0f} MB ({archive.stat().st_size / 1e6:.0f} MB as tar.gz); "
              f"{os.cpu_count()} cores; best of {args.repeat}")
        lint_wall, lint_peak = best_of(args.repeat, [xmllint, "--noout", "--schema",
                                                     str(ROOT / "schemas" / "usage.xsd"),
                                                     *map(str, files)])
        rows = [("xmllint --noout --schema (XSD only)", lint_wall, lint_peak)]
        for label, command in (
            (f"airgap validate folder ({len(small)} files)", [*airgap, str(small[0].parent)]),
            (f"airgap validate folder ({len(files)} files)", [*airgap, str(files[0].parent)]),
            ("airgap validate -j1 folder (one core)", [*airgap, "-j1", str(files[0].parent)]),
            ("airgap validate files.tar.gz", [*airgap, str(archive)]),
        ):
            wall, peak = best_of(args.repeat, command)
            rows.append((label, wall, peak))
        print(f"{'command':45} {'wall s':>8} {'x xmllint':>10} {'peak MB':>8}")
        for label, wall, peak in rows:
            print(f"{label:45} {wall:8.2f} {wall / lint_wall:10.2f} {peak / 1e6:8.0f}")
    finally:
        if not args.keep:
            shutil.rmtree(work)


if __name__ == "__main__":
    main()
