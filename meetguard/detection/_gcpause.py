"""Python's cyclic garbage collector paused while a detection batch runs.

A warm process holds ~285,000 objects the collector tracks (spaCy, Presidio, phonenumbers,
tldextract's suffix trie, torch's functions that thinc imports). A 3,000-message batch keeps
enough objects alive for a while (spaCy's Docs of a decode, the hits) that CPython's
heuristic starts one full collection in the middle of it, and a full collection walks every
one of those objects: ~0.15 s of a ~3.5 s batch on quiet cores, none of which finds garbage
the batch made (it frees its objects by reference counting when they go out of use).

:func:`paused` switches automatic collection off for the batch and back on after it, in a
``finally``, so an error never leaves it off. Nothing is skipped: objects are freed by
reference counting as before, and any cycle the batch makes is found by the first collection
after it. Unlike ``gc.freeze()`` (measured, not adopted) nothing stays exempt afterwards:
a Guard dropped later is collected as usual.

Safe for embedders: the switch is process-wide, so overlapping batches (the sidecar's
concurrent requests, threads of an embedder) share one count; collection comes back when the
last of them ends, and only if it was on when the first began (an application that runs with
``gc.disable()`` keeps it off). A pass that ends while another still runs collects the two
young generations itself (``gc.collect(1)``: the objects made since, not the warm models), so
a sidecar under steady overlapping load still frees its cycles; only a full collection waits
for a moment with no pass running. A pass nested in one of its own thread's (``Detector.detect``
inside the guard's text pass) leaves that to the outer one. An embedder that calls ``gc.disable()`` while a batch runs
has it enabled again when the batch ends; ``gc.collect()`` still works at any time.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_LOCK = threading.Lock()
_active = 0           # batches running now
_reenable = False     # the collector was on when the first of them began
_mine = threading.local()   # this thread's depth (Detector.detect inside the guard's pass)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Automatic cyclic collection off inside the block (see the module doc)."""
    global _active, _reenable
    depth = getattr(_mine, "depth", 0)
    _mine.depth = depth + 1
    with _LOCK:
        if _active == 0:
            _reenable = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        _mine.depth = depth
        with _LOCK:
            _active -= 1
            last = _active == 0
            if last and _reenable:
                gc.enable()
        if not last and _reenable and depth == 0:
            # another pass still runs (a sidecar under steady load may never have none): the
            # young generations now, so cycles made meanwhile never wait for a gap in the load
            gc.collect(1)
