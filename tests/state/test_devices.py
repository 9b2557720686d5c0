"""Grouping captures into devices: the newest session wins, whatever the input order."""

from __future__ import annotations

import dataclasses

from airgap.lab import captures, fleet
from airgap.state.devices import group
from airgap.state.parse import parse_capture


def test_after_import_capture_wins_over_before_in_any_order() -> None:
    dev = fleet.device(1, 2)
    before = parse_capture(fleet.before_capture(dev).decode(), "before/d.txt")
    rows = [(r.report_id, r.license, 1, "ACK") for r in dev.reports]
    after_state = fleet.device_state(dev.udi, rows, last_ack=fleet.LAB_NOW, pushed=dev.saved)
    after = parse_capture(captures.render(after_state), "after/d.txt")
    for states in (before + after, after + before):
        [device] = group(states)
        assert device.state.usage_reporting == after[0].usage_reporting
        assert {r.state for r in device.state.reports} == {"ACK"}
        assert device.paths[0] in ("before/d.txt", "after/d.txt")


def test_without_times_the_first_capture_says_first() -> None:
    dev = fleet.device(1, 3)
    [status, *_] = parse_capture(fleet.before_capture(dev).decode(), "a.txt")
    bare = dataclasses.replace(status, usage_reporting=None, path="x/1.txt", hostname="one")
    other = dataclasses.replace(bare, path="x/2.txt", hostname="two")
    assert group([bare, other])[0].state.hostname == "one"
    assert group([other, bare])[0].state.hostname == "two"
