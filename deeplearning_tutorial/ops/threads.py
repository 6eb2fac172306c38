"""Every core for a compiled loop: blocks of its work on Python threads, the GIL released.

The compiled loops (`im2col`, `loops`, `blas_kernels`) are Numba functions with
``nogil=True``: once called, they run without Python's lock, so plain
Python threads run them side by side.  `split` hands out blocks of a
loop's items to a small pool of threads and to the calling thread, a block
at a time, until none is left: a thread slowed down by another program on
its core takes fewer blocks instead of holding up the others.

Plain threads rather than Numba's ``parallel=True``, whose compilation
is slower (every cold start pays it) and whose threads, like BLAS's, may
busy-wait after each loop.  These threads sleep when idle.  Each block
does the same arithmetic whichever thread runs it, so results do not
depend on the number of threads.
"""

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

#: Threads that run blocks, the calling thread included: the cores this process may use.
THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

_pool = None


def _executor():
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(THREADS - 1, thread_name_prefix="deeplearning_tutorial")
    return _pool


# Blocks per thread: enough that a slowed thread takes fewer, few enough
# that calling into compiled code (microseconds each) stays negligible.
_BLOCKS_PER_THREAD = 4


def split(kernel, n_items, *args, grain=1):
    """``kernel(*args, first, stop)`` over ranges that cover ``range(n_items)``, on up to `THREADS` threads.

    Each range holds at least ``grain`` items (when there are that many):
    handing a block to another thread costs tens of microseconds, more
    than a small block's work.  Returns when all are done; an exception in
    any range is raised here.  How the items are cut into ranges must not
    change the results: each kernel does the same work on an item
    whichever range holds it.
    """
    n_blocks = min(n_items // max(1, grain), THREADS * _BLOCKS_PER_THREAD)
    if THREADS == 1 or n_blocks <= 1:
        if n_items:
            kernel(*args, 0, n_items)
        return
    bounds = [n_items * block // n_blocks for block in range(n_blocks + 1)]
    blocks = itertools.count()  # next() on it is atomic under the GIL

    def work():
        for block in blocks:
            if block >= n_blocks:
                return
            kernel(*args, bounds[block], bounds[block + 1])

    pool = _executor()
    helping = [pool.submit(work) for _ in range(min(THREADS, n_blocks) - 1)]
    try:
        work()
    finally:
        for future in helping:
            future.result()
