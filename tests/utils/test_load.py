"""Thread counts that follow the machine's load."""

import subprocess
import sys
import time

import numba
from threadpoolctl import threadpool_info

from skgen.utils._numba import blas_threads_for_load, idle_cores, resolve_n_threads

_SPIN = "import time\nend = time.time() + 30\nwhile time.time() < end:\n    pass\n"


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_idle_cores_counts_other_busy_processes():
    import os

    cores = len(os.sched_getaffinity(0))
    quiet = idle_cores()
    assert 1 <= quiet <= cores
    procs = [subprocess.Popen([sys.executable, "-c", _SPIN]) for _ in range(cores)]
    try:
        time.sleep(0.5)
        # Every core has a spinning process: nothing idle is left but the floor.
        assert min(idle_cores() for _ in range(5)) == 1
        assert resolve_n_threads(None) == 1
        assert resolve_n_threads(-1) == numba.config.NUMBA_NUM_THREADS
        before = _blas_threads()
        with blas_threads_for_load():
            assert all(n == 1 for n in _blas_threads())
        assert _blas_threads() == before
    finally:
        for p in procs:
            p.kill()
            p.wait()
