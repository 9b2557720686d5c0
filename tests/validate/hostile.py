"""Builders for hostile usage files: each shows another document to another reader, hides an id
from the duplicate check, or would flood the output. Made fresh in a temp folder by each test."""

from __future__ import annotations

import json
from typing import Any

from tests.formats.helpers import envelope, payload, sudi, usage_xml

HOSTNAME = "plc-gw-3"
ID = 1696420871


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def repeat_key(text: str, key: str, first: Any) -> str:
    """``text`` (a JSON object) with ``key`` written once more, first, holding ``first``: a
    reader keeping the last sees ``text``; one keeping the first sees ``first``."""
    assert text.startswith("{")
    return "{" + json.dumps(key) + ":" + json.dumps(first) + "," + text[1:]


def envelope_repeats_payload() -> bytes:
    """Two ``payload`` keys: a first-wins reader uploads another report than the one checked."""
    other = compact(payload(ID + 1, sn="FOC0000X0ZZ"))
    return usage_xml(repeat_key(envelope(compact(payload(ID))), "payload", other))


def envelope_repeats_sudi() -> bytes:
    """Two ``signature.sudi``: the first names another device than the payload's."""
    env = json.loads(envelope(compact(payload(ID))))
    signature = compact(env["signature"])
    text = compact({"payload": env["payload"], "signature": "SIG"})
    return usage_xml(text.replace('"SIG"', repeat_key(signature, "sudi", sudi(sn="OTHER"))))


def payload_repeats_hostname() -> bytes:
    """Two ``hostname`` keys in the payload's meta: the first leaks, the last is empty."""
    meta = {
        "entitlement_tag": "regid.2017-05.com.cisco.c9300_dna_advantage,1.0_x",
        "report_id": ID,
        "hostname": "",
    }
    text = compact(payload(ID, extra={"meta": "META"}))
    return usage_xml(
        envelope(text.replace('"META"', repeat_key(compact(meta), "hostname", HOSTNAME)))
    )


def system_info_repeats_hostname() -> bytes:
    """Two ``hostname`` keys in the system info: the first leaks, the last is empty."""
    info = compact({"sudi": sudi(), "timestamp": 1700000000, "hostname": ""})
    data = repeat_key(info, "hostname", HOSTNAME)
    report = usage_xml(envelope(compact(payload(ID))))
    return report.replace(
        b"<smartLicense>",
        b"<smartLicense><smartLicenseSystemInfo><data>"
        + data.encode()
        + b"</data></smartLicenseSystemInfo>",
        1,
    )


def report_id_written(literal: str, layout: str = "v1") -> bytes:
    """A report whose id is written as ``literal`` (a float, an exponent, 2^64, a negative)."""
    text = compact(payload(ID, layout=layout))
    assert text.count(str(ID)) == 1
    return usage_xml(envelope(text.replace(str(ID), literal)))


def report_with(markup: str, before: bool = True) -> bytes:
    """A valid report whose <RUMReport> also holds a comment or processing instruction."""
    cdata = f"<![CDATA[{envelope(compact(payload(ID)))}]]>"
    inner = markup + cdata if before else cdata + markup
    return f"<smartLicense><RUMReport>{inner}</RUMReport></smartLicense>".encode()


def hostname_in_list() -> bytes:
    meta = {"entitlement_tag": "t", "report_id": ID, "hostname": [HOSTNAME]}
    return usage_xml(envelope(compact(payload(ID, extra={"meta": meta}))))


def hostname_nested(depth: int = 300) -> bytes:
    """A hostname at the bottom of ``depth`` nested lists: deeper than orjson writes (254)
    and, at 1,000, than Python's json module reads."""
    text = compact(
        payload(ID, extra={"meta": {"entitlement_tag": "t", "report_id": ID, "hostname": "HOST"}})
    )
    return usage_xml(
        envelope(text.replace('"HOST"', "[" * depth + json.dumps(HOSTNAME) + "]" * depth))
    )


def hostname_in_envelope() -> bytes:
    env = json.loads(envelope(compact(payload(ID))))
    env["header"] = {"type": "rum", "hostname": HOSTNAME}
    return usage_xml(json.dumps(env))


def hostname_in_markup(markup: str) -> bytes:
    """A clean usage file with ``markup`` (a comment or PI) after the root element."""
    return usage_xml(envelope(compact(payload(ID)))) + markup.encode()


def many_bad_attributes(count: int, per_element: int = 250_000) -> bytes:
    """A usage file whose reports carry ``count`` attributes in all, each an XSD violation
    (about 11 bytes each: two million in 22 MB)."""
    reports = []
    for start in range(0, count, per_element):
        names = "".join(f' a{n}=""' for n in range(start, min(count, start + per_element)))
        reports.append(
            f"<RUMReport{names}><![CDATA[{envelope(compact(payload(ID + start)))}]]></RUMReport>"
        )
    return ("<smartLicense>" + "".join(reports) + "</smartLicense>").encode()
