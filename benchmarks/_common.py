"""Timing, memory and machine description shared by the benchmark modules."""

import contextlib
import os
import platform
import subprocess
import sys
import statistics
import time
import tracemalloc
import warnings


def time_alternating(candidates, repeats=3):
    """Median wall seconds of each callable, run alternately ``repeats`` times.

    Alternating ours and the baseline spreads the machine's noise over both.

    Parameters
    ----------
    candidates : dict of str to callable
        Zero-argument callables; each call returns a result kept from the last run.
    repeats : int, default=3

    Returns
    -------
    seconds : dict of str to float
        Median seconds per call.
    results : dict of str to object
        The last return value of each callable.
    """
    times = {name: [] for name in candidates}
    results = {}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}, results


def peak_memory(fn):
    """Peak bytes allocated through Python's allocators (NumPy included) while ``fn`` runs."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def machine():
    """One line describing this machine and the numerical libraries."""
    import numpy as np
    import scipy
    import sklearn

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB; Python {platform.python_version()}, "
        f"NumPy {np.__version__}, SciPy {scipy.__version__}, scikit-learn {sklearn.__version__}"
    )


# One core's worth of pure-Python work; it ends by itself after an hour at most.
_SPIN = "import time\nend = time.time() + 3600\nx = 0\nwhile time.time() < end:\n" \
        "    for _ in range(100000):\n        x = (x * 1103515245 + 12345) & 0x7FFFFFFF\n"


@contextlib.contextmanager
def busy_machine(enabled=True):
    """Run the body beside a CPU-bound background process (one busy core).

    What a user's machine often is: a second GridSearchCV worker, a Dask worker
    or another program on one of the cores. Threaded BLAS and parallel kernels
    that assume every core is theirs slow down most there.

    Parameters
    ----------
    enabled : bool, default=True
        False: a no-op, so callers can write ``with busy_machine(args.busy)``.
    """
    if not enabled:
        yield
        return
    proc = subprocess.Popen([sys.executable, "-c", _SPIN])
    time.sleep(0.2)  # let it reach its loop
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def quiet(fn):
    """``fn`` wrapped so that the warnings it raises (convergence, etc.) are hidden."""

    def wrapped():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()

    return wrapped
