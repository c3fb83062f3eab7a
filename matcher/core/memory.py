"""Give freed memory back to the system, so that a long run's peak stays that of one of its parts."""

from __future__ import annotations

import ctypes
import gc
import sys

_TRIM = None  # glibc's malloc_trim; False where there is none


def release_memory() -> None:
    """A garbage collection, the unused memory of pyarrow's pool (when pyarrow is loaded), and
    glibc's ``malloc_trim`` where there is one: the free pages of the C heap, which a freed frame
    leaves spread over pages the next ones only partly reuse, go back to the system.

    Called between the chunks of a batch, after each piece of a streamed read, and by a Dask
    worker after each chunk."""
    global _TRIM
    gc.collect()
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    if _TRIM is None:
        try:
            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc: the memory is reused by the next part anyway
            _TRIM = False
    if _TRIM:
        _TRIM(0)
