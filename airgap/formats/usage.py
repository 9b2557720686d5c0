"""Usage (RUM) files, written on a device by ``license smart save usage``.

A usage file is ``<smartLicense>`` holding ``<RUMReport>`` elements, each a JSON envelope in
CDATA whose ``payload`` is itself JSON *as a string*. That string is what the device signed, so
it is kept exactly as read: airgap parses it to look inside, and never writes it back.
Both payload layouts are read: v1 (``meta.report_id``) and v2.0 (``version: "2.0"``,
``asset_identification.report_id``). A bare ``<RUMReport>`` element is read as a fragment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple, TypeVar

from airgap.formats.common import EmbeddedJson, Udi, dig, element_text

T = TypeVar("T")
REPORT = "RUMReport"
SYSTEM_INFO = "smartLicenseSystemInfo"
REPORT_ID_MAX = 2**64 - 1  # report ids are unsigned 64-bit integers (epoch-seeded on devices)


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


class RumReport(NamedTuple):
    """One ``<RUMReport>``: its envelope and its payload, each decoded when it could be.

    What validation needs of every report is read once, by :func:`read_report`; the rest is
    looked up when asked for. Immutable: a NamedTuple, like ``EmbeddedJson``, because one is
    built for every report and a frozen dataclass takes three times as long.
    """

    line: int
    envelope: EmbeddedJson
    payload: EmbeddedJson | None  # None when the envelope has no payload string
    layout: str | None  # "v1", "2.0" or whatever ``version`` the payload declares
    report_id: int | None  # from where the payload's layout keeps it; None unless valid
    udi: Udi | None  # the device measured: ``asset_identification.instance.sudi``
    signer: Udi | None  # the device that signed: the envelope's ``signature.sudi``
    signature_value: Any  # the envelope's ``signature.value`` as found (base64 of 32 bytes)

    @property
    def payload_text(self) -> str | None:
        """The signed payload string, exactly as the device wrote it."""
        return self.payload.text if self.payload else None

    @property
    def entitlement_tag(self) -> str | None:
        """The license's regid tag."""
        tag = dig(self._data, "meta", "entitlement_tag")
        return tag if isinstance(tag, str) else None

    @property
    def product_tag(self) -> str | None:
        """The product's regid tag (``asset_identification.asset.name``)."""
        tag = dig(self._data, "asset_identification", "asset", "name")
        return tag if isinstance(tag, str) else None

    @property
    def software_version(self) -> str | None:
        """The software release the device ran."""
        version = dig(self._data, "meta", "software_version")
        return version if isinstance(version, str) else None

    @property
    def measurements(self) -> list[Measurement]:
        """The measurements, in file order."""
        items = dig(self._data, "measurements")
        return [Measurement.from_json(m) for m in items] if isinstance(items, list) else []

    @property
    def _data(self) -> Any:
        return self.payload.value if self.payload else None

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
    """A usage file, or a bare ``<RUMReport>`` element when ``fragment`` is true.

    Its reports are decoded from ``elements`` when asked for: :attr:`reports` reads them all
    once and keeps them; :meth:`iter_reports` reads one at a time and keeps none, so memory
    stays flat however large the file (validation, reconcile).
    """

    elements: tuple[Any, ...]  # the <RUMReport> elements, in file order
    system_info: EmbeddedJson | None = None
    fragment: bool = False
    other_children: list[tuple[str, int]] = field(default_factory=list)

    @cached_property
    def reports(self) -> list[RumReport]:
        """Every report, decoded once and kept."""
        return list(self.iter_reports())

    def iter_reports(self) -> Iterator[RumReport]:
        """Every report, decoded as it comes and not kept."""
        return map(read_report, self.elements)

    def iter_refs(self) -> Iterator[tuple[Udi | None, int | None]]:
        """Every report's (UDI, report id), as :meth:`iter_reports` reads them."""
        return map(report_ref, self.elements)


def read_report(element: Any) -> RumReport:
    """Decode one ``<RUMReport>`` element's envelope, then its payload string."""
    line = element.sourceline or 0
    envelope = EmbeddedJson.decode(element_text(element), line)
    top = _object(envelope.value)
    signature = _object(top.get("signature"))
    text = top.get("payload")
    payload = EmbeddedJson.decode(text, line) if isinstance(text, str) else None
    layout, report_id, sudi = _identity(payload.value if payload is not None else None)
    udi = Udi.from_sudi(sudi)
    signed_by = signature.get("sudi")
    signer = udi if signed_by == sudi else Udi.from_sudi(signed_by)  # most often the same device
    return RumReport(
        line, envelope, payload, layout, report_id, udi, signer, signature.get("value")
    )


def report_ref(element: Any) -> tuple[Udi | None, int | None]:
    """The (UDI, report id) :func:`read_report` reads from one ``<RUMReport>`` element, at a
    fraction of its cost: only the JSON values are decoded (``reconcile`` reads no more)."""
    top = _object(EmbeddedJson.value_of(element_text(element)))
    text = top.get("payload")
    _, report_id, sudi = _identity(EmbeddedJson.value_of(text) if isinstance(text, str) else None)
    return Udi.from_sudi(sudi), report_id


def _identity(data: Any) -> tuple[str | None, int | None, Any]:
    """A decoded payload's layout, report id and measured device's ``sudi`` object; all None
    when the payload is no JSON object."""
    if not isinstance(data, dict):
        return None, None, None
    version = data.get("version")
    layout = "v1" if version is None else str(version)
    found = raw_report_id(data, layout)
    # an int, not a bool, nor a float such as 1696420871.0 or 1.7e9 (which JSON Schema's
    # "integer" accepts), in the range a device counts in
    report_id = found if type(found) is int and 0 <= found <= REPORT_ID_MAX else None
    sudi = _object(_object(data.get("asset_identification")).get("instance")).get("sudi")
    return layout, report_id, sudi


def raw_report_id(data: dict[str, Any], layout: str) -> Any:
    """The report id as a payload holds it, where its layout keeps it; None when absent."""
    where = data.get("meta") if layout == "v1" else data.get("asset_identification")
    return _object(where).get("report_id")


def _object(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (a missing or mistyped part)."""
    return value if isinstance(value, dict) else {}


def read_usage(root: Any) -> UsageFile:
    """Read a parsed ``<smartLicense>`` usage file, or a bare ``<RUMReport>`` fragment; the
    reports are decoded when asked for."""
    if root.tag == REPORT:
        return UsageFile(elements=(root,), fragment=True)
    elements = []
    system_info: EmbeddedJson | None = None
    others: list[tuple[str, int]] = []
    for child in root.iterchildren("*"):
        if child.tag == REPORT:
            elements.append(child)
        elif child.tag == SYSTEM_INFO and system_info is None:
            system_info = read_data(child)
        else:
            others.append((str(child.tag), child.sourceline or 0))
    return UsageFile(elements=tuple(elements), system_info=system_info, other_children=others)


def read_data(element: Any) -> EmbeddedJson:
    """Decode the JSON in an element's ``<data>`` child (system info, auth request, RUM ACK)."""
    data = element.find("data")
    target = data if data is not None else element
    return EmbeddedJson.decode(element_text(target), target.sourceline or 0)
