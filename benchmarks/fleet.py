"""Synthetic usage files for benchmarks: many devices, realistic RUM reports (payload layout
2.0), written the way devices write them (one line, no XML declaration)."""

from __future__ import annotations

import base64
import hashlib
import json
import tarfile
from pathlib import Path

PRODUCTS = [
    ("C9300-24UX", "regid.2017-05.com.cisco.C9300,v1_727af1d9-6c39-4444-b301-863f81445b72"),
    ("C8000V", "regid.2019-10.com.cisco.C8000V,1.0_e361c3dc-27c2-4084-b4a4-cae639cff335"),
    ("C9800-CL-K9", "regid.2018-05.com.cisco.WLC_9500C,1.0_85665885-b865-4e32-8184-5510412fcb54"),
]
LICENSES = [
    "regid.2017-03.com.cisco.advantagek9,1.0_bd1da96e-ec1d-412b-a50e-53846b347d53",
    "regid.2018-06.com.cisco.DNA_NWStack,1.0_e7244e71-3ad5-4608-8bf0-d12f67c80896",
    "regid.2019-03.com.cisco.DNA_HSEC,1.0_509c41ab-05a8-431f-95fe-ec28086e8844",
]


def report(device: int, number: int) -> str:
    """One RUM report envelope (JSON text) for device ``device``: three measurements and the
    envelope pretty-printed, the shape of the one real report element that is public."""
    pid, product = PRODUCTS[device % len(PRODUCTS)]
    sudi = {"udi_pid": pid, "udi_serial_number": f"FXS{device:08d}"}
    report_id = 1_700_000_000 + number
    start = 1_700_000_000 + number * 3600
    digest = hashlib.sha256(f"{device}/{number}".encode()).digest()
    payload = {
        "version": "2.0",
        "asset_identification": {
            "report_id": report_id,
            "asset": {"name": product},
            "instance": {"sudi": sudi},
        },
        "signature": {
            "signing_type": "builtin",
            "key": product,
            "value": base64.b64encode(digest[::-1]).decode(),
        },
        "meta": {
            "entitlement_tag": LICENSES[number % len(LICENSES)],
            "utility_enabled": False,
            "software_version": "17.09.04a",
            "ha_udi": [{"role": "Active", "sudi": sudi}],
        },
        "measurements": [measurement(start + 86_400 * k, number + k) for k in range(3)],
    }
    envelope = {
        "payload": json.dumps(payload, separators=(",", ":")),
        "header": {"type": "rum"},
        "signature": {
            "sudi": sudi,
            "signing_type": "builtin",
            "key": product,
            "value": base64.b64encode(digest).decode(),
        },
    }
    return "\n" + json.dumps(envelope, indent=2) + "\n"  # laid out like the field sample


def measurement(start: int, seed: int) -> dict[str, object]:
    """One day of usage, with the AP join list a wireless controller adds (field sample)."""
    end = start + 86_399
    joined = [
        {"udi_pid": "AIR-AP2802I-E-K9", "udi_serial_number": f"FDW{seed:05d}{k}"}
        for k in range(seed % 3)
    ]
    return {
        "log_time": end,
        "metric_name": "ENTITLEMENT",
        "start_time": start,
        "end_time": end,
        "sample_interval": end - start,
        "num_samples": 97,
        "meta": {"removed_sudi_list": [], "added_sudi_list": joined},
        "value": {"type": "COUNT", "value": str(1 + seed % 4)},
    }


def write_fleet(folder: Path, files: int, reports_per_file: int) -> list[Path]:
    """``files`` usage files of ``reports_per_file`` reports each, one device per file."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for device in range(files):
        body = "".join(
            f"<RUMReport><![CDATA[{report(device, n)}]]></RUMReport>"
            for n in range(reports_per_file)
        )
        path = folder / f"dev_{device:05d}.xml"
        path.write_text(f"<smartLicense>{body}</smartLicense>")
        paths.append(path)
    return paths


def write_tar_gz(paths: list[Path], target: Path) -> Path:
    """The same files as one tar.gz, as a CSLU-style upload would carry them."""
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        for path in paths:
            tar.add(path, arcname=path.name)
    return target
