"""Thread counts that follow the machine's load."""

import os

import numba
from threadpoolctl import threadpool_info

import skgen.utils._numba as load
from skgen.utils._numba import blas_threads_for_load, idle_cores, resolve_n_threads


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_running_tasks_reads_this_machine():
    total, own = load._running_tasks()
    # This thread is running while it reads: counted on the machine and in us.
    assert own >= 1 and total >= own


def test_idle_cores_subtracts_other_runnable_tasks(monkeypatch):
    cores = len(os.sched_getaffinity(0))
    # (runnable tasks on the machine, runnable threads of ours): our own
    # reading thread is in both counts and never takes a core from us.
    monkeypatch.setattr(load, "_running_tasks", lambda: (1, 1))
    assert idle_cores() == cores
    monkeypatch.setattr(load, "_running_tasks", lambda: (2, 1))
    assert idle_cores() == max(1, cores - 1)
    monkeypatch.setattr(load, "_running_tasks", lambda: (3, 0))
    assert idle_cores() == max(1, cores - 2)
    monkeypatch.setattr(load, "_running_tasks", lambda: None)  # not Linux
    assert idle_cores() == cores


def test_every_core_busy_leaves_one_thread(monkeypatch):
    cores = len(os.sched_getaffinity(0))
    monkeypatch.setattr(load, "_running_tasks", lambda: (cores + 1, 1))
    assert idle_cores() == 1
    assert resolve_n_threads(None) == 1
    # An explicit count is the user's: the load does not change it.
    assert resolve_n_threads(-1) == numba.config.NUMBA_NUM_THREADS
    before = _blas_threads()
    with blas_threads_for_load():
        assert all(n == 1 for n in _blas_threads())
    assert _blas_threads() == before
