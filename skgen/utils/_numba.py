"""numba settings shared by every skgen kernel.

Kernels are compiled at module level with ``cache=True`` (compiled once per
machine, reused across processes) and ``nogil=True``. ``fastmath`` is never set
here: a kernel opts in only when its arithmetic has no NaN/inf guards.
"""

import contextlib

import numba

__all__ = ["jit", "resolve_n_threads", "numba_threads", "single_threaded_blas"]


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


def resolve_n_threads(n_jobs):
    """Number of numba threads for an ``n_jobs`` parameter.

    Parameters
    ----------
    n_jobs : int or None
        None or -1: every thread numba was started with (``NUMBA_NUM_THREADS``,
        by default the number of cores); a positive int: that many, at most the
        former; -2: all but one, and so on, as joblib counts.

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
        return top
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
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")
