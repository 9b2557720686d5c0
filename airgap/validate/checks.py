"""Semantic rules over what the readers found, one small function per concern.

Each check returns a list of findings (rule id, line, message; see :func:`hit`), most often
empty; the engine places them in their file at the level in force. Checks never raise on bad
content: that is what they report. They return lists rather than yield: they run for every one of
100,000 reports, and a generator per rule costs more than the rule.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from airgap.findings import Finding, Location
from airgap.formats.common import EmbeddedJson, Markup, dig, every_value, find_key
from airgap.formats.imports import ImportFile, SlacRequest
from airgap.formats.usage import REPORT, REPORT_ID_MAX, RumReport, UsageFile, raw_report_id
from airgap.validate import jsonschemas
from airgap.validate.rules import LAB_DOMAIN, RULES

KNOWN_LAYOUTS = ("v1", "2.0")
SIGNATURE_BYTES = 32
JSON_HOLDERS = (REPORT, "data")  # elements whose text is one JSON document
HOSTNAME_WORD = re.compile(r"host[\s_-]?name", re.IGNORECASE)
SHOWN = 80  # characters of a value or comment quoted in a message


def hit(rule: str, line: int | None, message: str) -> Finding:
    """A rule that fired at ``line``, and why: a finding at the rule's default level, in no
    file yet (the engine places it and sets the level in force)."""
    return Finding(rule, RULES[rule].level, message, Location(line=line))


def embedded_json(item: EmbeddedJson, what: str, schema: str | None) -> list[Finding]:
    """JSON syntax, then the JSON Schema, of one embedded JSON document."""
    if not item.ok:
        return [hit("json-syntax", item.line, f"{what} is not valid JSON: {item.error}")]
    hits = []
    if item.repeated is not None:
        hits.append(
            hit(
                "json-duplicate-key",
                item.line,
                f"{what} repeats key {item.repeated!r} within one object",
            )
        )
    if schema and (problem := jsonschemas.violation(schema, item.value)):
        hits.append(hit("json-schema", item.line, f"{what}: {problem}"))
    return hits


def hostnames(item: EmbeddedJson | None, what: str) -> list[Finding]:
    """Every ``hostname`` anywhere in an outbound file's JSON that holds something: a name, a
    list of them, any value but null, false, blank text or an empty container; repeated keys
    included."""
    if item is None or not item.ok or (item.repeated is None and not item.may_hold("hostname")):
        return []  # the key is nowhere: no walk
    found = (
        every_value(item.text, "hostname")
        if item.repeated is not None
        else find_key(item.value, "hostname")
    )
    return [
        hit("hostname-present", item.line, f"{what} carries hostname {_shown(name)}")
        for name in found
        if _holds_something(name)
    ]


def _holds_something(value: Any) -> bool:
    """Anything but null, false, blank text or containers of those (walked without recursion:
    orjson reads 1,024 levels, more than Python's stack takes)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if item.strip():
                return True
        elif item is not None and not isinstance(item, bool):
            return True  # a number: an address or a name written as one
    return False


def _shown(value: Any) -> str:
    try:
        text = repr(value) if isinstance(value, str) else orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        text = "(a value nested too deeply to show)"
    return text if len(text) <= SHOWN else text[:SHOWN] + "..."


def markup(found: Iterable[Markup], outbound: bool) -> Iterator[Finding]:
    """Comments and processing instructions: refused inside an element holding JSON; in an
    outbound file, one that speaks of a hostname is reported as carrying one. Yielded, not
    listed: this runs once a file, and a hostile file may hold millions."""
    for item in found:
        if item.parent in JSON_HOLDERS:
            yield hit("json-markup", item.line, f"a {item.what} inside <{item.parent}>")
        if outbound and HOSTNAME_WORD.search(item.text):
            yield hit(
                "hostname-present",
                item.line,
                f"a {item.what} carries a hostname: {_shown(item.text.strip())}",
            )


def report(rum: RumReport) -> list[Finding]:
    """Every rule that looks at one RUM report on its own."""
    hits = embedded_json(rum.envelope, "RUM report envelope", jsonschemas.ENVELOPE)
    hits += hostnames(rum.envelope, "RUM report envelope")
    payload = rum.payload
    if payload is None:
        return hits
    layout = rum.layout
    if layout is not None and layout not in KNOWN_LAYOUTS:
        hits.append(
            hit(
                "payload-version",
                rum.line,
                f"payload layout version {layout!r} is unknown; checked as 2.0",
            )
        )
        payload = payload._replace(value={**payload.value, "version": "2.0"})
    schema = jsonschemas.PAYLOAD_V1 if layout == "v1" else jsonschemas.PAYLOAD_V2
    hits += embedded_json(payload, "RUM report payload", schema)
    if rum.report_id is None and payload.ok and isinstance(payload.value, dict):
        hits += report_id(rum, raw_report_id(payload.value, layout or "2.0"))
    if rum.envelope.ok and payload.ok:
        hits += signer(rum)
        hits += signature_value(rum)
        hits += measurements(rum)
        hits += hostnames(payload, "RUM report payload")
    return hits


def report_id(rum: RumReport, value: Any) -> list[Finding]:
    """A report id that is a number must be a plain integer from 0 to 2^64-1 (1696420871.0
    and 1.7e9 pass JSON Schema's "integer"; other types are the schema's to report)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return []
    if isinstance(value, float) and not value.is_integer():
        return []  # not an integer at all: the schema says so
    if isinstance(value, int) and 0 <= value <= REPORT_ID_MAX:
        return []
    return [
        hit(
            "report-id",
            rum.line,
            f"report id {value!r} is not a plain integer from 0 to 2^64-1: no device writes one so",
        )
    ]


def signer(rum: RumReport) -> list[Finding]:
    """The envelope's signing sudi must be the device the payload measured."""
    # read_report gives one object for both when the envelope names the payload's own device
    if rum.signer is not rum.udi and rum.signer and rum.udi and rum.signer != rum.udi:
        return [
            hit(
                "sudi-mismatch",
                rum.line,
                f"report {rum.report_id}: signed by {rum.signer} but the payload is for {rum.udi}",
            )
        ]
    return []


def signature_value(rum: RumReport) -> list[Finding]:
    """The envelope's signature value must be base64 of exactly 32 bytes."""
    value = rum.signature_value
    if not isinstance(value, str):
        return []  # the envelope schema reports a missing or non-string value
    try:
        size = len(binascii.a2b_base64(value, strict_mode=True))
    except (binascii.Error, ValueError):
        return [
            hit(
                "signature-value",
                rum.line,
                f"report {rum.report_id}: signature value is not base64",
            )
        ]
    if size != SIGNATURE_BYTES:
        return [
            hit(
                "signature-value",
                rum.line,
                f"report {rum.report_id}: signature value is {size} bytes, not {SIGNATURE_BYTES}",
            )
        ]
    return []


def measurements(rum: RumReport) -> list[Finding]:
    """Each measurement's time range is ordered and its sample interval adds up.

    Reads the decoded payload directly: this runs for every measurement of every report.
    """
    hits = []
    items = dig(rum.payload.value if rum.payload else None, "measurements")
    for number, m in enumerate(items if isinstance(items, list) else [], start=1):
        if not isinstance(m, dict):
            continue
        start, end, interval = m.get("start_time"), m.get("end_time"), m.get("sample_interval")
        if type(start) is not int or type(end) is not int:  # not bool either
            continue
        if start > end:
            hits.append(
                hit(
                    "start-after-end",
                    rum.line,
                    f"report {rum.report_id} measurement "
                    f"{number}: start_time {start} is after end_time {end}",
                )
            )
        elif type(interval) is int and interval != end - start:
            hits.append(
                hit(
                    "sample-interval",
                    rum.line,
                    f"report {rum.report_id} measurement "
                    f"{number}: sample_interval {interval} but end_time - start_time "
                    f"is {end - start}",
                )
            )
    return hits


def usage_file(doc: UsageFile) -> list[Finding]:
    """Rules for a usage file or fragment as a whole; its reports go through :func:`report`
    one at a time (duplicates are the engine's)."""
    hits = []
    if doc.fragment:
        hits.append(
            hit(
                "rum-fragment",
                1,
                "a bare <RUMReport> element; checked as if wrapped in <smartLicense>",
            )
        )
    elif not doc.elements:
        hits.append(hit("no-reports", 1, "the usage file holds no <RUMReport>"))
    if doc.system_info is not None:
        hits += embedded_json(doc.system_info, "system info", jsonschemas.SYSTEM_INFO)
        hits += hostnames(doc.system_info, "system info")
    return hits


def slac_request(doc: SlacRequest) -> list[Finding]:
    """Rules for a SLAC request: its JSON, and the hostnames it would carry out."""
    hits = []
    if doc.system_info is not None:
        hits += embedded_json(doc.system_info, "system info", jsonschemas.SYSTEM_INFO)
        hits += hostnames(doc.system_info, "system info")
    for request in doc.requests:
        hits += embedded_json(request, "authorization request data", jsonschemas.SLAC_REQUEST_DATA)
        hits += hostnames(request, "authorization request data")
    return hits


def import_file(doc: ImportFile) -> list[Finding]:
    """Rules for an import file: unknown parts are kept and named; RUM ACK data decodes."""
    hits = [
        hit("unknown-part", line, f"unknown part <{tag}> kept as it is")
        for tag, line in doc.unknown_parts
    ]
    for ack in doc.rum_acks:
        hits += embedded_json(ack, "RUM ACK data", None)
    hits += [
        hit(
            "simulated-ack",
            info.line,
            f"made by airgap's simulated CSSM (account domain {LAB_DOMAIN})",
        )
        for info in doc.account_infos
        if info.smart_account_domain == LAB_DOMAIN
    ]
    return hits
