"""Audit ledger numbers: append rate with fsync, full verify of 1,000,000 entries (every
signature, both cores), incremental verify of 1,000 new entries from a checkpoint, and an
inclusion proof's size and verify time.

    python benchmarks/ledger.py [--entries 1000000]

Goals on a 2-core machine: full verify under 120 s, incremental under 1 s, one proof under
10 ms. The baseline for appends is the disk's fsync rate.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from airgap.ledger import checkpoint
from airgap.ledger.store import Ledger, now, write_entries
from airgap.ledger.verify import verify
from airgap.signing.minisign import SecretKey


def build(path: Path, key: SecretKey, count: int) -> None:
    write_entries(
        path,
        key,
        (
            {
                "time": now(),
                "step": "bundle.create",
                "operator": key.public.id,
                "host": "jump-1",
                "device": None,
                "materials": {f"usage/dev_{seq:07d}.xml": "sha256:" + "ab" * 32},
                "products": {},
                "result": "ok",
                "note": "",
            }
            for seq in range(1, count + 1)
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="airgap-ledger-bench-"))
    try:
        key = SecretKey.generate()
        keys = {key.public.id: key.public}
        store = Ledger(work / "ledger.jsonl")

        start = time.perf_counter()
        for _ in range(500):
            store.append("note", key, note="append with fsync")
        append = time.perf_counter() - start
        fd = os.open(work / "fsync-probe", os.O_WRONLY | os.O_CREAT)
        start = time.perf_counter()
        for _ in range(500):
            os.write(fd, b"x" * 300 + b"\n")
            os.fsync(fd)
        os.close(fd)
        bare = time.perf_counter() - start
        print(
            f"append with fsync: {500 / append:8.0f} entries/s "
            f"(bare write+fsync of a line: {500 / bare:.0f}/s)"
        )

        big = Ledger(work / "big.jsonl")
        start = time.perf_counter()
        build(big.path, key, args.entries)
        print(
            f"built {args.entries} signed entries in {time.perf_counter() - start:.1f} s "
            f"({big.path.stat().st_size / 1e6:.0f} MB)"
        )

        start = time.perf_counter()
        report = verify(big, keys)
        full = time.perf_counter() - start
        assert not report.findings, report.findings[:3]
        print(
            f"full verify, every signature, {os.cpu_count()} cores: {full:8.1f} s "
            f"(goal: under 120 s)"
        )

        _, note, _ = checkpoint.make(big, key, report)
        for _ in range(1000):
            big.append("note", key, note="new since the checkpoint")
        opened = checkpoint.open_checkpoint(note, [key.public], big.path)
        start = time.perf_counter()
        report = verify(big, keys, since=opened)
        incremental = time.perf_counter() - start
        assert not report.findings and report.incremental_from == args.entries
        print(f"incremental verify of 1,000 new entries: {incremental:8.3f} s (goal: under 1 s)")

        _, note, _ = checkpoint.make(big, key, report)
        start = time.perf_counter()
        proof = checkpoint.prove(big, args.entries // 2, note, key.public)
        making = time.perf_counter() - start
        line = next(line for number, line in big.lines() if number == args.entries // 2)
        start = time.perf_counter()
        runs = 100
        for _ in range(runs):
            checkpoint.verify_proof(proof, line, [key.public], "proof")
        checking = (time.perf_counter() - start) / runs
        hashes = proof.split("\n\n")[0].count("\n") - 1
        print(
            f"inclusion proof: {len(proof.encode())} bytes ({hashes} hashes), made in "
            f"{making:.1f} s, verified in {checking * 1000:.2f} ms (goal: under 10 ms)"
        )
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
