"""Build usage-file XML from Python values, the way devices and Cisco's sample code write it."""

from __future__ import annotations

import base64
import json
from typing import Any

SIG32 = base64.b64encode(bytes(range(32))).decode()


def sudi(pid: str = "C9300-24UX", sn: str = "FOC9999X0AA") -> dict[str, str]:
    return {"udi_pid": pid, "udi_serial_number": sn}


def payload(
    report_id: int = 1700000001,
    *,
    layout: str = "v1",
    pid: str = "C9300-24UX",
    sn: str = "FOC9999X0AA",
    start: int = 1700000000,
    end: int = 1700003600,
    interval: int | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    measurement = {
        "log_time": end,
        "metric_name": "ENTITLEMENT",
        "start_time": start,
        "end_time": end,
        "sample_interval": end - start if interval is None else interval,
        "num_samples": 2,
        "meta": {"termination_reason": "CurrentUsageRequested"},
        "value": {"type": "COUNT", "value": "1"},
    }
    asset = {
        "asset": {"name": "regid.2017-03.com.cisco.C9300,1.0_0b8b1a43-0000-4000-8000-1"},
        "instance": {"sudi": sudi(pid, sn)},
    }
    meta: dict[str, Any] = {
        "entitlement_tag": "regid.2017-05.com.cisco.c9300_dna_advantage,1.0_x",
        "software_version": "17.06.05",
    }
    body: dict[str, Any]
    if layout == "v1":
        meta["report_id"] = report_id
        body = {"asset_identification": asset, "meta": meta, "measurements": [measurement]}
    else:
        body = {
            "version": layout,
            "asset_identification": {"report_id": report_id, **asset},
            "meta": meta,
            "measurements": [measurement],
        }
    body.update(extra or {})
    return body


def envelope(
    payload_text: str,
    *,
    pid: str = "C9300-24UX",
    sn: str = "FOC9999X0AA",
    value: str = SIG32,
    header: bool = True,
) -> str:
    env: dict[str, Any] = {"payload": payload_text}
    if header:
        env["header"] = {"type": "rum"}
    env["signature"] = {
        "sudi": sudi(pid, sn),
        "signing_type": "builtin",
        "key": "regid.2017-03.com.cisco.C9300,1.0_x",
        "value": value,
    }
    return json.dumps(env)


def usage_xml(
    *envelopes: str,
    declaration: bool = False,
    pretty: bool = False,
    system_info: dict[str, Any] | None = None,
) -> bytes:
    sep = "\n  " if pretty else ""
    parts = []
    if system_info is not None:
        parts.append(
            "<smartLicenseSystemInfo><data>"
            + json.dumps(system_info)
            + "</data></smartLicenseSystemInfo>"
        )
    parts += [f"<RUMReport><![CDATA[{e}]]></RUMReport>" for e in envelopes]
    body = "<smartLicense>" + sep + sep.join(parts) + ("\n" if pretty else "") + "</smartLicense>"
    prefix = '<?xml version="1.0" encoding="UTF-8"?>\n' if declaration else ""
    return (prefix + body).encode()


def report_xml(p: dict[str, Any] | None = None, **kwargs: Any) -> bytes:
    """A whole usage file holding one report built from ``payload``'s arguments."""
    return usage_xml(envelope(json.dumps(p or payload())), **kwargs)
