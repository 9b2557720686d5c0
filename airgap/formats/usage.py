"""Usage (RUM) files, written on a device by ``license smart save usage``.

A usage file is ``<smartLicense>`` holding ``<RUMReport>`` elements, each a JSON envelope in
CDATA whose ``payload`` is itself JSON *as a string*. That string is what the device signed, so
it is kept exactly as read: airgap parses it to look inside, and never writes it back.
Both payload layouts are read: v1 (``meta.report_id``) and v2.0 (``version: "2.0"``,
``asset_identification.report_id``). A bare ``<RUMReport>`` element is read as a fragment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from airgap.formats.common import EmbeddedJson, Udi, dig, element_text

T = TypeVar("T")
REPORT = "RUMReport"
SYSTEM_INFO = "smartLicenseSystemInfo"


def _typed(value: Any, kind: type[T]) -> T | None:
    """``value`` when it has the JSON type ``kind`` (a bool is not an int), else None."""
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Measurement:
    """One measurement of a RUM report: a count over a time range."""

    metric_name: str | None
    start_time: int | None
    end_time: int | None
    sample_interval: int | None
    num_samples: int | None
    log_time: int | None
    value_type: str | None
    value: str | None
    meta: dict[str, Any]

    @classmethod
    def from_json(cls, item: Any) -> Measurement:
        """Read one entry of ``measurements``, tolerating wrong types (validation reports them)."""
        if not isinstance(item, dict):
            item = {}
        value = item.get("value")
        if not isinstance(value, dict):
            value = {}
        meta = item.get("meta")
        return cls(
            metric_name=_typed(item.get("metric_name"), str),
            start_time=_typed(item.get("start_time"), int),
            end_time=_typed(item.get("end_time"), int),
            sample_interval=_typed(item.get("sample_interval"), int),
            num_samples=_typed(item.get("num_samples"), int),
            log_time=_typed(item.get("log_time"), int),
            value_type=_typed(value.get("type"), str),
            value=_typed(value.get("value"), str),
            meta=meta if isinstance(meta, dict) else {},
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``inspect``."""
        return {
            "metric_name": self.metric_name,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "sample_interval": self.sample_interval,
            "num_samples": self.num_samples,
            "value_type": self.value_type,
            "value": self.value,
        }


@dataclass(frozen=True)
class RumReport:
    """One ``<RUMReport>``: its envelope and its payload, each decoded when it could be."""

    line: int
    envelope: EmbeddedJson
    payload: EmbeddedJson | None  # None when the envelope has no payload string

    @property
    def payload_text(self) -> str | None:
        """The signed payload string, exactly as the device wrote it."""
        return self.payload.text if self.payload else None

    @cached_property
    def layout(self) -> str | None:
        """``"v1"``, ``"2.0"`` or whatever ``version`` the payload declares."""
        if self.payload is None or not isinstance(self.payload.value, dict):
            return None
        version = self.payload.value.get("version")
        return "v1" if version is None else str(version)

    @cached_property
    def report_id(self) -> int | None:
        """The report id, from where the payload's layout keeps it."""
        data = self.payload.value if self.payload else None
        found = (dig(data, "meta", "report_id") if self.layout == "v1"
                 else dig(data, "asset_identification", "report_id"))
        return found if isinstance(found, int) and not isinstance(found, bool) else None

    @cached_property
    def udi(self) -> Udi | None:
        """The device the payload says it measured (``asset_identification.instance.sudi``)."""
        data = self.payload.value if self.payload else None
        return Udi.from_sudi(dig(data, "asset_identification", "instance", "sudi"))

    @cached_property
    def signer(self) -> Udi | None:
        """The device the envelope says signed the payload (``signature.sudi``)."""
        return Udi.from_sudi(dig(self.envelope.value, "signature", "sudi"))

    @cached_property
    def signature_value(self) -> Any:
        """The envelope's ``signature.value`` as found (normally base64 of 32 bytes)."""
        return dig(self.envelope.value, "signature", "value")

    @cached_property
    def entitlement_tag(self) -> str | None:
        """The license's regid tag."""
        tag = dig(self.payload.value if self.payload else None, "meta", "entitlement_tag")
        return tag if isinstance(tag, str) else None

    @cached_property
    def product_tag(self) -> str | None:
        """The product's regid tag (``asset_identification.asset.name``)."""
        data = self.payload.value if self.payload else None
        tag = dig(data, "asset_identification", "asset", "name")
        return tag if isinstance(tag, str) else None

    @cached_property
    def software_version(self) -> str | None:
        """The software release the device ran."""
        version = dig(self.payload.value if self.payload else None, "meta", "software_version")
        return version if isinstance(version, str) else None

    @cached_property
    def measurements(self) -> list[Measurement]:
        """The measurements, in file order."""
        items = dig(self.payload.value if self.payload else None, "measurements")
        return [Measurement.from_json(m) for m in items] if isinstance(items, list) else []

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``inspect``."""
        measurements = self.measurements
        return {
            "line": self.line,
            "report_id": self.report_id,
            "udi": self.udi.to_dict() if self.udi else None,
            "layout": self.layout,
            "product_tag": self.product_tag,
            "entitlement_tag": self.entitlement_tag,
            "software_version": self.software_version,
            "measurements": [m.to_dict() for m in measurements],
        }


@dataclass(frozen=True)
class UsageFile:
    """A usage file, or a bare ``<RUMReport>`` element when ``fragment`` is true."""

    reports: list[RumReport]
    system_info: EmbeddedJson | None = None
    fragment: bool = False
    other_children: list[tuple[str, int]] = field(default_factory=list)


def read_report(element: Any) -> RumReport:
    """Decode one ``<RUMReport>`` element's envelope, then its payload string."""
    envelope = EmbeddedJson.decode(element_text(element), element.sourceline or 0)
    text = dig(envelope.value, "payload")
    payload = EmbeddedJson.decode(text, envelope.line) if isinstance(text, str) else None
    return RumReport(line=envelope.line, envelope=envelope, payload=payload)


def read_usage(root: Any) -> UsageFile:
    """Read a parsed ``<smartLicense>`` usage file, or a bare ``<RUMReport>`` fragment."""
    if root.tag == REPORT:
        return UsageFile(reports=[read_report(root)], fragment=True)
    reports: list[RumReport] = []
    system_info: EmbeddedJson | None = None
    others: list[tuple[str, int]] = []
    for child in root.iterchildren("*"):
        if child.tag == REPORT:
            reports.append(read_report(child))
        elif child.tag == SYSTEM_INFO and system_info is None:
            system_info = read_data(child)
        else:
            others.append((str(child.tag), child.sourceline or 0))
    return UsageFile(reports=reports, system_info=system_info, other_children=others)


def read_data(element: Any) -> EmbeddedJson:
    """Decode the JSON in an element's ``<data>`` child (system info, auth request, RUM ACK)."""
    data = element.find("data")
    target = data if data is not None else element
    return EmbeddedJson.decode(element_text(target), target.sourceline or 0)
