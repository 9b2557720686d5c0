"""The import-file reader: any subset of parts, unknown parts kept, a policy file alone."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from airgap import formats, xml
from airgap.formats.common import Udi
from airgap.formats.imports import ImportFile

SLAC = (
    "<smartLicenseAuthorization><udi>P:C8000V,S:9ABCDEF1234</udi><authorizationCode>"
    "<customerInfo><smartAccount>Plant SA</smartAccount><virtualAccount>OT</virtualAccount>"
    "</customerInfo><flag>A</flag><version>C</version><piid>p</piid>"
    "<dateStamp>2022-07-01T14:10:28</dateStamp><entitlements><entitlement>"
    "<tag>regid.2019-03.com.cisco.DNA_HSEC,1.0_x</tag><count>1</count>"
    "<licenseType>PERPETUAL</licenseType></entitlement></entitlements>"
    "<status><success>true</success></status></authorizationCode>"
    "<signature>MEUCIQ==</signature></smartLicenseAuthorization>"
)
POLICY = (
    "<smartLicensePolicy><policyCode><name>Site Policy</name><version>7</version><flag/>"
    "<datestamp>2022-04-25T14:41:27</datestamp><ackRequired>no</ackRequired>"
    "<perpetual><firstTimeReport>365</firstTimeReport><onGoingReporting>0"
    "</onGoingReporting><reportOnMACD>90</reportOnMACD></perpetual></policyCode>"
    "<signature>MEUCIQ==</signature></smartLicensePolicy>"
)
RUM_ACK = (
    '<smartLicenseRumAck><data><![CDATA[[{"report_id": 1}]]]></data>'
    "<signature>MEUCIQ==</signature></smartLicenseRumAck>"
)
ACCOUNT = (
    "<smartLicenseAccountInfo><customerInfo><timestamp>1656685084850</timestamp>"
    "<smartAccount>Plant SA</smartAccount><virtualAccount>OT</virtualAccount>"
    "</customerInfo><signature>MEUCIQ==</signature></smartLicenseAccountInfo>"
)
CORRELATION = "<correlationID>62bf0000</correlationID>"
PARTS = {
    "smartLicenseAuthorization": SLAC,
    "smartLicensePolicy": POLICY,
    "smartLicenseRumAck": RUM_ACK,
    "smartLicenseAccountInfo": ACCOUNT,
    "correlationID": CORRELATION,
}


def read(text: str) -> tuple[str, ImportFile]:
    doc = formats.read_xml(xml.parse(text.encode()))
    assert doc is not None and isinstance(doc.model, ImportFile)
    return doc.kind, doc.model


SUBSETS = [c for n in range(1, 6) for c in itertools.combinations(PARTS, n)]


@pytest.mark.parametrize("names", SUBSETS, ids=["+".join(n[:4] for n in s) for s in SUBSETS])
def test_any_subset_of_parts(names: tuple[str, ...]) -> None:
    kind, doc = read("<smartLicense>" + "".join(PARTS[n] for n in names) + "</smartLicense>")
    assert kind == "import"
    assert doc.parts == list(names)
    assert not doc.unknown_parts
    assert len(doc.authorizations) == ("smartLicenseAuthorization" in names)
    assert len(doc.policies) == ("smartLicensePolicy" in names)


def test_parts_are_decoded() -> None:
    _, doc = read("<smartLicense>" + "".join(PARTS.values()) + "</smartLicense>")
    (slac,) = doc.authorizations
    assert slac.udi == Udi("C8000V", "9ABCDEF1234")
    assert (slac.smart_account, slac.virtual_account) == ("Plant SA", "OT")
    assert slac.entitlements[0].count == 1
    (policy,) = doc.policies
    assert policy.ack_required is False
    assert policy.terms == {
        "perpetual": {"firstTimeReport": 365, "onGoingReporting": 0, "reportOnMACD": 90}
    }
    assert doc.rum_acks[0].value == [{"report_id": 1}]
    assert doc.account_infos[0].timestamp_ms == 1656685084850
    assert doc.correlation_ids == ["62bf0000"]


def test_unknown_part_is_kept_and_named() -> None:
    _, doc = read(
        "<smartLicense>"
        + POLICY
        + "<smartLicenseTrustCode><x/></smartLicenseTrustCode>"
        + "</smartLicense>"
    )
    assert doc.parts == ["smartLicensePolicy", "smartLicenseTrustCode"]
    assert doc.unknown_parts == [("smartLicenseTrustCode", 1)]


def test_policy_file_alone() -> None:
    kind, doc = read(POLICY)
    assert kind == "policy"
    assert doc.policies[0].name == "Site Policy"


def test_slac_request() -> None:
    data = (
        '<smartLicense><smartLicenseSystemInfo><data>{"hostname": "r1", "sudi": '
        '{"udi_pid": "C8000V", "udi_serial_number": "9A"}}</data></smartLicenseSystemInfo>'
        '<smartLicenseAuthRequest><data>[{"sudi": {"udi_pid": "C8000V", '
        '"udi_serial_number": "9A"}}]</data></smartLicenseAuthRequest></smartLicense>'
    )
    doc = formats.read_xml(xml.parse(data.encode()))
    assert doc is not None and doc.kind == "slac-request"


def terms_by_find(code: object) -> dict[str, dict[str, int | None]]:
    """The policy terms as a search for each ``<block>/<term>`` path finds them."""
    from airgap.formats.imports import POLICY_BLOCKS, POLICY_TERMS, _int, _text

    return {
        block: {term: _int(_text(code, f"{block}/{term}")) for term in POLICY_TERMS}
        for block in POLICY_BLOCKS
        if code.find(block) is not None  # type: ignore[attr-defined]
    }


@pytest.mark.parametrize(
    "blocks",
    [
        "<perpetual><firstTimeReport>365</firstTimeReport></perpetual>",
        "<perpetual/><perpetual><reportOnMACD>9</reportOnMACD></perpetual>",  # the second has it
        "<enforced><onGoingReporting>1</onGoingReporting><onGoingReporting>2</onGoingReporting>"
        "</enforced><enforced><onGoingReporting>3</onGoingReporting></enforced>",
        "<export><!-- c --><firstTimeReport> 7 <!-- c -->0</firstTimeReport><?pi x?></export>",
        '<generic xmlns:n="urn:x"><n:firstTimeReport>5</n:firstTimeReport></generic>',
        '<n:perpetual xmlns:n="urn:x"><firstTimeReport>5</firstTimeReport></n:perpetual>',
        "<subscription><firstTimeReport>x</firstTimeReport><reportOnMACD/></subscription>",
        "<subscription><perpetual><firstTimeReport>1</firstTimeReport></perpetual></subscription>",
    ],
)
def test_policy_terms_are_what_a_search_for_each_finds(blocks: str) -> None:
    _, doc = read(
        f"<smartLicense><smartLicensePolicy><policyCode>{blocks}</policyCode>"
        "</smartLicensePolicy></smartLicense>"
    )
    code = xml.parse(
        f"<smartLicensePolicy><policyCode>{blocks}</policyCode></smartLicensePolicy>".encode()
    ).find("policyCode")
    assert doc.policies[0].terms == terms_by_find(code)


# Small trees of the names a path walks, a namespaced twin, comments and processing
# instructions: the walk over children must find what lxml's ElementPath finds.
tree_names = st.sampled_from(["a", "b", "c", "n:a", "!--", "?pi"])


def tree_text(depth: int) -> st.SearchStrategy[str]:
    def node(name: str, inner: list[str]) -> str:
        if name == "!--":
            return "<!-- c -->"
        if name == "?pi":
            return "<?pi x?>"
        return f"<{name}>{''.join(inner)}</{name}>"

    if depth == 0:
        return st.builds(lambda n: node(n, []), tree_names)
    return st.builds(node, tree_names, st.lists(tree_text(depth - 1), max_size=3))


@settings(max_examples=300)
@given(st.lists(tree_text(2), max_size=4), st.sampled_from(["a", "b", "a/b", "b/a", "a/a", "c/b"]))
@example(["<a><c/></a>", "<n:a><b/></n:a>", "<a><!-- c --><b/></a>"], "a/b")
def test_a_path_finds_what_elementpath_finds(children: list[str], path: str) -> None:
    from airgap.formats.imports import _find

    root = xml.parse(f'<r xmlns:n="urn:x">{"".join(children)}</r>'.encode())
    tree = root.getroottree()
    found, expected = _find(root, path), root.find(path)
    assert (found is None) == (expected is None)
    assert found is None or tree.getpath(found) == tree.getpath(expected)


def test_an_import_file_pickles_as_it_was() -> None:
    """Workers send import files back pickled by a call of each class on its fields."""
    import pickle

    from airgap.state.evidence import _ack_summary

    _, doc = read("<smartLicense>" + "".join(PARTS.values()) + "</smartLicense>")
    for sent in (doc, _ack_summary(doc), doc.authorizations[0].udi):
        back = pickle.loads(pickle.dumps(sent))
        assert back == sent and type(back) is type(sent)
    assert pickle.loads(pickle.dumps(doc)).policies[0].terms["perpetual"]["firstTimeReport"] == 365
