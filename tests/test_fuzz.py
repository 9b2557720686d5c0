"""Mutation fuzzing in the default suite: bit flips, truncations, header and size edits over
samples, captures, tar, tar.gz and 7z archives, signed bundles, ledgers, CSLU archives and
settings files (``benchmarks/fuzz.py`` has the corpus and runs 10,000). Every run exits 0, 1,
3 or 4, prints no traceback, writes nothing outside its destination, and, run in a child of
its own, is not killed by a signal and does not hang."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.fuzz import (
    ALLOWED,
    GOOD,
    KINDS,
    Corpus,
    Mutation,
    build_corpus,
    environment,
    plan,
    prepare,
    run_forked,
    snapshot,
    written_outside,
)
from tests.conftest import Cli

mutations = st.lists(
    st.builds(Mutation, st.sampled_from(KINDS), st.floats(0, 1), st.integers(0, (1 << 32) - 1)),
    min_size=1,
    max_size=3,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("fuzz") / "corpus")


def test_the_corpus_holds_every_kind(corpus: Corpus) -> None:
    names = {seed.name for seed in corpus.seeds}
    for kind in (
        "usage.tar",
        "usage.tar.gz",
        "usage.7z",
        "bundle.tar.gz",
        "bundle.tar",
        "bundle.7z",
        "bundle.tar.gz.minisig",
        "ledger.jsonl",
        "upload.tar",
        "user-config",
        "project-config",
    ):
        assert kind in names, kind
    assert any(n.startswith("show/") for n in names) and any(n.startswith("xml/") for n in names)


def test_mutations_change_the_bytes() -> None:
    data = (Path(__file__).parent.parent / "samples" / "usage-n9k-nxos-v1.xml").read_bytes()
    rng = random.Random(7)
    for kind in KINDS:
        changed = [
            Mutation(kind, rng.random(), rng.randrange(1 << 32)).apply(data) != data
            for _ in range(20)
        ]
        assert sum(changed) >= 15, kind


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(choice=st.data(), edits=mutations)
def test_mutated_inputs_exit_0_1_3_or_4_and_write_only_their_destination(
    choice: st.DataObject,
    edits: list[Mutation],
    corpus: Corpus,
    cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed = choice.draw(st.sampled_from(corpus.seeds), label="seed")
    command = choice.draw(st.sampled_from(seed.commands), label="command")
    case = prepare(corpus, seed, command, edits, Path(tempfile.mkdtemp(dir=tmp_path)))
    for name, value in environment(case.folder / "home").items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(case.folder / "cwd")
    monkeypatch.setattr(tempfile, "tempdir", str(case.folder / "tmp"))
    before = snapshot(case.folder, case.dest)
    run = cli(*case.argv)
    assert run.code in ALLOWED, (run.code, run.err)
    assert "Traceback" not in run.err and "internal error" not in run.err, run.err
    assert not written_outside(before, case)


def test_mutated_runs_in_a_child_are_not_killed_and_do_not_hang(
    corpus: Corpus, tmp_path: Path
) -> None:
    rng = random.Random(2026)
    for index in range(24):
        seed, command, edits = plan(corpus, rng)
        case = prepare(corpus, seed, command, edits, tmp_path / str(index))
        outcome, err = run_forked(case)
        assert outcome in GOOD, (outcome, seed.name, command, edits, err)
