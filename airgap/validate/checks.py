"""Semantic rules over what the readers found, one small function per concern.

Each check yields :class:`Hit` values (rule id, line, message); the engine turns them into
findings at the level in force. Checks never raise on bad content: that is what they report.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, replace

from airgap.formats.common import EmbeddedJson, dig, find_key
from airgap.formats.imports import ImportFile, SlacRequest
from airgap.formats.usage import RumReport, UsageFile
from airgap.lab import LAB_DOMAIN
from airgap.validate import jsonschemas

KNOWN_LAYOUTS = ("v1", "2.0")
SIGNATURE_BYTES = 32


@dataclass(frozen=True)
class Hit:
    """A rule that fired, where, and why."""

    rule: str
    line: int | None
    message: str


def embedded_json(item: EmbeddedJson, what: str, schema: str | None) -> Iterator[Hit]:
    """JSON syntax, then the JSON Schema, of one embedded JSON document."""
    if not item.ok:
        yield Hit("json-syntax", item.line, f"{what} is not valid JSON: {item.error}")
    elif schema and (problem := jsonschemas.violation(schema, item.value)):
        yield Hit("json-schema", item.line, f"{what}: {problem}")


def hostnames(item: EmbeddedJson | None, what: str) -> Iterator[Hit]:
    """Every non-empty ``hostname`` value anywhere in an outbound file's JSON."""
    if item is None or not item.ok or ("hostname" not in item.text and "\\" not in item.text):
        return  # the key cannot be there: skip the walk (an escape could spell it otherwise)
    for name in find_key(item.value, "hostname"):
        if isinstance(name, str) and name.strip():
            yield Hit("hostname-present", item.line, f"{what} carries hostname {name!r}")


def report(rum: RumReport) -> Iterator[Hit]:
    """Every rule that looks at one RUM report on its own."""
    yield from embedded_json(rum.envelope, "RUM report envelope", jsonschemas.ENVELOPE)
    if rum.payload is None:
        return
    layout, payload = rum.layout, rum.payload
    if layout is not None and layout not in KNOWN_LAYOUTS:
        yield Hit("payload-version", rum.line,
                  f"payload layout version {layout!r} is unknown; checked as 2.0")
        payload = replace(payload, value={**payload.value, "version": "2.0"})
    schema = jsonschemas.PAYLOAD_V1 if layout == "v1" else jsonschemas.PAYLOAD_V2
    yield from embedded_json(payload, "RUM report payload", schema)
    if not rum.envelope.ok or not rum.payload.ok:
        return
    yield from signer(rum)
    yield from signature_value(rum)
    yield from measurements(rum)
    yield from hostnames(rum.payload, "RUM report payload")


def signer(rum: RumReport) -> Iterator[Hit]:
    """The envelope's signing sudi must be the device the payload measured."""
    if rum.signer and rum.udi and rum.signer != rum.udi:
        yield Hit("sudi-mismatch", rum.line,
                  f"report {rum.report_id}: signed by {rum.signer} but the payload is for "
                  f"{rum.udi}")


def signature_value(rum: RumReport) -> Iterator[Hit]:
    """The envelope's signature value must be base64 of exactly 32 bytes."""
    value = rum.signature_value
    if not isinstance(value, str):
        return  # the envelope schema reports a missing or non-string value
    try:
        size = len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        yield Hit("signature-value", rum.line,
                  f"report {rum.report_id}: signature value is not base64")
        return
    if size != SIGNATURE_BYTES:
        yield Hit("signature-value", rum.line,
                  f"report {rum.report_id}: signature value is {size} bytes, not "
                  f"{SIGNATURE_BYTES}")


def measurements(rum: RumReport) -> Iterator[Hit]:
    """Each measurement's time range is ordered and its sample interval adds up.

    Reads the decoded payload directly: this runs for every measurement of every report.
    """
    items = dig(rum.payload.value if rum.payload else None, "measurements")
    for number, m in enumerate(items if isinstance(items, list) else [], start=1):
        if not isinstance(m, dict):
            continue
        start, end, interval = m.get("start_time"), m.get("end_time"), m.get("sample_interval")
        if type(start) is not int or type(end) is not int:  # not bool either
            continue
        if start > end:
            yield Hit("start-after-end", rum.line, f"report {rum.report_id} measurement "
                      f"{number}: start_time {start} is after end_time {end}")
        elif type(interval) is int and interval != end - start:
            yield Hit("sample-interval", rum.line, f"report {rum.report_id} measurement "
                      f"{number}: sample_interval {interval} but end_time - start_time is "
                      f"{end - start}")


def usage_file(doc: UsageFile) -> Iterator[Hit]:
    """Rules for a usage file or fragment as a whole; its reports go through :func:`report`
    one at a time (duplicates are the engine's)."""
    if doc.fragment:
        yield Hit("rum-fragment", 1, "a bare <RUMReport> element; checked as if wrapped in "
                                     "<smartLicense>")
    elif not doc.elements:
        yield Hit("no-reports", 1, "the usage file holds no <RUMReport>")
    if doc.system_info is not None:
        yield from embedded_json(doc.system_info, "system info", jsonschemas.SYSTEM_INFO)
        yield from hostnames(doc.system_info, "system info")


def slac_request(doc: SlacRequest) -> Iterator[Hit]:
    """Rules for a SLAC request: its JSON, and the hostnames it would carry out."""
    if doc.system_info is not None:
        yield from embedded_json(doc.system_info, "system info", jsonschemas.SYSTEM_INFO)
        yield from hostnames(doc.system_info, "system info")
    for request in doc.requests:
        yield from embedded_json(request, "authorization request data",
                                 jsonschemas.SLAC_REQUEST_DATA)
        yield from hostnames(request, "authorization request data")


def import_file(doc: ImportFile) -> Iterator[Hit]:
    """Rules for an import file: unknown parts are kept and named; RUM ACK data decodes."""
    for tag, line in doc.unknown_parts:
        yield Hit("unknown-part", line, f"unknown part <{tag}> kept as it is")
    for ack in doc.rum_acks:
        yield from embedded_json(ack, "RUM ACK data", None)
    for info in doc.account_infos:
        if info.smart_account_domain == LAB_DOMAIN:
            yield Hit("simulated-ack", info.line,
                      f"made by airgap's simulated CSSM (account domain {LAB_DOMAIN})")
