"""Keep the cyclic garbage collector from rescanning what the recorder builds.

Building a graph of tens of thousands of small objects triggers full collections that scan
everything alive (the graph itself included) again and again; nothing built here is cyclic
garbage, so collection can wait until the end (:func:`paused`), and what was built then goes
straight to the oldest generation (:func:`promote`). While a recording runs, the
log keeps every node, tensor and copy alive, so each young collection (every 700 new
objects by default) walks objects that reference counting frees anyway when the recording
is dropped; :func:`relax` makes those collections rarer for as long as a recording runs.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused(keep: bool = True) -> Iterator[None]:
    """``with paused():`` runs its body with automatic garbage collection off. ``keep``: the
    body builds what lives on (a graph model), so at the end of the outermost ``paused``
    (where collection was on) everything alive moves to the oldest generation
    (:func:`promote`), and what is young before it is collected first where that is cheap
    (:data:`YOUNG_FIRST`), so that garbage made before the build is not promoted with it;
    ``keep=False`` for a body whose objects are temporaries."""
    was = gc.isenabled()
    keep = keep and was and not gc.get_freeze_count()  # (see promote)
    if keep and gc.get_count()[0] <= YOUNG_FIRST:
        gc.collect(0)
    gc.disable()
    try:
        yield
    finally:
        if was:
            if keep:
                promote()
            gc.enable()


#: :func:`paused` collects the young generation before a build when it holds at most this
#: many objects (always outside a recording, where young collections come every 700; a
#: replay during a recording finds the log's objects there, alive, and skips it).
YOUNG_FIRST = 10_000


def promote() -> None:
    """Move every object the collector tracks into its oldest generation, walking none.

    A graph of a long recording is hundreds of thousands of objects that all live on. Made
    young, each would be walked by the next young collection, again by the middle
    generation's, and again by a full collection soon after (CPython 3.11: ~0.4 s after a
    1000-step recorded training loop, a quarter of the cell). ``gc.freeze()`` followed by
    ``gc.unfreeze()`` moves them there in constant time. Garbage cycles among them are still
    collected, by the next full collection instead of a young one. Skipped while the
    process keeps objects frozen (``gc.get_freeze_count()``), which ``unfreeze`` would
    undo: frozen on purpose (before forking), or by the interpreter itself (CPython 3.12
    starts with a few hundred tuples frozen), where graphs stay where they are made."""
    if not gc.get_freeze_count():
        gc.freeze()
        gc.unfreeze()


#: The young generation's collection threshold while a recording runs (see :func:`relax`;
#: CPython's default is 700): cyclic garbage made by the recorded code still goes, after at
#: most this many new objects.
RECORDING_THRESHOLD = 100_000
_relaxed: list = [0, None]  # [open relax() calls, (thresholds before, thresholds set) or None]


def relax() -> None:
    """Collect the young generation less often until the matching :func:`unrelax`
    (re-entrant; a threshold of 0, automatic collection off, or one already higher is left
    as it is)."""
    _relaxed[0] += 1
    if _relaxed[0] == 1:
        before = gc.get_threshold()
        if before[0] and before[0] < RECORDING_THRESHOLD:
            gc.set_threshold(RECORDING_THRESHOLD, *before[1:])
            _relaxed[1] = (before, gc.get_threshold())
        else:
            _relaxed[1] = None


def unrelax() -> None:
    """End one :func:`relax`; the last one puts the thresholds back (unless changed since)."""
    if _relaxed[0] == 0:
        return
    _relaxed[0] -= 1
    if _relaxed[0] == 0 and _relaxed[1] is not None:
        before, mine = _relaxed[1]
        _relaxed[1] = None
        if gc.get_threshold() == mine:
            gc.set_threshold(*before)
