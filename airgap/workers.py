"""Work spread over every core, results in input order, memory bounded by a window.

Used where the work per item is CPU-bound Python (validation, ledger signatures). Worker
processes are forked on Linux so they inherit what the parent loaded; they ignore Ctrl-C,
which the parent handles.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

FIRST_CHUNK = 16  # items in each of the first tasks (see ordered_map)
TASK_BYTES = 1 << 20  # what one task's items may carry before it is sent

T = TypeVar("T")
R = TypeVar("R")


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _start(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.enable()  # the parent rests its collector while workers run (see ordered_map)
    if initializer is not None:
        initializer(*initargs)


class _Ready:
    """A result already at hand, in the same queue as the futures."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


def _each(fn: Callable[[T], R], items: list[T]) -> list[R]:
    """One task in a worker. Its collector rests while the task runs: the results grow to a
    few thousand objects, which it would otherwise scan again and again (a tenth of the
    task's time). The objects a task let go in cycles are collected once it is done."""
    with _collector_resting():
        return [fn(item) for item in items]


@contextmanager
def _collector_resting() -> Iterator[None]:
    """The cyclic collector off while the block runs, then as it was before."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def ordered_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    jobs: int = 0,
    window: int = 64,
    chunk: int = 1,
    needs_work: Callable[[T], bool] = lambda _: True,
    serial_below: int = 16,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    before_fork: Callable[[], None] | None = None,
    weigh: Callable[[T], int] = lambda _: 0,
) -> Iterator[R | T]:
    """``fn(item)`` for items that need work, the item itself otherwise, in input order.

    Runs in this process when ``jobs`` is 1 or fewer than ``serial_below`` of the first
    ``window * FIRST_CHUNK`` items need work; else in ``jobs`` worker processes (0: every
    core), after ``before_fork`` has loaded in the parent what every worker would otherwise
    load again.
    Items that need work in a row go to a worker together, up to ``chunk`` of them (fewer
    round trips when each item is quick); at most ``window`` such tasks are in flight. Tasks
    start at ``FIRST_CHUNK`` items and double every ``window`` tasks up to ``chunk``: a few
    hundred files still keep every core busy, and 100,000 go in a few large tasks (each round
    trip costs the parent about half a millisecond). A task is sent sooner once what its
    items carry (``weigh``: bytes) reaches ``TASK_BYTES``, so the window holds about ``window``
    MiB at most, whatever the items' sizes.
    """
    items = iter(items)
    jobs = jobs or default_jobs()
    head = list(itertools.islice(items, window * min(chunk, FIRST_CHUNK)))
    if jobs == 1 or sum(map(needs_work, head)) < serial_below:
        if initializer is not None:
            initializer(*initargs)
        for item in itertools.chain(head, items):
            yield fn(item) if needs_work(item) else item
        return
    if before_fork is not None:
        before_fork()
    # Forked workers share the parent's memory until they write to it; the cyclic collector
    # in a worker would write to every object it scans. Frozen objects are never scanned.
    # The parent then mostly unpickles results: containers by the thousand and no cycles, which
    # the collector would only scan again and again (a tenth of the parent's time), so it rests.
    with _collector_resting():
        gc.freeze()
        try:
            yield from _in_workers(
                fn,
                itertools.chain(head, items),
                jobs,
                window,
                chunk,
                needs_work,
                weigh,
                initializer,
                initargs,
            )
        finally:
            gc.unfreeze()


def _in_workers(
    fn: Callable[[T], R],
    items: Iterable[T],
    jobs: int,
    window: int,
    chunk: int,
    needs_work: Callable[[T], bool],
    weigh: Callable[[T], int],
    initializer: Callable[..., None] | None,
    initargs: tuple[Any, ...],
) -> Iterator[R | T]:
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start, initargs=(initializer, initargs)
    ) as pool:
        pending: deque[Future[list[R]] | _Ready] = deque()
        for task in _tasks(items, needs_work, chunk, window, weigh):
            pending.append(task if isinstance(task, _Ready) else pool.submit(_each, fn, task))
            while len(pending) >= window:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _tasks(
    items: Iterable[T],
    needs_work: Callable[[T], bool],
    chunk: int,
    window: int,
    weigh: Callable[[T], int] = lambda _: 0,
) -> Iterator[list[T] | _Ready]:
    """The items in order as ``ordered_map`` hands them out: each run of items that need work
    as tasks (lists of them, sized as ``_growing`` says, cut once they carry ``TASK_BYTES``),
    each other item as it is."""
    sizes = _growing(min(chunk, FIRST_CHUNK), chunk, window)
    size, carried = next(sizes), 0
    batch: list[T] = []
    for item in items:
        if not needs_work(item):
            if batch:
                yield batch
                size, carried, batch = next(sizes), 0, []
            yield _Ready([item])
            continue
        batch.append(item)
        carried += weigh(item)
        if len(batch) >= size or carried >= TASK_BYTES:
            yield batch
            size, carried, batch = next(sizes), 0, []
    if batch:
        yield batch


def _growing(first: int, most: int, every: int) -> Iterator[int]:
    """Task sizes: ``first``, doubled after each ``every`` tasks, up to ``most``."""
    size = first
    while True:
        yield from itertools.repeat(size, every if size < most else 1)
        size = min(size * 2, most)
