"""A two-worker dask.distributed LocalCluster (processes), started and closed here.

Tests that take the ``client`` fixture run their computations on it: the client
is made current and is dask's scheduler inside the test only, so other tests
keep the threaded scheduler.
"""

import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        memory_limit="2GiB",
    ) as cluster:
        yield cluster


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2)
        with client.as_current(), dask.config.set(scheduler=client):
            yield client
