"""Grouping captures into devices: the newest session wins, whatever the input order."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from airgap.lab import captures, fleet
from airgap.state.devices import group
from airgap.state.model import DeviceState
from airgap.state.parse import parse_capture
from tests.conftest import FIELD, SAMPLES


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


def _named(udi: bool, path: str, hostname: str | None, inventory: str | None = None) -> DeviceState:
    """A lab status capture as it would name its device: by UDI, inventory name or host."""
    dev = fleet.device(1, 3)
    [status, *_] = parse_capture(fleet.before_capture(dev).decode(), "a.txt")
    return dataclasses.replace(
        status,
        path=path,
        hostname=hostname,
        udi=status.udi if udi else None,
        udi_source="capture" if udi else None,
        collected={"device": inventory} if inventory else {},
    )


def test_a_host_device_joins_the_one_udi_device_showing_its_host_in_its_folder() -> None:
    udi = _named(True, "site/udi.txt", "sw1")
    host = _named(False, "site/host.txt", "sw1")
    elsewhere = _named(False, "other/host.txt", "sw1")
    devices = group([udi, host, elsewhere])
    assert [d.key for d in devices] == [str(udi.udi), "host:sw1 in other"]
    assert devices[0].paths == ("site/udi.txt", "site/host.txt")


def test_a_host_two_udi_devices_show_joins_neither() -> None:
    one = _named(True, "site/one.txt", "sw1")
    two = dataclasses.replace(_named(True, "site/two.txt", "sw1"), udi=fleet.device(2, 3).udi)
    host = _named(False, "site/host.txt", "sw1")
    assert len(group([one, two, host])) == 3


def test_names_a_joined_capture_shows_are_the_udi_devices_names_from_then_on() -> None:
    udi = _named(True, "site/udi.txt", None, inventory="inv1")
    named = _named(False, "site/inv.txt", "sw9", inventory="inv1")
    host = _named(False, "site/host.txt", "sw9")  # only the inventory capture shows sw9
    [device] = group([udi, named, host])
    assert device.paths == ("site/udi.txt", "site/inv.txt", "site/host.txt")


def test_one_capture_merges_as_it_would_with_itself() -> None:
    """A device of one capture (most of a site) is merged as the same capture twice is:
    repeats dropped, reports in order by id."""
    from airgap.state.devices import merge
    from airgap.state.model import License, Report
    from tests.conftest import SAMPLES

    states = [
        state
        for path in sorted(SAMPLES.rglob("*"))
        if path.is_file() and path.suffix in (".txt", ".log")
        for state in parse_capture(path.read_text(errors="replace"), str(path))
    ]
    twice = License("network-advantage", "regid.x", 1, "IN USE")
    states.append(
        DeviceState(
            "show-license-all",
            path="a.txt",
            licenses=(twice, twice),
            reports=(Report(3, "OPEN"), Report(1, None, "N"), Report(1, "ACK")),
        )
    )
    assert len(states) > 10
    for state in states:
        assert merge([state]) == merge([state, state])


def test_a_captures_folder_is_its_paths_parent() -> None:
    from pathlib import PurePath

    from airgap.state.devices import identify

    for path in ("a/b/c.txt", "c.txt", "/c.txt", "a//b/./c.txt", "./c", "a/b/", "a/..", "//a/b"):
        state = DeviceState("show-license-status", path=path)
        assert identify(state).folder == str(PurePath(path).parent)
    member = DeviceState(
        "show-license-status", path="x/site.tar!inner/c.txt", source=("x/site.tar", "inner/c.txt")
    )
    assert identify(member).folder == "x"  # the archive's folder, from the walk's parts


def _merged_by_value(states: list[DeviceState]) -> DeviceState:
    """``merge`` as its docstring says it, each value looked at for what it is: reports by id,
    sets and tuples joined in order without repeats, dicts with the first state's keys
    winning, else the first value set; a value only one state has is its own object."""
    from airgap.state.devices import _reports

    def joined(values: tuple[Any, ...]) -> Any:
        first, held = values[0], [v for v in values if v]
        if isinstance(first, frozenset):
            return frozenset().union(*values)
        if not isinstance(first, tuple | dict):
            return next((v for v in values if v is not None), None)
        if not held:
            return first
        if len(held) == 1 and (isinstance(first, dict) or len(held[0]) < 2):
            return held[0]
        if isinstance(first, dict):
            return {k: v for value in reversed(values) for k, v in value.items()}
        together = tuple(dict.fromkeys(v for value in values for v in value))
        return first if together == first else together

    fields = {f.name: [getattr(s, f.name) for s in states] for f in dataclasses.fields(states[0])}
    values = {name: joined(tuple(found)) for name, found in fields.items()}
    reports = _reports(fields["reports"])
    values["reports"] = fields["reports"][0] if reports == fields["reports"][0] else reports
    return DeviceState(**{**values, "kind": "device", "path": None, "source": ()})


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_merge_joins_each_field_as_its_values_ask(data: st.DataObject) -> None:
    from airgap.state.devices import merge

    states = data.draw(st.lists(st.sampled_from(_ALL_STATES) | _REPEATS, min_size=2, max_size=5))
    got, want = merge(states), _merged_by_value(states)
    assert got == want
    assert [type(v) for v in dataclasses.astuple(got)] == [
        type(v) for v in dataclasses.astuple(want)
    ]


def _states_of_every_capture() -> list[DeviceState]:
    files = [p for root in (SAMPLES, FIELD) if root.is_dir() for p in sorted(root.rglob("*.txt"))]
    return [
        state
        for path in files
        for unparsed in (True, False)
        for state in parse_capture(path.read_text(errors="replace"), str(path), unparsed=unparsed)
    ]


_ALL_STATES = _states_of_every_capture()
# states whose lists hold repeats, as a capture printing a line twice gives
_REPEATS = st.sampled_from(_ALL_STATES).map(
    lambda s: dataclasses.replace(
        s, trust_codes=s.trust_codes * 2, history=s.history * 2, licenses=s.licenses * 2
    )
)
