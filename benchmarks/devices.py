"""The device end at fleet scale: ``airgap collect`` from emulated devices over real SSH.

Makes a lab fleet, serves it with ``airgap lab serve --faults '*=latency:MS'`` (every command
answered after MS milliseconds, as a WAN link would), then times ``airgap collect`` from every
device and reports sessions per second, the collect process's peak memory, and for comparison
how long the same number of sessions would take one at a time.

    python benchmarks/devices.py [--devices 1000] [--latency 50] [--jobs 100]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS_PER_DEVICE = 9  # terminal length, 4 captures, save, verify /md5, delete, exit


def collect(airgap: list[str], fleet: Path, out: Path, jobs: int) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in MB of the collect process, and its exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(
        [
            *airgap,
            "collect",
            "--inventory",
            str(fleet / "inventory.toml"),
            "--known-hosts",
            str(fleet / "known_hosts"),
            "--out",
            str(out),
            "--jobs",
            str(jobs),
            "--timeout",
            "120",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode:
        print(done.stderr[-2000:], file=sys.stderr)
    return seconds, max(peak, before) // 1024, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[250, 1000])
    parser.add_argument("--latency", type=int, default=50, help="ms per command")
    parser.add_argument("--jobs", type=int, default=100)
    args = parser.parse_args()
    airgap = [sys.executable, "-m", "airgap"]
    print(f"collect over SSH on loopback, {args.latency} ms per command, --jobs {args.jobs}")
    print(
        f"{'devices':>8} {'wall s':>8} {'sessions/s':>11} {'RSS MB':>7} {'serial s':>9} "
        f"{'latency s':>9} {'CPU s':>6}  exit"
    )
    for count in args.devices:
        work = Path(tempfile.mkdtemp(prefix="airgap-devices-"))
        server = None
        try:
            subprocess.run(
                [*airgap, "lab", "fleet", "--devices", str(count), "--out", str(work / "fleet")],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            server = subprocess.Popen(
                [
                    *airgap,
                    "lab",
                    "serve",
                    str(work / "fleet"),
                    "--faults",
                    f"*=latency:{args.latency}",
                ],
                stderr=subprocess.DEVNULL,
            )
            while not (work / "fleet" / "known_hosts").exists():
                time.sleep(0.1)
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            seconds, rss, code = collect(airgap, work / "fleet", work / "usage", args.jobs)
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (
                cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
            )
            serial = count * COMMANDS_PER_DEVICE * args.latency / 1000
            waiting = serial / args.jobs  # the latency alone with --jobs sessions at once
            print(
                f"{count:>8} {seconds:>8.1f} {count / seconds:>11.1f} {rss:>7} "
                f"{serial:>9.0f} {waiting:>9.1f} {cpu:>6.1f}  {code}"
            )
        finally:
            if server is not None:
                server.terminate()
                server.wait(30)
            shutil.rmtree(work, ignore_errors=True)
    print(
        "serial s: the latency alone, one device after another; latency s: the same with "
        "--jobs sessions at once; CPU s: the collect process's own CPU (SSH key exchange, "
        "ciphers, parsing, validation); the emulated devices use the other core"
    )


if __name__ == "__main__":
    main()
