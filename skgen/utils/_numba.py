"""numba settings shared by every skgen kernel.

Kernels are compiled at module level with ``cache=True`` (compiled once per
machine, reused across processes) and ``nogil=True``. ``fastmath`` is never set
here: a kernel opts in only when its arithmetic has no NaN/inf guards.
"""

import numba

__all__ = ["jit"]


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
