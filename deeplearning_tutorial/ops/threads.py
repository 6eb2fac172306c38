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

But waking a sleeping thread costs about 0.1 ms here, as much as half of
a small product's work (a minibatch of 10 times a 1 000 x 1 000 weight
matrix takes 0.4 ms).  Such products go to Numba's own team of threads
instead (`numba_team`): OpenMP's and TBB's threads spin for a moment
after each loop before they sleep, so that in a training loop, which
hands out such a product every few hundred microseconds, they are awake
when the next comes.

A loop on two threads waits for the slower: when another program holds
the second core, a team's loop of 0.2 ms can take milliseconds.  So
`on_team_if_faster` times the calls on the team and, now and then, the
same work on the calling thread alone, and takes the faster (the same
blocks either way, so the same values).
"""

import functools
import itertools
import os
import time
from concurrent.futures import ThreadPoolExecutor

from numba import njit, prange

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


@functools.cache
def numba_team():
    """Whether Numba's ``prange`` loops run on several threads that wait for work awake (OpenMP's or TBB's).

    False on one core, with ``NUMBA_NUM_THREADS=1``, or when Numba falls
    back to its ``workqueue`` threads, which sleep between loops: a loop
    of two blocks of a few hundred microseconds then costs more on two
    threads than on one.  Asking makes Numba start its threads.
    """
    import numba

    if THREADS < 2 or numba.config.NUMBA_NUM_THREADS < 2:
        return False
    _start_team(2)
    return numba.threading_layer() in ("omp", "tbb")


@njit(parallel=True, cache=True)
def _start_team(n):
    total = 0
    for i in prange(n):
        total += i
    return total


# Of the calls of one kind of work, one in `_PROBE_EVERY` runs the way not
# taken at present, to see whether it has become the faster.
_PROBE_EVERY = 64
# Weight of a new time in the running average of its way.
_SMOOTHING = 0.25
# Calls of each way first made and not timed (the team's first call starts its threads).
_WARM_UP = 1
# kind -> [calls, {True: (timed calls, average seconds) on the team, False: alone}].
_timings = {}


def on_team_if_faster(kind, on_team, alone):
    """``on_team()`` or ``alone()``, which must compute the same values: the one timed faster for ``kind`` lately.

    ``kind`` names the work and its size (calls of one kind take about
    the same time).  Without a team (`numba_team`), always ``alone()``.
    """
    if not numba_team():
        return alone()
    entry = _timings.get(kind)
    if entry is None:
        entry = _timings[kind] = [0, {True: (0, 0.0), False: (0, 0.0)}]
    entry[0] += 1
    ways = entry[1]
    if ways[True][0] <= _WARM_UP:
        use_team = True
    elif ways[False][0] <= _WARM_UP:
        use_team = False
    else:
        use_team = ways[True][1] <= ways[False][1]
        if entry[0] % _PROBE_EVERY == 0:
            use_team = not use_team
    start = time.perf_counter()
    result = on_team() if use_team else alone()
    elapsed = time.perf_counter() - start
    timed, average = ways[use_team]
    if timed > _WARM_UP:
        elapsed = average + _SMOOTHING * (elapsed - average)
    ways[use_team] = (timed + 1, elapsed if timed >= _WARM_UP else 0.0)
    return result
