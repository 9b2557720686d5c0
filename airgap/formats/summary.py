"""What ``airgap inspect`` tells about a file: who, what, when, and which site data it carries.

Every summary has the same top-level keys whatever the kind, so scripts can rely on them:
``devices``, ``report_ids``, ``entitlement_tags``, ``measurements``, ``policy``, ``accounts``,
``hostnames``; kind-specific detail follows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airgap.formats import showcli
from airgap.formats.common import EmbeddedJson, Udi, dig, find_key
from airgap.formats.imports import ImportFile, SlacRequest
from airgap.formats.usage import UsageFile

if TYPE_CHECKING:
    from airgap.archive import Member

_CAPTURE_UDI = re.compile(r"PID:\s*(?P<pid>[^,\s]+),\s*SN:\s*(?P<sn>[^,\s]+)")
_PROMPT = re.compile(r"^(?P<host>[\w.\-]+)[#>]\s*sh", re.IGNORECASE)


def _base(kind: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "devices": [],
        "report_ids": [],
        "entitlement_tags": [],
        "measurements": None,
        "policy": None,
        "accounts": [],
        "hostnames": [],
    }


def _devices(udis: list[Udi | None]) -> list[dict[str, str]]:
    return [u.to_dict() for u in sorted({u for u in udis if u is not None})]


def _hostnames(*items: EmbeddedJson | None) -> list[str]:
    names: set[str] = set()
    for item in items:
        if item is not None and item.ok:
            names.update(n for n in find_key(item.value, "hostname") if isinstance(n, str) and n)
    return sorted(names)


def usage(kind: str, doc: UsageFile) -> dict[str, Any]:
    """Devices, report ids, licenses and measurement ranges of a usage file or fragment, in
    one pass over its reports (none kept decoded: a large file stays small in memory)."""
    result = _base(kind)
    system_udi = Udi.from_sudi(dig(doc.system_info.value if doc.system_info else None, "sudi"))
    udis, hostnames, reports, measured = [system_udi], set(_hostnames(doc.system_info)), [], []
    for r in doc.iter_reports():
        udis.append(r.udi)
        hostnames.update(_hostnames(r.payload))
        reports.append(r.to_dict())
        measured += r.measurements
    starts = [m.start_time for m in measured if m.start_time is not None]
    ends = [m.end_time for m in measured if m.end_time is not None]
    result.update(
        devices=_devices(udis),
        report_ids=sorted({r["report_id"] for r in reports if r["report_id"] is not None}),
        entitlement_tags=sorted({r["entitlement_tag"] for r in reports if r["entitlement_tag"]}),
        measurements={
            "count": len(measured),
            "start": min(starts, default=None),
            "end": max(ends, default=None),
            "values": [m.value for m in measured],
        },
        hostnames=sorted(hostnames),
        reports=reports,
        layouts=sorted({r["layout"] for r in reports if r["layout"]}),
    )
    return result


def import_file(kind: str, doc: ImportFile) -> dict[str, Any]:
    """Parts, devices, licenses, policy and accounts of an import or policy file."""
    result = _base(kind)
    accounts = {(a.smart_account, a.virtual_account) for a in doc.authorizations}
    accounts |= {(a.smart_account, a.virtual_account) for a in doc.account_infos}
    result.update(
        devices=_devices([a.udi for a in doc.authorizations]),
        entitlement_tags=sorted(
            {e.tag for a in doc.authorizations for e in a.entitlements if e.tag}
        ),
        policy=doc.policies[-1].to_dict() if doc.policies else None,
        accounts=[
            {"smart_account": sa, "virtual_account": va}
            for sa, va in sorted(accounts, key=lambda pair: (pair[0] or "", pair[1] or ""))
        ],
        parts=doc.parts,
        unknown_parts=[tag for tag, _ in doc.unknown_parts],
        authorizations=[a.to_dict() for a in doc.authorizations],
        rum_acks=[
            {"line": ack.line, "entries": len(ack.value) if isinstance(ack.value, list) else None}
            for ack in doc.rum_acks
        ],
        correlation_ids=doc.correlation_ids,
    )
    return result


def slac_request(kind: str, doc: SlacRequest) -> dict[str, Any]:
    """Devices asking for authorization, and the hostnames the request would carry out."""
    result = _base(kind)
    udis = [Udi.from_sudi(sudi) for r in doc.requests if r.ok for sudi in find_key(r.value, "sudi")]
    udis.append(Udi.from_sudi(dig(doc.system_info.value if doc.system_info else None, "sudi")))
    result.update(devices=_devices(udis), hostnames=_hostnames(doc.system_info, *doc.requests))
    return result


def capture(kind: str, text: str) -> dict[str, Any]:
    """The commands a capture holds, the devices it names and the prompt's hostname."""
    result = _base(kind)
    udis = [Udi(m["pid"], m["sn"]) for m in _CAPTURE_UDI.finditer(text)]
    hosts = sorted({m["host"] for line in text.splitlines() if (m := _PROMPT.match(line.strip()))})
    result.update(
        devices=_devices(list(udis)),
        hostnames=hosts,
        commands=[{"line": line, "kind": k} for line, k in showcli.commands_in(text)],
    )
    return result


def archive(name: str, members: Sequence[Member]) -> dict[str, Any]:
    """What an archive is as a whole, from the members the archive walker read from it: a
    CSLU upload archive (its smart account and virtual accounts), a CSSM ACK archive, an
    airgap bundle (its id and direction, unverified), or a plain archive. Its files are
    summarised one by one besides."""
    from airgap.errors import AirgapError
    from airgap.formats import cslu

    try:
        unpacked: cslu.Unpacked | None = cslu.from_members(name, members)
    except AirgapError:
        unpacked = None
    if unpacked is not None and unpacked.kind == cslu.UPLOAD:
        manifest = unpacked.manifest
        result = _base(unpacked.kind)
        result.update(
            accounts=[
                {
                    "smart_account": manifest.smart_account if manifest else None,
                    "virtual_account": va,
                }
                for va in sorted({f.virtual_account for f in unpacked.files if f.virtual_account})
            ],
            files=len([f for f in unpacked.files if len(f.parts) > 1]),
        )
        return result
    if unpacked is not None:
        return _base(unpacked.kind)
    for member in members:
        if len(member.parts) == 2 and member.name.endswith("/bag-info.txt"):
            info = _bag_info(member.data.decode("utf-8", errors="replace"))
            result = _base("bundle")
            result.update(
                bundle_id=info.get("Airgap-Bundle-Id"),
                direction=info.get("Airgap-Direction"),
                contents=info.get("Airgap-Contents"),
                verified=False,
            )
            return result
    return _base("archive")


def _bag_info(text: str) -> dict[str, str]:
    """``bag-info.txt`` fields, as :func:`airgap.bundle.bag.parse_info` reads them (formats
    sit below bundle, so the few lines are not imported from there)."""
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info
