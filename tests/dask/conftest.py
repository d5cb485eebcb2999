"""A two-worker dask.distributed LocalCluster (processes), started and closed here.

Tests that take the ``client`` fixture run their computations on it: the client
is made current and is dask's scheduler inside the test only, so other tests
keep the threaded scheduler.
"""

import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")


def _local_cluster():
    return distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        memory_limit="2GiB",
    )


def _client_of(cluster):
    with distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=120)
        with client.as_current(), dask.config.set(scheduler=client):
            yield client


@pytest.fixture(scope="module")
def cluster():
    with _local_cluster() as cluster:
        yield cluster


@pytest.fixture
def client(cluster):
    yield from _client_of(cluster)


@pytest.fixture
def private_client():
    """A client of a cluster of the test's own, for a test that kills a worker:
    distributed 2026.8's nanny can fail to restart it ("cannot pickle
    '_asyncio.Future'"), which would leave the shared cluster one worker short."""
    with _local_cluster() as cluster:
        yield from _client_of(cluster)
