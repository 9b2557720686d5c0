"""The usage (RUM) reader: both payload layouts, optional parts, byte-exact payloads."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from airgap import formats, xml
from airgap.formats.common import Udi
from airgap.formats.usage import UsageFile
from tests.formats.helpers import envelope, payload, report_xml, usage_xml


def read(data: bytes) -> tuple[str, UsageFile]:
    doc = formats.read_xml(xml.parse(data))
    assert doc is not None and isinstance(doc.model, UsageFile)
    return doc.kind, doc.model


def test_v1_layout() -> None:
    kind, doc = read(report_xml(payload(1646687408, layout="v1")))
    (rum,) = doc.reports
    assert kind == "usage"
    assert (rum.layout, rum.report_id, rum.udi) == (
        "v1",
        1646687408,
        Udi("C9300-24UX", "FOC9999X0AA"),
    )


def test_v2_layout() -> None:
    _, doc = read(report_xml(payload(1671840750, layout="2.0")))
    (rum,) = doc.reports
    assert (rum.layout, rum.report_id) == ("2.0", 1671840750)
    assert rum.measurements[0].value == "1"


def test_declaration_pretty_printing_and_header_do_not_matter() -> None:
    text = json.dumps(payload())
    variants = [
        usage_xml(envelope(text)),
        usage_xml(envelope(text), declaration=True),
        usage_xml(envelope(text), pretty=True),
        usage_xml(envelope(text, header=False), declaration=True, pretty=True),
    ]
    seen = {(r.report_id, r.udi, r.payload_text) for v in variants for r in read(v)[1].reports}
    assert len(seen) == 1


def test_system_info_is_read() -> None:
    info = {
        "sudi": {"udi_pid": "C9300-24UX", "udi_serial_number": "FOC9999X0AA"},
        "timestamp": 1700000000,
        "nonce": "1234",
        "hostname": "sw1",
    }
    _, doc = read(usage_xml(envelope(json.dumps(payload())), system_info=info))
    assert doc.system_info is not None and doc.system_info.value == info


def test_bare_report_is_a_fragment() -> None:
    kind, doc = read(
        f"<RUMReport><![CDATA[{envelope(json.dumps(payload()))}]]></RUMReport>".encode()
    )
    assert kind == "rum-fragment" and doc.fragment and len(doc.reports) == 1


def test_broken_json_is_recorded_not_raised() -> None:
    _, doc = read(usage_xml('{"payload": "{not json", "signature": {}}'))
    (rum,) = doc.reports
    assert rum.envelope.ok and rum.payload is not None and not rum.payload.ok
    assert rum.report_id is None and rum.measurements == []


# Payload text a device might write: any JSON formatting, escapes, non-ASCII, odd spacing.
# Strings avoid control characters (not allowed in XML) and "]]>" (cannot sit in CDATA).
xml_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8).filter(
    lambda t: "]]>" not in t
)
json_text = (
    st.recursive(
        st.none() | st.booleans() | st.integers() | xml_text,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(xml_text, inner, max_size=3),
        max_leaves=8,
    )
    .flatmap(
        lambda value: st.sampled_from(
            [
                json.dumps(value),
                json.dumps(value, indent=1),
                json.dumps(value, ensure_ascii=False),
                json.dumps(value, separators=(",", ":")),
                " " + json.dumps(value) + "\n",
            ]
        )
    )
    .filter(lambda t: "]]>" not in t)
)


@settings(max_examples=200)
@given(json_text)
def test_payload_string_is_kept_byte_exact(text: str) -> None:
    for pretty in (False, True):
        _, doc = read(usage_xml(envelope(text), pretty=pretty))
        assert doc.reports[0].payload_text == text


# JSON objects written by hand, so that keys may repeat, strings may hold colons written as
# they are or escaped (\u003a), and spacing varies: the fast test for repeated keys must
# agree with a reader that sees every member.
key_text = st.text(alphabet="ab:", max_size=3)
scalar_text = st.one_of(
    st.integers().map(str),
    key_text.map(json.dumps),
    key_text.map(lambda t: json.dumps(t).replace(":", "\\u003a")),
)


def object_text(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    member = st.tuples(key_text.map(json.dumps), st.sampled_from([":", " : "]), inner)
    return st.lists(member, max_size=4).map(
        lambda members: "{" + ",".join(k + sep + v for k, sep, v in members) + "}"
    )


nested_text = st.recursive(
    scalar_text,
    lambda inner: (
        object_text(inner) | st.lists(inner, max_size=3).map(lambda v: "[" + ",".join(v) + "]")
    ),
    max_leaves=10,
)


def repeats(text: str) -> bool:
    found = []

    def members(pairs: list[tuple[str, object]]) -> dict[str, object]:
        found.append(len({k for k, _ in pairs}) != len(pairs))
        return dict(pairs)

    json.loads(text, object_pairs_hook=members)
    return any(found)


@settings(max_examples=500)
@given(object_text(nested_text))
def test_repeated_keys_are_found_exactly(text: str) -> None:
    from airgap.formats.common import EmbeddedJson

    decoded = EmbeddedJson.decode(text, 1)
    assert decoded.ok
    assert (decoded.repeated is not None) == repeats(text), text


def refs_agree(envelope_text: str) -> None:
    """``iter_refs`` reads the (UDI, report id) that ``iter_reports`` reads, on any text."""
    _, doc = read(usage_xml(envelope_text))
    refs = list(doc.iter_refs())
    assert refs == [(r.udi, r.report_id) for r in doc.iter_reports()]


report_ids = st.one_of(
    st.integers(min_value=-1, max_value=2**64 + 1),
    st.sampled_from([True, 1.7e9, 1696420871.0, "1700000001", None]),
)


@settings(max_examples=200)
@given(report_ids, st.sampled_from(["v1", "2.0"]), json_text)
def test_refs_are_what_the_whole_reader_reads(rid: object, layout: str, extra: str) -> None:
    body = payload(layout=layout, extra={"x": json.loads(extra)})
    where = body["meta"] if layout == "v1" else body["asset_identification"]
    where["report_id"] = rid
    refs_agree(envelope(json.dumps(body)))
    refs_agree(envelope(json.dumps(body, indent=2)))


def test_refs_agree_on_broken_repeated_and_deep_json() -> None:
    text = json.dumps(payload(1700000002))
    deep = '{"a":' * 1010 + "1" + "}" * 1010
    for envelope_text in (
        '{"payload": "{not json", "signature": {}}',
        "not json at all",
        '["an", "array"]',
        '{"payload": 17}',
        envelope(text.replace('"meta": {', '"meta": {"report_id": 5, ')),  # repeated key
        envelope(text[:-1] + ', "deep": ' + "[" * 300 + "]" * 300 + "}"),
        envelope(text[:-1] + ', "deep": ' + deep + "}"),  # deeper than the json module reads
        envelope(text[:-1] + ', "deep": ' + "[" * 1030 + "]" * 1030 + "}"),  # than orjson
        '{"payload": ' + json.dumps(text) + ', "deep": ' + deep + "}",
    ):
        refs_agree(envelope_text)
