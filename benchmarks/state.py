"""Device state at fleet scale: state, diff, reconcile and deadlines over lab devices.

Makes N lab devices (usage files and before-import captures) and the simulated CSSM's answer
(ACKs and after-import captures), then times each command with its peak memory, beside
``grep`` reading the same captures for one line (the floor for just reading them).

    python benchmarks/state.py [--devices 10000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.validate import best_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (best)")
    args = parser.parse_args()
    airgap = [sys.executable, "-m", "airgap"]
    work = Path(tempfile.mkdtemp(prefix="airgap-bench-"))
    try:
        subprocess.run([*airgap, "lab", "fleet", "--devices", str(args.devices), "--out",
                        str(work / "fleet")], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*airgap, "lab", "cssm", str(work / "fleet" / "usage"),
                        str(work / "cssm")], check=True, stdout=subprocess.DEVNULL)
        before, after = work / "fleet" / "before", work / "cssm" / "after"
        print(f"data: {args.devices} lab devices, {args.devices} captures on each side "
              f"(4 commands each), {args.devices} usage files and ACKs; best of {args.repeat}")
        rows = []
        for label, command in (
            ("grep 'Next ACK deadline' (reading the captures)",
             ["grep", "-rh", "Next ACK deadline", str(after)]),
            ("airgap state --format json (after captures)",
             [*airgap, "state", "--format", "json", str(after)]),
            ("airgap deadlines (after captures)",
             [*airgap, "deadlines", str(after), "--today", "2026-11-02"]),
            ("airgap diff before/ after/", [*airgap, "diff", str(before), str(after)]),
            ("airgap reconcile usage/ ACKs after/",
             [*airgap, "reconcile", str(work / "fleet" / "usage"), str(work / "cssm")]),
        ):
            rows.append((label, *best_of(args.repeat, command)))
        print(f"{'command':50} {'wall s':>7} {'ms/device':>9} {'RSS MB':>7} {'PSS MB':>7}")
        for label, wall, rss, pss in rows:
            print(f"{label:50} {wall:7.2f} {wall * 1000 / args.devices:9.2f} "
                  f"{rss / 1e6:7.0f} {pss / 1e6:7.0f}")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
