"""Validate many files on every core, in input order, with memory bounded by a window.

The parent walks folders and archives and feeds XML items to worker processes; results come
back in input order, so output is the same whatever the number of jobs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeGuard

from airgap import inputs
from airgap.findings import Finding, problem
from airgap.inputs import Entry, Item
from airgap.validate import engine
from airgap.workers import ordered_map

Result = Entry | engine.Checked

CHUNK = 128  # files per task, at most: fewer round trips to the workers (see ordered_map)
WINDOW = 8  # tasks in flight; archive members travel with their bytes (workers.TASK_BYTES)


def _validated(entry: Entry) -> TypeGuard[Item]:
    return isinstance(entry, Item) and entry.sniff.family != "capture"


def _check(levels: Mapping[str, str], item: Item) -> engine.Checked | Finding:
    try:
        data = item.read()
    except OSError as exc:
        return problem(item.path, exc.strerror or str(exc))
    return engine.check_file(data, item.parts[0], levels, item.parts[1:])


def check_entries(
    entries: Iterable[Entry], levels: Mapping[str, str], jobs: int = 0
) -> Iterator[Result]:
    """Each XML item checked on its own (:class:`engine.Checked`, or a problem when it
    cannot be read any more); other entries unchanged, all in input order. The rule levels
    travel with each task of CHUNK files, so a worker keeps no setting of its own."""
    yield from ordered_map(
        functools.partial(_check, dict(levels)),
        entries,
        jobs=jobs,
        window=WINDOW,
        chunk=CHUNK,
        needs_work=_validated,
        before_fork=engine.warm,
        weigh=inputs.carried,
    )
