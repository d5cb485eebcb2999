"""numba settings shared by every skgen kernel.

Kernels are compiled at module level with ``cache=True`` (compiled once per
machine, reused across processes) and ``nogil=True``. ``fastmath`` is never set
here: a kernel opts in only when its arithmetic has no NaN/inf guards.
"""

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor, wait

import numba

__all__ = ["jit", "resolve_n_threads", "numba_threads", "single_threaded_blas",
           "idle_cores", "blas_threads_for_load", "run_in_blocks"]


def jit(*args, **kwargs):
    """``numba.njit`` with skgen's defaults (``cache=True``, ``nogil=True``).

    Parameters
    ----------
    *args, **kwargs
        Passed to ``numba.njit``; keyword arguments override the defaults.

    Returns
    -------
    decorator or dispatcher
        As ``numba.njit``.
    """
    options = {"cache": True, "nogil": True, **kwargs}
    return numba.njit(*args, **options)


def _running_tasks():
    """(runnable tasks on the machine, runnable threads of this process), or None.

    Linux only: /proc/loadavg's fourth field counts the tasks runnable right now
    (not an average); /proc/self/task/*/stat gives each of our threads' state.
    """
    try:
        with open("/proc/loadavg") as f:
            total = int(f.read().split()[3].split("/")[0])
        own = 0
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    # The state follows the parenthesised command name.
                    own += f.read().rsplit(")", 1)[1].split()[0] == "R"
            except OSError:
                continue
        return total, own
    except (OSError, ValueError, IndexError):
        return None


def idle_cores():
    """Cores of this process's CPU set not taken by other processes right now.

    Returns
    -------
    n_idle : int
        len(sched_getaffinity) minus the runnable threads of other processes,
        at least 1; every core where the count is not available.

    Notes
    -----
    On a 2-core machine with a second busy process, a parallel region on both
    cores waits on the thread that shares a core with it (measured: a
    BernoulliMixture fit 2.2x slower on 2 BLAS threads than on 1 there); sizing
    the thread team by the idle cores avoids that straggler.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    counts = _running_tasks()
    if counts is None:
        return cores
    total, own = counts
    # Our reading thread is runnable too, and counted in both.
    others = max(total - max(own, 1), 0)
    return max(1, min(cores, cores - others))


def blas_threads_for_load():
    """Context manager limiting BLAS to :func:`idle_cores` threads.

    Returns
    -------
    context : threadpoolctl limiter
        Restores the previous limits on exit. Never raises the limit above
        what it was.
    """
    controller = _controller()
    current = [info["num_threads"] for info in controller.info()
               if info.get("user_api") == "blas"]
    return controller.limit(limits=min([idle_cores(), *current]), user_api="blas")


def resolve_n_threads(n_jobs):
    """Number of numba threads for an ``n_jobs`` parameter.

    Parameters
    ----------
    n_jobs : int or None
        None: the cores other processes leave idle right now
        (:func:`idle_cores`), at most ``NUMBA_NUM_THREADS``; -1: every thread
        numba was started with (``NUMBA_NUM_THREADS``, by default the number of
        cores); a positive int: that many, at most the former; -2: all but one,
        and so on, as joblib counts.

    Returns
    -------
    n_threads : int
        Between 1 and ``numba.config.NUMBA_NUM_THREADS``.

    Raises
    ------
    ValueError
        If ``n_jobs`` is 0 or not an integer.
    """
    top = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        return min(top, idle_cores())
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None or a non-zero integer, got {n_jobs!r}")
    if n_jobs < 0:
        return max(1, top + 1 + n_jobs)
    return min(n_jobs, top)


@contextlib.contextmanager
def numba_threads(n_jobs):
    """Context manager running numba's parallel kernels on ``n_jobs`` threads.

    Parameters
    ----------
    n_jobs : int or None
        As in :func:`resolve_n_threads`.

    Yields
    ------
    n_threads : int
        The number of threads in use.

    Notes
    -----
    The thread count is changed only when it differs: resizing the OpenMP team
    makes it rebuild (measured: +30% on a 10000-signal sparse coding call).
    """
    n_threads = resolve_n_threads(n_jobs)
    previous = numba.get_num_threads()
    if n_threads != previous:
        numba.set_num_threads(n_threads)
    try:
        yield n_threads
    finally:
        if numba.get_num_threads() != previous:
            numba.set_num_threads(previous)


_CONTROLLER = None


def _controller():
    """The one threadpoolctl controller (its library scan is done once)."""
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def single_threaded_blas():
    """Context manager limiting BLAS to one thread.

    Used around the BLAS products that feed a parallel numba kernel: OpenBLAS's
    worker threads keep spinning for a while after a threaded call and, on a
    small machine, take the cores the numba threads need next (measured: a
    2-thread kernel ran 2-3x slower right after a threaded GEMM).

    Returns
    -------
    context : threadpoolctl limiter
        Restores the previous limits on exit.
    """
    return _controller().limit(limits=1, user_api="blas")


_POOLS = {}


def _pool(n_threads):
    """This process's thread pool of ``n_threads`` workers (made once).

    Keyed by the process id too: a forked child inherits the parent's pool
    object but none of its threads.
    """
    key = (os.getpid(), n_threads)
    pool = _POOLS.get(key)
    if pool is None:
        pool = _POOLS[key] = ThreadPoolExecutor(n_threads, thread_name_prefix="skgen")
    return pool


def run_in_blocks(kernel, n_rows, n_threads, *args, blocks_per_thread=4):
    """Run ``kernel(*args, start, stop)`` over blocks of rows on a thread pool.

    The parallel loop of skgen's row-wise work: numba kernels that are serial,
    ``nogil`` functions of a row range (a ``parallel=True`` kernel would cost
    numba's parfor compilation, 1-2 s per kernel on a user's first call;
    measured: sparse coding's three kernels and LLE's two), and the mixtures'
    in-memory EM passes (NumPy and single-threaded BLAS per block). Python
    threads of one pool per process share the blocks out.

    Parameters
    ----------
    kernel : callable
        A numba dispatcher compiled with ``nogil=True`` (``jit``'s default), or
        any callable that releases the GIL in its heavy work; its last two
        arguments are the first row and one past the last.
    n_rows : int
        Rows to cover.
    n_threads : int
        Threads; 1 (or a single row) runs ``kernel(*args, 0, n_rows)`` in the
        calling thread.
    *args
        The kernel's other arguments.
    blocks_per_thread : int, default=4
        Blocks of consecutive rows per thread (several balance uneven rows).

    Returns
    -------
    results : list
        ``kernel``'s return value for each block, in row order (one entry when
        run in the calling thread).

    Raises
    ------
    Exception
        The first block's exception (in row order), once every block has
        finished.
    """
    n_blocks = min(n_rows, max(1, n_threads) * blocks_per_thread)
    if n_threads <= 1 or n_blocks <= 1:
        return [kernel(*args, 0, n_rows)]
    pool = _pool(n_threads)
    futures = [pool.submit(kernel, *args, b * n_rows // n_blocks,
                           (b + 1) * n_rows // n_blocks) for b in range(n_blocks)]
    wait(futures)
    return [future.result() for future in futures]
