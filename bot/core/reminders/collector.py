"""Pausing Python's cyclic garbage collector while a chunk of reminders is claimed and worded.

Wording a chunk makes tens of thousands of short-lived objects (ORM rows, the groups' state,
message blocks). Nearly all are freed by reference counting when the chunk's session ends, but
while they live they set off collections, and every full collection walks the whole process
heap: in the 09:00 burst that was a quarter of the CPU spent. Paused for the chunk, the
collector runs as usual between chunks, and what few cycles a chunk leaves are collected then.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False  # whether the collector was running when the first pause began


@contextmanager
def paused_collector() -> Iterator[None]:
    """Run the block with automatic garbage collection off; it is back on afterwards (if it
    was on before), also after an error. Pauses may overlap (threads, nesting): the last one
    to end resumes it."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
