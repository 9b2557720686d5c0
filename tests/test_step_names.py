"""Step names are :class:`~airgap.ledger.store.Step` members everywhere (issue 14, STYLE.md
"Levels, verdicts, kinds and evidence are enums"): a step word written as a bare string outside
the enum is a second spelling that a rename would miss. A step another airgap recorded, with a
word this version has no member for, still reads back as the text it is."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from airgap.ledger.store import Step, write_entries
from airgap.signing.minisign import SecretKey
from tests.conftest import Cli
from tests.ledger.test_results import entry

PACKAGE = Path(__file__).resolve().parent.parent / "airgap"
ENUM = PACKAGE / "ledger" / "store.py"
SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p != ENUM)
DOTTED = frozenset(s.value for s in Step if "." in s.value)  # nothing else is spelled so
# "validate", "diff", "note" are also command names and entry fields: bare only where a step is
WORDS = frozenset(s.value for s in Step) - DOTTED
RECORDERS = frozenset({"Recorder", "record", "_record"})


def _strings(node: ast.AST) -> list[ast.Constant]:
    """The string constants in ``node``."""
    return [n for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _names_step(node: ast.expr) -> bool:
    """Whether ``node`` reads a step: ``step``, ``row.step``, ``entry["step"]``."""
    if isinstance(node, ast.Name):
        return "step" in node.id
    if isinstance(node, ast.Attribute):
        return "step" in node.attr
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "step"
    return False


def _callee(node: ast.Call) -> str:
    """The name a call is made through (``steps.Recorder(store)(...)``: ``Recorder``)."""
    func = node.func.func if isinstance(node.func, ast.Call) else node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _step_places(tree: ast.AST) -> list[ast.AST]:
    """Where a step is meant: a comparison with a step, a recorder's arguments, ``step=``, a
    tuple, list or set of which one item is a dotted step word."""
    places: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            _names_step(n) for n in (node.left, *node.comparators)
        ):
            places.append(node)
        elif isinstance(node, ast.Call) and _callee(node) in RECORDERS:
            places.extend(node.args)
        elif isinstance(node, ast.keyword) and node.arg == "step":
            places.append(node.value)
        elif isinstance(node, ast.Tuple | ast.List | ast.Set) and any(
            c.value in DOTTED for c in _strings(node)
        ):
            places.append(node)
    return places


def bare_steps(source: str) -> list[tuple[int, str]]:
    """Each step word ``source`` spells as a bare string, with its line."""
    tree = ast.parse(source)
    found = {(c.lineno, c.value) for c in _strings(tree) if c.value in DOTTED}
    for place in _step_places(tree):
        found |= {(c.lineno, c.value) for c in _strings(place) if c.value in WORDS}
    return sorted(found)


@pytest.mark.parametrize(
    "source",
    [
        'record("bundle.create", note="x")',
        'if row.step == "validate": pass',
        'x = entry["step"] in ("diff", "note")',
        'steps.Recorder(store, announce)("validate")',
        'STEPS = ("validate", "media.scan")',
        'run("airgap", "ledger", "record", "--step", "cssm.upload")',
    ],
)
def test_a_bare_step_word_is_found(source: str) -> None:
    assert bare_steps(source), source


@pytest.mark.parametrize(
    "source",
    [
        'begin("validate", fmt)',
        'fields = {"note": note}',
        'run("airgap", "diff", "a", "b")',
        'schema = "usage.xsd"',
        "record(Step.VALIDATE, note='validate')",
    ],
)
def test_a_word_that_is_no_step_is_left_alone(source: str) -> None:
    assert bare_steps(source) == [], source


def test_the_package_spells_no_step_as_a_bare_string() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {word!r} (use Step)"
        for path in SOURCES
        for line, word in bare_steps(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_a_step_word_this_version_does_not_know_reads_back_as_text(
    tmp_path: Path, cli: Cli
) -> None:
    """An older or newer airgap's step: ``ledger show`` keeps its word; the audit report, which
    reports only a ledger that verifies, refuses it by its word (exit 4), never a crash."""
    assert Step.of("media.scan") is Step.MEDIA_SCAN
    assert Step.of("cssm.sync") == "cssm.sync" and not isinstance(Step.of("cssm.sync"), Step)
    key = SecretKey.generate()
    ledger = tmp_path / "ledger.jsonl"
    write_entries(ledger, key, [entry(key, "validate", "ok"), entry(key, "cssm.sync", "ok")])
    run = cli("ledger", "show", "--ledger", ledger)
    assert run.code == 0, run.err
    assert "cssm.sync" in run.out and "validate" in run.out
    out = tmp_path / "audit.json"
    run = cli(
        "audit", "report", "--ledger", ledger, "--since", "2000-01-01", "--out", out,
        "--format", "json",
    )  # fmt: skip
    assert run.code == 4, run.out + run.err
    assert "unknown step 'cssm.sync'" in run.err and "Traceback" not in run.err
    assert not out.exists()
