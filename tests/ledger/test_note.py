"""Signed notes against the published values of golang.org/x/mod/sumdb/note's tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airgap.ledger.note import Checkpoint, NoteError, NoteSigner, NoteVerifier, open_note

VECTORS = json.loads((Path(__file__).parent / "vectors" / "note.json").read_text())
EXTRA = {item["id"]: item for item in VECTORS["extra"]}
PETER = NoteVerifier.parse(VECTORS["verifier_key"])
ENOCH = NoteVerifier.parse(EXTRA["second_verifier_key"]["verifier_key"])


def test_keys_parse_with_their_hashes() -> None:
    assert PETER.text() == VECTORS["verifier_key"]
    assert ENOCH.text() == EXTRA["second_verifier_key"]["verifier_key"]
    for name, digest in EXTRA["key_hashes"]["values"].items():
        assert {"PeterNeumann": PETER, "EnochRoot": ENOCH}[name].hash.hex() == digest
    signer = NoteSigner.parse(VECTORS["signer_key"])
    assert signer.verifier == PETER


def test_signing_gives_the_published_note() -> None:
    signer = NoteSigner.parse(VECTORS["signer_key"])
    assert signer.sign(VECTORS["message"]) == VECTORS["signed"]


def test_opening_the_published_notes() -> None:
    note = open_note(VECTORS["signed"], [PETER])
    assert note.text == VECTORS["message"] and note.signed_by == ["PeterNeumann"]
    double = EXTRA["doubly_signed_note"]["signed"]
    assert open_note(double, [PETER]).signed_by == ["PeterNeumann"]
    assert open_note(double, [PETER, ENOCH]).signed_by == ["PeterNeumann", "EnochRoot"]
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_note(double, [])


def message(case: dict[str, Any]) -> bytes:
    if case.get("message_hex"):
        return bytes.fromhex(case["message_hex"])
    return str(case["signed"]).encode()


def test_invalid_signature_is_refused() -> None:
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(message(EXTRA["invalid_signature"]), [PETER])


def test_duplicated_and_corrupt_unknown_signatures() -> None:
    case = EXTRA["duplicated_and_corrupt_unverified_sigs"]
    assert open_note(message(case), [PETER]).signed_by == ["PeterNeumann"]


def test_too_many_signatures() -> None:
    build = EXTRA["too_many_signatures"]["construct"]
    text = build["prefix"] + build["repeat_line"] * build["count"]
    with pytest.raises(NoteError, match="malformed"):
        open_note(text, [PETER])


@pytest.mark.parametrize("case", EXTRA["malformed_notes"]["cases"], ids=lambda c: c["desc"])
def test_malformed_notes(case: dict[str, Any]) -> None:
    with pytest.raises(NoteError, match="malformed"):
        open_note(message(case), [PETER])


@pytest.mark.parametrize("case", EXTRA["mismatched_verifier"]["cases"], ids=lambda c: c["desc"])
def test_mismatched_name_or_hash_does_not_verify(case: dict[str, Any]) -> None:
    with pytest.raises(NoteError):
        open_note(message(case), [PETER])


@pytest.mark.parametrize("case", EXTRA["bad_verifier_keys"]["cases"], ids=lambda c: c["desc"])
def test_bad_verifier_keys(case: dict[str, Any]) -> None:
    with pytest.raises(NoteError):
        NoteVerifier.parse(case["verifier_key"])


def test_checkpoint_round_trip() -> None:
    point = Checkpoint("example.com/log", 42, bytes(range(32)), ("extension",))
    assert Checkpoint.parse(point.text()) == point
    signer = NoteSigner.parse(VECTORS["signer_key"])
    assert Checkpoint.parse(open_note(signer.sign(point.text()), [PETER]).text) == point
