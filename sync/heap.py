"""Garbage-collector settings for a sync, whose heap is mostly long-lived objects.

A sync keeps thousands of botocore clients alive (each one's event handlers are ~900 objects
the collector tracks), and Python's default thresholds (700, 10, 10) run a full collection each
time that heap grows by a quarter. Traced on org-2000: 36 full collections in the first 250 s,
up to 8 s each, froze the event loop for 29% of the time, finding nearly no garbage (the
objects are alive). Reference counting frees almost everything a sync drops; the collector is
only needed for cycles, most of which die young. Larger young generations (10,000 new
objects) and a full collection only after 100 middle-generation ones (instead of 10) keep
each pause short and full collections rare (traced: GC 33 s of 314 s, one full collection).
The cost: cycles that outlive the young generations wait longer, so a sync must not make
cycles per call (sync/aws/calls.py). The rise of peak RSS first blamed partly on these
settings was clients that had lost their shared SSL context (org-500: 1.45 GB once fixed).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

SYNC_THRESHOLDS = (10_000, 10, 100)


@contextmanager
def long_lived_heap() -> Iterator[None]:
    """Tune the collector for a sync; the process's previous thresholds come back after it."""
    before = gc.get_threshold()
    gc.set_threshold(*SYNC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def leave_heap_to_the_os() -> None:
    """Spare an exiting process its final full collection.

    At exit CPython collects every generation, but not the permanent one that `gc.freeze` moves
    all objects to. A sync's heap at its end is mostly garbage in reference cycles, since a full
    collection is rare during a sync. Measured on org-500: 5.3 M of 5.7 M objects were garbage
    (tenacity's state of every call was one cycle, 37 objects, since fixed in sync/aws/calls.py),
    and collecting them took 15.8 s; the process spent 17 s between its last line of output and
    its exit. The OS reclaims the memory at once.
    """
    gc.freeze()
