"""Bundle create and verify of about 1 GB of payload, beside the stock pipeline on the same data.

Stock pipeline: create = ``sha256sum`` (manifest) + ``tar czf`` + ``minisign -S``;
verify = ``minisign -V`` + ``tar xzf`` + ``sha256sum -c``. airgap's create and verify are
timed through the Python API with validation left out (it is timed on its own line, as
``airgap validate`` on the same files), so the comparison is hashing, archiving and signing.

    python benchmarks/bundle.py [--megabytes 1024]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from airgap.bundle.create import create, payload_names, read_payload
from airgap.bundle.verify import verify
from airgap.findings import Location
from airgap.signing.minisign import SecretKey
from airgap.signing.trust import Trusted
from airgap.validate.engine import FileReport, Validator
from benchmarks.fleet import write_fleet


class NoValidation(Validator):
    """Leaves validation out of the bundle timings (it has its own line)."""

    def validate(self, data: bytes, path: str, member: tuple[str, ...] = ()) -> FileReport:
        return FileReport(Location(path, member), None)


def timed(label: str, action: object) -> float:
    start = time.perf_counter()
    if callable(action):
        action()
    else:
        subprocess.run(action, check=True, shell=True, stdout=subprocess.DEVNULL)  # type: ignore[arg-type]
    wall = time.perf_counter() - start
    print(f"{label:58} {wall:8.2f} s")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1024)
    args = parser.parse_args()
    for tool in ("minisign", "sha256sum", "tar"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed")
    work = Path(tempfile.mkdtemp(prefix="airgap-bundle-bench-"))
    try:
        files = max(1, args.megabytes * 1_000_000 // 106_000)  # ~106 kB per usage file
        payload = work / "payload"
        write_fleet(payload, files, 50)
        size = sum(p.stat().st_size for p in payload.iterdir())
        print(f"payload: {files} usage files, {size / 1e6:.0f} MB; {os.cpu_count()} cores")
        key = SecretKey.generate()
        (work / "k.key").write_text(key.text(None))
        (work / "k.pub").write_text(key.public.text())
        os.environ["MINISIGN_CONFIG_DIR"] = str(work)

        stock_create = timed(
            "stock create: sha256sum + tar czf + minisign -S",
            f"cd {work} && sha256sum payload/* > manifest && tar czf stock.tar.gz payload "
            f"manifest && minisign -S -s k.key -m stock.tar.gz </dev/null",
        )
        out = work / "airgap.tar.gz"

        def airgap_create() -> None:
            items = [read_payload(n, s) for n, s in payload_names([payload])]
            create(out, items, key, direction="outbound", answers=None, epoch=1_700_000_000)

        ours_create = timed("airgap create (hash, bag, tar.gz, sign)", airgap_create)
        stock_verify = timed(
            "stock verify: minisign -V + tar xzf + sha256sum -c",
            f"cd {work} && minisign -V -p k.pub -m stock.tar.gz && mkdir -p x && "
            f"tar xzf stock.tar.gz -C x && cd x && sha256sum -c --quiet manifest",
        )

        def airgap_verify() -> None:
            staging = Path(tempfile.mkdtemp(dir=work))
            result = verify(out, Trusted({key.public.id: key.public}, {}), staging, NoValidation())
            assert not result.problems, result.problems

        ours_verify = timed("airgap verify (stage, signature, bag, manifests)", airgap_verify)
        timed(
            "airgap validate of the payload (its own line)",
            f"{sys.executable} -m airgap validate {payload}",
        )
        print(
            f"ratio create {ours_create / stock_create:.2f}x, "
            f"verify {ours_verify / stock_verify:.2f}x (goal: 1.3x)"
        )
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
