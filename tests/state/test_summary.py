"""Summaries at site scale: what ``health``, ``deadlines`` and ``reconcile`` keep per device
must give exactly the verdicts the full states give."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from airgap.formats.common import Udi
from airgap.lab import cssm, fleet
from airgap.state import deadlines, evidence, health, reconcile
from airgap.state.devices import compact, group
from airgap.state.model import DeviceState, Report, Stamp
from tests.conftest import FIELD, SAMPLES

TODAY = date(2026, 11, 2)
UDI = Udi("C9300-24UX", "FCW2437L0TZ")


def _lab(tmp_path: Path, devices: int = 12) -> list[str]:
    """A lab fleet, its ACKs and after-import captures, written as the lab commands do."""
    from airgap import xml
    from airgap.formats import read_xml
    from airgap.formats.usage import UsageFile

    fleet.write(tmp_path / "fleet", devices, seed=3)
    usage = sorted((tmp_path / "fleet" / "usage").iterdir())
    docs = [(p.name, p.read_bytes()) for p in usage]
    models = [read_xml(xml.parse(data)) for _, data in docs]
    parsed = [
        (name, data, doc.model)
        for (name, data), doc in zip(docs, models, strict=True)
        if doc is not None and isinstance(doc.model, UsageFile)
    ]
    when = cssm.processed_at([m for _, _, m in parsed])
    answers = [cssm.answer(name, data, model, when) for name, data, model in parsed]
    cssm.write(tmp_path / "cssm", answers, answers)
    return [str(tmp_path / "fleet"), str(tmp_path / "cssm")]


def _verdicts(found: evidence.Evidence) -> tuple[object, ...]:
    matched = reconcile.reconcile(found)
    due = deadlines.deadlines(found.states, TODAY, 14, found.acks)
    site = health.health(found.states, TODAY, health.Thresholds(), found.acks)
    return (
        [d.to_dict() for d in matched.devices],
        [reconcile.finding_dict(f) for f in matched.findings],
        [d.to_dict() for d in due],
        [d.to_dict() for d in site.devices],
        [(p.path, p.message, p.exit_code) for p in found.problems],
    )


def test_summaries_give_the_verdicts_of_full_states(tmp_path: Path) -> None:
    paths = [*_lab(tmp_path), str(SAMPLES)] + ([str(FIELD)] if FIELD.exists() else [])
    full, summary = evidence.load(paths), evidence.load(paths, summary=True)
    assert _verdicts(summary) == _verdicts(full)

    # the lab's four commands per capture file came back as one state per file
    def lab(found: evidence.Evidence) -> int:
        return sum(str(tmp_path) in (s.path or "") for s in found.states)

    assert (lab(full), lab(summary)) == (24 * 4, 24)
    assert all(not s.unparsed_lines and not s.licenses for s in summary.states)


def _reconciled(found: evidence.Evidence) -> tuple[object, ...]:
    matched = reconcile.reconcile(found)
    return (
        [d.to_dict() for d in matched.devices],
        [reconcile.finding_dict(f) for f in matched.findings],
        matched.counts(),
        [(p.path, p.message, p.exit_code) for p in found.problems],
    )


def test_reconcile_summaries_give_the_reconciliation_of_full_states(tmp_path: Path) -> None:
    """What reconcile keeps of a capture summary (``evidence.reconciled``) reconciles as the
    full states do: the lab fleet with its ACKs and after-import captures, the samples and
    the field captures; a stack's members, a report shown as ACK by only one command of a
    file, and captures that name no UDI among them."""
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "sw1.txt").write_text(
        "sw1#show license udi\n"
        "SlotID   PID                      SN              UDI\n"
        "*        C9300-24UX               FCW2437L0TZ     C9300-24UX:FCW2437L0TZ\n\n"
        "sw1#show license rum id all\n"
        "Report Id,          State,    Flag, Feature Name\n"
        "1700000001          CLOSED    N     network-advantage\n\n"
        "sw1#show license rum id 1700000001 detail\n"
        "Report Id: 1700000001\n  State: ACK\n"
    )
    paths = [*_lab(tmp_path / "lab"), str(tmp_path / "mixed"), str(SAMPLES)]
    paths += [str(FIELD)] if FIELD.exists() else []
    full = evidence.load(paths)
    summary = evidence.load(paths, summary=True, reduce=evidence.reconciled)  # in the workers
    assert _reconciled(summary) == _reconciled(full)
    assert all(
        s.policy is None and not s.history and not s.licenses and not s.report_summary
        for s in summary.states
    )
    assert all(r.state == "ACK" for s in summary.states for r in s.reports)


def _state(
    clock: str | None = None,
    reports: tuple[Report, ...] = (),
    udi: Udi | None = UDI,
    hostname: str | None = "sw1",
) -> DeviceState:
    return DeviceState(
        "show-license-status",
        "site/sw1.txt",
        udi=udi,
        udi_source="capture" if udi else None,
        hostname=hostname,
        clock=Stamp(clock, clock) if clock else None,
        clock_source="show clock" if clock else None,
        reports=reports,
    )


def test_one_device_in_one_file_is_one_state() -> None:
    states = [_state("2026-11-01T10:00:00Z"), _state(reports=(Report(7, "ACK"),))]
    merged = compact(states)
    assert len(merged) == 1 and merged[0].path == "site/sw1.txt"
    assert group(merged)[0].state == group(states)[0].state


def test_states_that_would_merge_differently_stay_apart() -> None:
    older_first = [_state("2026-11-01T10:00:00Z"), _state("2026-11-02T10:00:00Z")]
    assert compact(older_first) == older_first  # the file's newest clock would be lost
    ack_hidden = [_state(reports=(Report(7, "CLOSED"),)), _state(reports=(Report(7, "ACK"),))]
    assert compact(ack_hidden) == ack_hidden  # report 7 shown as ACK would be lost
    two_names = [_state(udi=None, hostname="sw1"), _state(udi=None, hostname="sw2")]
    assert compact(two_names) == two_names  # two devices, never merged


def _captured(tmp_path: Path) -> list[DeviceState]:
    """Every state of the sample captures, the field captures when present, and a lab fleet's
    after-import captures, as parsed."""
    from airgap.state.parse import parse_capture

    roots = [SAMPLES, tmp_path] + ([FIELD] if FIELD.exists() else [])
    _lab(tmp_path, devices=6)
    found = [
        parse_capture(path.read_text(errors="replace"), str(path))
        for root in roots
        for path in sorted(root.rglob("*.txt"))
    ]
    return [state for states in found for state in states]


def test_states_come_back_from_a_worker_as_they_went(tmp_path: Path) -> None:
    """Pickled as calls with their fields (how workers send them), states, summaries and
    diff parts come back equal; equal policies sent apart come back as one object."""
    import pickle

    states = _captured(tmp_path)
    assert len(states) > 20
    for made in (
        states,
        [evidence.summarise(s) for s in states],
        [evidence.reconciled(s) for s in states],
        [evidence.diff_parts(s) for s in states],
    ):
        assert pickle.loads(pickle.dumps(made)) == made
    policies = [pickle.loads(pickle.dumps(s)).policy for s in states if s.policy is not None]
    assert len(policies) > 1
    for policy in policies:
        assert next(p for p in policies if p == policy) is policy


def test_health_words_each_devices_checks_by_the_thresholds_it_was_judged_by(
    tmp_path: Path,
) -> None:
    """Checks are worded when asked for, from what the device was judged by: with a warning
    window wider than the lab's deadlines every device is a warning, and its checks say so."""
    found = evidence.load(_lab(tmp_path), summary=True)
    limits = health.Thresholds(warn_days=400, crit_days=0)
    site = health.health(found.states, TODAY, limits, found.acks)
    assert site.devices
    for device in site.devices:
        assert device.level is health.Level.WARNING
        assert device.level == health.worst(c.level for c in device.checks)
        assert device.checks == device.checks
