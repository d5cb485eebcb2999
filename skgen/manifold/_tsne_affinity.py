"""t-SNE's input affinities: P of the training points, and of new points to them.

:class:`Affinities` is built once per fit: the joint, symmetric P of the
training points (perplexity-calibrated Gaussians over each point's nearest
neighbours, van der Maaten & Hinton 2008, eq. 1 and 3, symmetrised as
p_ij = (p_j|i + p_i|j) / 2N), and then, from the same neighbour index, the
conditional affinities of new points to the training points for ``transform``
(openTSNE's ``Affinities.to_new``: perplexity 5 over the 15 nearest training
points).
"""

import warnings
from time import perf_counter

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import pairwise_distances
from sklearn.neighbors import NearestNeighbors

from ..utils._numba import numba_threads
from ._tsne_affinity_kernels import conditional_probabilities, joint_probabilities

__all__ = ["Affinities", "effective_perplexity"]

# Exact neighbours up to this many points, approximate (pynndescent) above.
# Measured on MNIST 70000 x 50, 2 cores: exact (scikit-learn, brute force) 10.1 s;
# pynndescent 13.7 s, 35.6 s on its first call in a process (its compilation).
APPROX_NEIGHBORS_ABOVE = 100_000
# transform: openTSNE's perplexity for placing new points (3 perplexities' worth
# of neighbours).
TRANSFORM_PERPLEXITY = 5.0


def effective_perplexity(perplexity, n_samples):
    """``perplexity`` where scikit-learn accepts it (below n_samples), else lowered.

    scikit-learn's TSNE takes any perplexity below n_samples, with min(n - 1,
    3 perplexity + 1) neighbours. Only where it would refuse (perplexity >=
    n_samples) is the value lowered, with a warning, to max((n_samples - 1) /
    3, 1) (openTSNE's rule: three perplexities' worth of neighbours), so that
    the default instance fits the smallest data.
    """
    if perplexity >= n_samples:
        bound = max((n_samples - 1) / 3.0, 1.0)
        warnings.warn(
            f"perplexity={perplexity:g} must be less than n_samples={n_samples}; "
            f"using perplexity={bound:.4g} = max((n_samples - 1) / 3, 1) instead.",
            UserWarning,
        )
        return bound
    return float(perplexity)


def n_neighbors(perplexity, n_samples):
    """scikit-learn's neighbour count: min(n_samples - 1, 3 perplexity + 1)."""
    return min(n_samples - 1, int(3.0 * perplexity + 1))


class Affinities:
    """The input affinities of one fit, and of new points to its training points.

    Parameters
    ----------
    metric : str or callable
        As TSNE's ``metric`` ('precomputed': X holds distances).
    metric_params : dict or None
    n_jobs : int or None
    neighbors : {'auto', 'exact', 'approx'}
        'auto': exact neighbours up to 100,000 points, pynndescent above.

    Attributes
    ----------
    P : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        The joint affinities (after :meth:`fit`), summing to one.
    """

    def __init__(self, metric, metric_params, n_jobs, neighbors):
        self.metric, self.metric_params = metric, metric_params
        self.n_jobs, self.neighbors = n_jobs, neighbors
        self._index = None

    def _neighbours(self, X, k, rng):
        """k nearest neighbours (self excluded) and squared distances."""
        n = X.shape[0]
        approx = self.metric != "precomputed" and (self.neighbors == "approx" or (
            self.neighbors == "auto" and n > APPROX_NEIGHBORS_ABOVE))
        if approx:
            from pynndescent import NNDescent

            index = NNDescent(X, n_neighbors=k + 1, metric=self.metric,
                              metric_kwds=self.metric_params,
                              random_state=rng.randint(np.iinfo(np.int32).max),
                              n_jobs=self.n_jobs, compressed=True)
            ind, dist = index.neighbor_graph
            # Drop each row's own index (not always first with duplicates).
            own = ind == np.arange(n)[:, None]
            keep = ~own
            keep[own.sum(1) == 0, -1] = False
            ind = ind[keep].reshape(n, k)
            dist = dist[keep].reshape(n, k)
        else:
            index = NearestNeighbors(n_neighbors=k, metric=self.metric,
                                     metric_params=self.metric_params,
                                     n_jobs=self.n_jobs).fit(X)
            dist, ind = index.kneighbors()
        return ind.astype(np.int64), np.asarray(dist, dtype=np.float64) ** 2

    def fit(self, X, method, rng, perplexity, timings):
        """The joint P of the rows of X.

        Parameters
        ----------
        X : ndarray or CSR matrix of shape (n_samples, n_features)
            Training data (distances with metric='precomputed').
        method : {'exact', 'barnes_hut', 'fft'}
            'exact' uses every pair (a dense precomputed X as given); the others
            min(n - 1, 3 perplexity + 1) nearest neighbours.
        rng : RandomState
            Seeds the approximate neighbour search.
        perplexity : float
        timings : dict
            Seconds of the 'neighbors' and 'affinities' stages are written here.

        Returns
        -------
        P : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        """
        n = X.shape[0]
        tic = perf_counter()
        if method == "exact" and not (self.metric == "precomputed" and sp.issparse(X)):
            if self.metric == "precomputed":
                D = X
            else:
                D = pairwise_distances(X, metric=self.metric, n_jobs=self.n_jobs,
                                       **(self.metric_params or {}))
            D = np.asarray(D, dtype=np.float64) ** 2
            ind = np.empty((n, n - 1), dtype=np.int64)
            for i in range(n):
                ind[i, :i] = np.arange(i)
                ind[i, i:] = np.arange(i + 1, n)
            sq = np.take_along_axis(D, ind, axis=1)
        else:
            ind, sq = self._neighbours(X, n_neighbors(perplexity, n), rng)
        timings["neighbors"] = perf_counter() - tic
        tic = perf_counter()
        self.P, _ = joint_probabilities(ind, sq, perplexity)
        timings["affinities"] = perf_counter() - tic
        return self.P

    def set_reference(self, X):
        """Index the training points (in the user's units) for :meth:`to_new`."""
        self._index = NearestNeighbors(metric=self.metric, metric_params=self.metric_params,
                                       n_jobs=self.n_jobs).fit(X)
        return self

    def to_new(self, X):
        """Conditional affinities of new points to the training points.

        Parameters
        ----------
        X : ndarray or CSR matrix of shape (n_new, n_features)
            New points (their distances to the training points with
            metric='precomputed').

        Returns
        -------
        P : scipy.sparse.csr_matrix of shape (n_new, n_samples)
            Row i: p_j|i over its k = min(n_samples, 15) nearest training points,
            perplexity min(5, (k - 1) / 2); rows sum to one.
        indices : ndarray of shape (n_new, k), int64
            Those training points, nearest first.
        distances : ndarray of shape (n_new, k)
        """
        n_ref = self._index.n_samples_fit_
        k = min(n_ref, int(3 * TRANSFORM_PERPLEXITY))
        perplexity = min(TRANSFORM_PERPLEXITY, max(k - 1, 1) * 0.5)
        dist, ind = self._index.kneighbors(X, k)
        ind = ind.astype(np.int64)
        cond = np.empty(ind.shape)
        betas = np.empty(X.shape[0])
        with numba_threads(self.n_jobs):
            conditional_probabilities(np.ascontiguousarray(dist ** 2),
                                      float(np.log(perplexity)), 1e-8, 200, cond, betas)
        P = sp.csr_matrix((cond.ravel(), ind.ravel(), np.arange(0, ind.size + 1, k)),
                          shape=(X.shape[0], n_ref))
        return P, ind, dist
