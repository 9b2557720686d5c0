"""RFC 9162 tree hashes and proofs against transparency-dev/merkle's published test vectors,
plus round trips of our own proofs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airgap.ledger import merkle

VECTORS = json.loads((Path(__file__).parent / "vectors" / "merkle.json").read_text())


def raw(value: str | None) -> bytes:
    return bytes.fromhex(value) if value else b""


def test_empty_tree() -> None:
    assert merkle.root([]) == raw(VECTORS["empty_root"]) == merkle.EMPTY_ROOT


@pytest.mark.parametrize("case", VECTORS["tree_hashes"], ids=lambda c: f"size{c['size']}")
def test_tree_hashes(case: dict[str, Any]) -> None:
    leaves = [merkle.leaf_hash(raw(leaf)) for leaf in case["leaves"]]
    assert merkle.root(leaves).hex() == case["root"]


def test_node_hashes() -> None:
    levels = VECTORS["node_hashes"]["levels"]
    leaves = [merkle.leaf_hash(raw(x)) for x in VECTORS["tree_hashes"][-1]["leaves"]]
    assert [h.hex() for h in leaves] == levels[0]
    for depth, level in enumerate(levels):
        width = 1 << depth
        assert [merkle.root(leaves[i : i + width]).hex() for i in range(0, 8, width)] == level


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: c["name"])
def test_inclusion_vectors(case: dict[str, Any]) -> None:
    def check() -> None:
        merkle.verify_inclusion(
            case["leaf_index"],
            case["tree_size"],
            raw(case["leaf_hash"]),
            [raw(p) for p in case["proof"]],
            raw(case["root"]),
        )

    if case["want_error"]:
        with pytest.raises(merkle.ProofError):
            check()
    else:
        check()


@pytest.mark.parametrize("case", VECTORS["consistency"], ids=lambda c: c["name"])
def test_consistency_vectors(case: dict[str, Any]) -> None:
    def check() -> None:
        merkle.verify_consistency(
            case["size1"],
            case["size2"],
            raw(case["root1"]),
            raw(case["root2"]),
            [raw(p) for p in case["proof"]],
        )

    if case["want_error"]:
        with pytest.raises(merkle.ProofError):
            check()
    else:
        check()


def test_generated_proofs_match_the_vectors() -> None:
    leaves = [merkle.leaf_hash(raw(x)) for x in VECTORS["tree_hashes"][-1]["leaves"]]
    for case in VECTORS["inclusion"]:
        if (
            not case["want_error"]
            and case["tree_size"] <= 8
            and case["name"].endswith("happy-path.json")
        ):
            proof = merkle.inclusion_proof(leaves[: case["tree_size"]], case["leaf_index"])
            assert [p.hex() for p in proof] == case["proof"]
    for case in VECTORS["consistency"]:
        if (
            not case["want_error"]
            and case["size2"] <= 8
            and case["name"].endswith("happy-path.json")
        ):
            proof = merkle.consistency_proof(leaves[: case["size2"]], case["size1"])
            assert [p.hex() for p in proof] == case["proof"]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_own_proofs_round_trip_and_reject_a_flipped_bit(size: int, data: st.DataObject) -> None:
    leaves = [merkle.leaf_hash(n.to_bytes(4, "big")) for n in range(size)]
    root = merkle.root(leaves)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    proof = merkle.inclusion_proof(leaves, index)
    merkle.verify_inclusion(index, size, leaves[index], proof, root)
    first = data.draw(st.integers(min_value=1, max_value=size))
    consistency = merkle.consistency_proof(leaves, first)
    merkle.verify_consistency(first, size, merkle.root(leaves[:first]), root, consistency)
    if proof:
        bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(index, size, leaves[index], bad, root)
    if consistency:
        bad = [*consistency[:-1], bytes([consistency[-1][0] ^ 1]) + consistency[-1][1:]]
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(first, size, merkle.root(leaves[:first]), root, bad)
