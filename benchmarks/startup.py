"""Start-up time: ``airgap --version`` and ``airgap validate`` of one small file, beside
``xmllint --version`` (median of repeated runs, wall time). Goal: --version under 150 ms.

    python benchmarks/startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "usage-n9k-nxos-v1.xml"


def median_ms(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    airgap = shutil.which("airgap") or str(Path(sys.executable).parent / "airgap")
    rows = [
        ("airgap --version", [airgap, "--version"]),
        ("airgap validate (one small usage file)", [airgap, "validate", str(SAMPLE)]),
    ]
    if xmllint := shutil.which("xmllint"):
        rows.insert(0, ("xmllint --version", [xmllint, "--version"]))
        rows.append(
            (
                "xmllint --noout --schema usage.xsd (same file)",
                [xmllint, "--noout", "--schema", str(ROOT / "schemas" / "usage.xsd"), str(SAMPLE)],
            )
        )
    for label, command in rows:
        print(f"{label:50} {median_ms(command, args.runs):7.1f} ms (median of {args.runs})")


if __name__ == "__main__":
    main()
