"""Pausing Python's cyclic garbage collector around work that builds large, acyclic object graphs.

Rendering a spoke, loading a fleet and decoding LIST answers each create hundreds of thousands of dicts and lists
that all stay alive. Each allocation burst triggers collections that scan them again and again, which cost a
third of a render. Reference counting still frees everything as usual; the collector runs again afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
