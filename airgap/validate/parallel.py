"""Validate many files on every core, in order, with memory bounded by a window of files.

The parent walks folders and archives and feeds XML items to worker processes; results come
back in input order, so output is the same whatever the number of jobs. At most ``WINDOW``
files are in flight, so memory stays flat however many files there are.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeGuard

from airgap.inputs import Entry, Item, Problem
from airgap.validate import engine

WINDOW = 64  # files in flight
SERIAL_BELOW = 16  # fewer XML files than this are not worth starting workers for

Result = Entry | engine.Checked

_levels: Mapping[str, str] = {}


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _validated(entry: Entry) -> TypeGuard[Item]:
    return isinstance(entry, Item) and entry.sniff.family != "capture"


def _check(item: Item, levels: Mapping[str, str] | None = None) -> engine.Checked | Problem:
    try:
        data = item.read()
    except OSError as exc:
        return Problem(item.path, exc.strerror or str(exc))
    return engine.check_file(data, item.path, _levels if levels is None else levels)


def _start_worker(levels: Mapping[str, str]) -> None:
    global _levels  # each worker process keeps the levels it was given
    _levels = levels
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


class _Ready:
    """A result already at hand, in the same queue as the futures."""

    def __init__(self, value: Result) -> None:
        self.value = value

    def result(self) -> Result:
        return self.value


def check_entries(entries: Iterable[Entry], levels: Mapping[str, str],
                  jobs: int = 0) -> Iterator[Result]:
    """Each XML item checked on its own (:class:`engine.Checked`, or a :class:`Problem` when it
    cannot be read any more); other entries unchanged, all in input order."""
    entries = iter(entries)
    jobs = jobs or default_jobs()
    head = list(itertools.islice(entries, WINDOW))
    if jobs == 1 or sum(map(_validated, head)) < SERIAL_BELOW:
        for entry in itertools.chain(head, entries):
            yield _check(entry, levels) if _validated(entry) else entry
        return
    engine.warm()  # schemas compiled once, then inherited by forked workers
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                             initargs=(dict(levels),)) as pool:
        pending: deque[Future[engine.Checked | Problem] | _Ready] = deque()
        for entry in itertools.chain(head, entries):
            pending.append(pool.submit(_check, entry) if _validated(entry) else _Ready(entry))
            if len(pending) >= WINDOW:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
