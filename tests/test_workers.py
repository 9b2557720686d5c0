"""Work spread over worker processes comes back complete and in input order, and validation
says the same whatever the number of jobs."""

from __future__ import annotations

import gc
import itertools
import json
import os
import time
from pathlib import Path
from typing import TypeGuard

import pytest

from airgap.workers import TASK_BYTES, _each, _growing, _tasks, ordered_map
from tests.conftest import Cli
from tests.formats.helpers import payload, report_xml


def square(n: int) -> int:
    return n * n


def odd(n: int) -> bool:
    return n % 2 == 1


def test_chunks_keep_input_order_and_pass_other_items_through() -> None:
    items = list(range(200))
    expected = [n * n if n % 2 else n for n in items]
    for chunk in (1, 3, 8):
        got = list(
            ordered_map(
                square, items, jobs=2, window=4, chunk=chunk, needs_work=odd, serial_below=1
            )
        )
        assert got == expected, chunk


def pid_of(_: int) -> int:
    time.sleep(0.002)  # so one worker cannot take every task before the other starts
    return os.getpid()


def _listed(task: list[int] | object) -> TypeGuard[list[int]]:
    """A task of items (not an item passed on as it is)."""
    return isinstance(task, list)


def test_tasks_grow_from_the_first_size_to_the_chunk() -> None:
    assert list(itertools.islice(_growing(16, 64, 2), 9)) == [16, 16, 32, 32, 64, 64, 64, 64, 64]
    assert list(itertools.islice(_growing(8, 8, 4), 3)) == [8, 8, 8]
    every = [t for t in _tasks(range(1000), lambda _: True, chunk=64, window=2) if _listed(t)]
    assert [len(t) for t in every] == [16, 16, 32, 32, *[64] * 14, 8]
    assert [n for t in every for n in t] == list(range(1000))
    # an item that needs no work ends the task before it and goes on its own
    parts = list(_tasks(range(40), lambda n: n != 20, chunk=64, window=2))
    assert [t if isinstance(t, list) else t.value for t in parts] == [
        list(range(16)),
        [16, 17, 18, 19],
        [20],
        list(range(21, 40)),
    ]
    # a task is cut once its items carry TASK_BYTES, whatever its size
    heavy = list(_tasks(range(10), lambda _: True, 256, 8, weigh=lambda _: TASK_BYTES // 4))
    assert [len(t) for t in heavy if _listed(t)] == [4, 4, 2] and len(heavy) == 3
    items = list(range(5000))
    expected = [n * n if n % 2 else n for n in items]
    got = list(ordered_map(square, items, jobs=2, window=4, chunk=256, needs_work=odd))
    assert got == expected
    # a few hundred items still reach both workers: the first tasks are small
    assert len(set(ordered_map(pid_of, range(300), jobs=2, window=4, chunk=256))) == 2


def collector_on(_: int) -> bool:
    return gc.isenabled()


def test_the_collector_rests_in_the_parent_while_workers_run_and_in_a_task() -> None:
    seen_in_parent = []
    for in_worker in ordered_map(collector_on, range(40), jobs=2, window=2, serial_below=1):
        assert not in_worker  # a task runs with its worker's collector at rest
        seen_in_parent.append(gc.isenabled())
    assert not any(seen_in_parent)
    assert gc.isenabled() and not gc.get_freeze_count()
    # the collector runs again once a task is done, also when the task failed
    assert _each(collector_on, [1, 2]) == [False, False] and gc.isenabled()
    with pytest.raises(ZeroDivisionError):
        _each(lambda n: 1 // n, [0])
    assert gc.isenabled()
    gc.disable()  # and one that was at rest before stays so
    try:
        assert _each(collector_on, [1]) == [False] and not gc.isenabled()
    finally:
        gc.enable()


def test_validate_gives_the_same_report_on_one_core_and_on_two(tmp_path: Path, cli: Cli) -> None:
    for n in range(60):  # a duplicate across files, a broken file, a skipped file
        data = report_xml(payload(1700000000 + n % 50, interval=5 if n == 30 else None))
        (tmp_path / f"u{n:02d}.xml").write_bytes(data)
    (tmp_path / "u45.xml").write_bytes(b"<smartLicense><RUMReport>")
    (tmp_path / "notes.txt").write_text("not a licensing file\n")
    one = cli("validate", "-j1", "--format", "json", tmp_path)
    two = cli("validate", "-j2", "--format", "json", tmp_path)
    assert (one.code, one.out) == (two.code, two.out)
    results = {
        Path(r["path"]).name: {f["rule"] for f in r["findings"]}
        for r in json.loads(one.out)["results"]
    }
    assert one.code == 1 and len(results) == 60
    assert results["u30.xml"] == {"sample-interval"}
    assert results["u45.xml"] == {"not-xml"}
    assert results["u55.xml"] == {"duplicate-report"}
