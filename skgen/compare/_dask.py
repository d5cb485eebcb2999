"""``skgen compare --dask N``: the mixture and PCA rows fitted on a dask array on a
local cluster of N workers, beside the same estimator in memory and the
scikit-learn baseline."""

import contextlib
import dataclasses


# Comparisons that have a dask fit.
DASK_NAMES = ("GaussianMixtureEM", "BernoulliMixture", "PCA")


class OnDask:
    """An skgen estimator whose ``fit`` and ``score`` see a dask array of the data.

    Parameters
    ----------
    estimator : skgen estimator
        Fitted on the dask array; attribute access goes to it (means,
        components, metrics).
    n_chunks : int
        Row chunks the data of shape (n_samples, n_features) are split into
        (the caller asks for several per worker).
    """

    def __init__(self, estimator, n_chunks):
        self.estimator, self.n_chunks = estimator, n_chunks

    def _dask(self, X):
        import dask.array as da

        rows = max(1, -(-X.shape[0] // self.n_chunks))
        return da.from_array(X, chunks=(rows, -1))

    def fit(self, X, y=None):
        self.estimator.fit(self._dask(X))
        return self

    def score(self, X, y=None):
        return self.estimator.score(self._dask(X))

    def __getattr__(self, name):
        return getattr(self.__dict__["estimator"], name)


def dask_comparisons(comparisons, n_workers):
    """The comparisons of ``DASK_NAMES``, the skgen estimator fitted on dask.

    Parameters
    ----------
    comparisons : list of Comparison
    n_workers : int

    Returns
    -------
    list of Comparison
        Each named '<name> (dask, N workers)', with the in-memory skgen fit
        as the first baseline, then the original baselines; no figures.
    """
    out = []
    for comp in comparisons:
        if comp.name not in DASK_NAMES:
            continue
        make = comp.make
        out.append(dataclasses.replace(
            comp,
            name=f"{comp.name} (dask, {n_workers} workers)",
            make=lambda ctx, make=make: OnDask(make(ctx), 4 * n_workers),
            baselines={f"{comp.name} (in memory)": make, **comp.baselines},
            figures=None,
        ))
    return out


@contextlib.contextmanager
def local_cluster(n_workers):
    """A LocalCluster of ``n_workers`` single-threaded processes, as dask's scheduler.

    Raises
    ------
    ImportError
        Without the ``dask`` extra (``pip install "scikit-gen[dask]"``).
    """
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as error:  # pragma: no cover - the extra is missing
        raise ImportError(
            'skgen compare --dask needs dask.distributed: pip install "scikit-gen[dask]"'
        ) from error
    with LocalCluster(n_workers=n_workers, threads_per_worker=1,
                      dashboard_address=None) as cluster, \
            Client(cluster) as client, dask.config.set(scheduler=client):
        yield client
