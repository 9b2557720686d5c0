"""Files imported on a device with ``license smart import``: ACKs, SLACs and policies.

CSSM writes one ``<smartLicense>`` element holding any subset of: an authorization code (SLAC),
a policy, a RUM acknowledgement, account information and a correlation id. Element names for
some ACK types are not public, so parts airgap does not know are kept and reported, never
dropped. A policy may also come alone, as a file whose root is ``<smartLicensePolicy>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from airgap.formats.common import EmbeddedJson, PickledByCall, Udi, element_text
from airgap.formats.usage import read_data

AUTHORIZATION = "smartLicenseAuthorization"
POLICY = "smartLicensePolicy"
RUM_ACK = "smartLicenseRumAck"
ACCOUNT_INFO = "smartLicenseAccountInfo"
CORRELATION_ID = "correlationID"
POLICY_BLOCKS = ("subscription", "perpetual", "enforced", "export", "generic")
POLICY_TERMS = ("firstTimeReport", "onGoingReporting", "reportOnMACD")

_SLAC_UDI = re.compile(r"P:(?P<pid>[^,]+),S:(?P<sn>.+)")


def _text(element: Any, path: str) -> str | None:
    found = _find(element, path)
    return element_text(found).strip() if found is not None else None


def _find(element: Any, path: str) -> Any:
    """What ``element.find(path)`` finds for a path of plain child names (``a/b``): the first
    match in file order. A walk over the children a level at a time, not through lxml's
    ElementPath, which takes most of the time of reading an import file."""
    first, _, rest = path.partition("/")
    for child in element.iterchildren():
        if child.tag == first:
            found = _find(child, rest) if rest else child
            if found is not None:
                return found
    return None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Entitlement(PickledByCall):
    """One license a SLAC authorises."""

    tag: str | None
    count: int | None
    license_type: str | None
    display_name: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``inspect``."""
        return {
            "tag": self.tag,
            "count": self.count,
            "license_type": self.license_type,
            "display_name": self.display_name,
        }


@dataclass(frozen=True, slots=True)
class Authorization(PickledByCall):
    """A Smart Licensing Authorization Code (SLAC) for one device."""

    line: int
    udi_text: str | None
    udi: Udi | None
    smart_account: str | None
    virtual_account: str | None
    date_stamp: str | None
    entitlements: list[Entitlement]

    @classmethod
    def read(cls, element: Any) -> Authorization:
        """Read ``<smartLicenseAuthorization>``; ``<udi>`` is in the ``P:<pid>,S:<sn>`` form."""
        udi_text = _text(element, "udi")
        match = _SLAC_UDI.fullmatch(udi_text or "")
        code = _find(element, "authorizationCode")
        code = code if code is not None else element
        return cls(
            line=element.sourceline or 0,
            udi_text=udi_text,
            udi=Udi(match["pid"], match["sn"]) if match else None,
            smart_account=_text(code, "customerInfo/smartAccount"),
            virtual_account=_text(code, "customerInfo/virtualAccount"),
            date_stamp=_text(code, "dateStamp"),
            entitlements=[
                Entitlement(
                    _text(e, "tag"),
                    _int(_text(e, "count")),
                    _text(e, "licenseType"),
                    _text(e, "displayName"),
                )
                for e in code.iterfind("entitlements/entitlement")
            ],
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``inspect``."""
        return {
            "line": self.line,
            "udi": self.udi.to_dict() if self.udi else None,
            "udi_raw": self.udi_text,
            "smart_account": self.smart_account,
            "virtual_account": self.virtual_account,
            "date_stamp": self.date_stamp,
            "entitlements": [e.to_dict() for e in self.entitlements],
        }


@dataclass(frozen=True, slots=True)
class Policy(PickledByCall):
    """A reporting policy: per license kind, days to the first report, between reports, and
    after a change."""

    line: int
    name: str | None
    version: str | None
    datestamp: str | None
    ack_required: bool | None
    terms: dict[str, dict[str, int | None]]

    @classmethod
    def read(cls, element: Any) -> Policy:
        """Read ``<smartLicensePolicy>`` (inside an import file or alone)."""
        code = _find(element, "policyCode")
        code = code if code is not None else element
        ack = (_text(code, "ackRequired") or "").lower()
        blocks: dict[str, list[Any]] = {}  # each block's elements, in file order
        for child in code.iterchildren():
            if child.tag in POLICY_BLOCKS:
                blocks.setdefault(child.tag, []).append(child)
        terms = {block: _terms(blocks[block]) for block in POLICY_BLOCKS if block in blocks}
        return cls(
            line=element.sourceline or 0,
            name=_text(code, "name"),
            version=_text(code, "version"),
            datestamp=_text(code, "datestamp"),
            ack_required={"yes": True, "no": False}.get(ack),
            terms=terms,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``inspect``."""
        return {
            "line": self.line,
            "name": self.name,
            "version": self.version,
            "datestamp": self.datestamp,
            "ack_required": self.ack_required,
            "terms": self.terms,
        }


def _terms(blocks: list[Any]) -> dict[str, int | None]:
    """A policy block's terms, each the first one found in file order, as ``find`` of
    ``<block>/<term>`` would give it: one pass over the children instead of a search a term."""
    found: dict[str, str] = {}
    for block in blocks:
        for child in block.iterchildren():
            if child.tag in POLICY_TERMS and child.tag not in found:
                found[child.tag] = element_text(child).strip()
    return {term: _int(found.get(term)) for term in POLICY_TERMS}


@dataclass(frozen=True, slots=True)
class AccountInfo(PickledByCall):
    """The Smart Account and Virtual Account a device belongs to."""

    line: int
    smart_account: str | None
    virtual_account: str | None
    smart_account_domain: str | None
    timestamp_ms: int | None

    @classmethod
    def read(cls, element: Any) -> AccountInfo:
        """Read ``<smartLicenseAccountInfo>``."""
        return cls(
            line=element.sourceline or 0,
            smart_account=_text(element, "customerInfo/smartAccount"),
            virtual_account=_text(element, "customerInfo/virtualAccount"),
            smart_account_domain=_text(element, "customerInfo/smartAccountDomain"),
            timestamp_ms=_int(_text(element, "customerInfo/timestamp")),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``inspect``."""
        return {
            "line": self.line,
            "smart_account": self.smart_account,
            "virtual_account": self.virtual_account,
            "smart_account_domain": self.smart_account_domain,
            "timestamp_ms": self.timestamp_ms,
        }


@dataclass(frozen=True, slots=True)
class ImportFile(PickledByCall):
    """An import file: its parts in file order, known ones decoded, unknown ones named."""

    authorizations: list[Authorization] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    rum_acks: list[EmbeddedJson] = field(default_factory=list)
    account_infos: list[AccountInfo] = field(default_factory=list)
    correlation_ids: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    unknown_parts: list[tuple[str, int]] = field(default_factory=list)
    # The RUM ACK entries alone, when a summary keeps them instead of the RUM ACK data
    # (``rum_entries`` then gives these): a few dozen bytes an entry, not a JSON object each.
    entries: tuple[AckEntry, ...] | None = None

    @property
    def devices(self) -> list[Udi]:
        """The devices the SLAC parts name (``<udi>``): SEEN evidence of whom the ACK is for."""
        return [a.udi for a in self.authorizations if a.udi is not None]


def read_import(root: Any) -> ImportFile:
    """Read a parsed import file, or a policy file (root ``<smartLicensePolicy>``)."""
    result = ImportFile()
    children = [root] if root.tag == POLICY else root.iterchildren("*")
    for child in children:
        tag = str(child.tag)
        result.parts.append(tag)
        if tag == AUTHORIZATION:
            result.authorizations.append(Authorization.read(child))
        elif tag == POLICY:
            result.policies.append(Policy.read(child))
        elif tag == RUM_ACK:
            result.rum_acks.append(read_data(child))
        elif tag == ACCOUNT_INFO:
            result.account_infos.append(AccountInfo.read(child))
        elif tag == CORRELATION_ID:
            result.correlation_ids.append(element_text(child).strip())
        else:
            result.unknown_parts.append((tag, child.sourceline or 0))
    return result


@dataclass(frozen=True)
class SlacRequest:
    """A SLAC request file, written by ``license smart authorization request save``."""

    system_info: EmbeddedJson | None
    requests: list[EmbeddedJson]
    other_children: list[tuple[str, int]]


def read_slac_request(root: Any) -> SlacRequest:
    """Read a parsed SLAC request: system info plus the authorization request data."""
    system_info: EmbeddedJson | None = None
    requests: list[EmbeddedJson] = []
    others: list[tuple[str, int]] = []
    for child in root.iterchildren("*"):
        if child.tag == "smartLicenseSystemInfo" and system_info is None:
            system_info = read_data(child)
        elif child.tag == "smartLicenseAuthRequest":
            requests.append(read_data(child))
        else:
            others.append((str(child.tag), child.sourceline or 0))
    return SlacRequest(system_info, requests, others)


# RUM ACK statuses read as "acknowledged"; the keys and values are not public (INFERRED).
ACK_STATUSES = frozenset({"ACK", "ACKED", "ACKNOWLEDGED", "SUCCESS"})


@dataclass(frozen=True, slots=True)
class AckEntry(PickledByCall):
    """One report a RUM ACK lists: its id, the device named for it, its status."""

    report_id: int
    udi: Udi | None
    status: str | None

    @property
    def acknowledges(self) -> bool:
        """True unless a status says otherwise."""
        return self.status is None or self.status.upper() in ACK_STATUSES


def _report_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return (
        int(value)
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit()
        else None
    )  # "²" is a digit to isdigit, not to int


def rum_entries(doc: ImportFile) -> Iterator[AckEntry]:
    """Every object in the RUM ACK data that names a report id, in file order (the entries a
    summary kept, when it did). Those keys are not public: anything matched on them is
    INFERRED."""
    return iter(doc.entries) if doc.entries is not None else _rum_entries(doc)


def _rum_entries(doc: ImportFile) -> Iterator[AckEntry]:
    stack: list[Any] = [ack.value for ack in reversed(doc.rum_acks) if ack.ok]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            rid = _report_id(item.get("report_id", item.get("reportId")))
            if rid is None:
                stack.extend(reversed(list(item.values())))
                continue
            status = item.get("status")
            yield AckEntry(
                rid,
                Udi.from_sudi(item.get("udi", item.get("sudi"))),
                status if isinstance(status, str) else None,
            )
