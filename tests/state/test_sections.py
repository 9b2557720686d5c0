"""The section parser against genieparser's parse of every real capture that has the fields
the state model needs first: policy name, last ACK received, next ACK deadline, transport."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airgap.state import sections
from airgap.state.sections import Node, parse
from tests.conftest import FIELD
from tests.state.genie import expected, first

CAPTURES = sorted(FIELD.glob("show/ShowLicense*_output.txt")) if FIELD.exists() else []


FIELDS = {
    "last_ack_received": ("Usage Reporting", "Last ACK received"),
    "next_ack_deadline": ("Usage Reporting", "Next ACK deadline"),
    "policy_name": ("Policy", "Policy name"),
}


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_fields_agree_with_genieparser(path: Path) -> None:
    want = expected(path)
    tree = parse(path.read_text())
    compared = 0
    for key, labels in FIELDS.items():
        if (value := first(want, key)) is not None:
            assert tree.value_at(*labels) == value, (key, labels)
            compared += 1
    transport = first(want, "transport")
    if isinstance(transport, dict) and "type" in transport:
        assert tree.value_at("Transport", "Type") == transport["type"]
        compared += 1
    if not compared:
        pytest.skip("genieparser's parse has none of these fields")


def test_nested_sections_values_and_bare_lines() -> None:
    tree = parse(
        "switch#show license status\r\nTransport:\r\n  Type: cslu\r\n  Proxy:\r\n"
        "    Not Configured\r\n\r\nTrust Code Installed:\r\n"
        "  Active: PID:C9300-24UX,SN:FCW2303D16Y\r\n"
        "    INSTALLED on Oct 14 11:37:52 2021 UTC\r\nsomething new: 1\r\n"
    )
    assert tree.value_at("Transport", "Type") == "cslu"
    assert tree.value_at("transport", "proxy") == "Not Configured"
    active = tree.find("Trust Code Installed", "Active")
    assert active is not None and active.value == "PID:C9300-24UX,SN:FCW2303D16Y"
    assert active.children[0].label == "INSTALLED on Oct 14 11:37:52 2021 UTC"
    assert tree.value_at("something new") == "1" and tree.find("Nowhere") is None
    assert [n.line for n in tree.children] == [2, 7, 10]


def _reference(lines: list[str]) -> Node:
    """``parse_lines`` as the module's patterns say it, line by line, with no shortcut."""
    root = Node("", None, 0, -1)
    stack = [root]
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        stripped = line.lstrip()
        if not stripped or sections._UNDERLINE.match(stripped) or sections._NOISE.match(stripped):
            continue
        indent = len(line) - len(line.lstrip(" \t"))
        match = sections._LABEL.match(stripped)
        node = (
            Node(match["label"].strip(), match["value"], number, indent)
            if match
            else Node(stripped, None, number, indent)
        )
        while stack[-1].indent >= indent:
            stack.pop()
        stack[-1].children.append(node)
        stack.append(node)
    return root


_PIECES = st.sampled_from(
    [" ", "  ", "\t", ":", ": ", "#", ">", "=", "-", "---", "L", "T", "s", "h", "show ", "sh ",
     "Load for five secs:", "Time source is ", "router#", "Policy", "é", "\u00a0", "\u2003",
     "ſ", "x", "1"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(_PIECES, max_size=8).map("".join), max_size=12))
def test_the_quick_tree_is_the_tree_the_patterns_give(lines: list[str]) -> None:
    assert sections.parse_lines(lines) == _reference(lines)
