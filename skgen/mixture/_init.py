"""Starting points of EM: initial responsibilities by ``init_params``.

In memory, the draws match scikit-learn's ``BaseMixture`` for the same
``random_state`` (without sample weights), so both start from the same point,
except 'kmeans' on more rows than :func:`init_sample_rows`: k-means++ and a
few Lloyd steps on a uniform sample, then the one pass over all rows that
assigns each to its nearest centre (a Lloyd pass over all rows before it
gained nothing in held-out likelihood on MNIST, 6 seeds; scikit-learn's
k-means to convergence on all rows cost 4.7 of a 5.3 s Bernoulli fit there).
On a lazy source (a dask array), 'kmeans' is always that, 'k-means++' and
'random_from_data' pick rows of such a sample, and 'random' draws each
block's responsibilities from a seed of its own.

References: Arthur & Vassilvitskii (2007), "k-means++: the advantages of
careful seeding"; Lloyd (1982), "Least squares quantization in PCM".
"""

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans, kmeans_plusplus

from ..utils import check_array_param, merge_moments
from ..utils._numba import single_threaded_blas
from ..utils._rows import ArrayRows
from ._passes import (add_pairs, lloyd_pass, nearest_statistics, observed_sums, one_hot,
                      random_statistics)

__all__ = ["initial_statistics", "init_sample_rows", "check_weights_init", "column_fill"]

# Rows sampled uniformly to seed k-means (its centres then assign all rows)
# on a lazy source or on more rows than the sample in memory, and to pick
# k-means++ centres and random rows of a lazy source.
INIT_SAMPLE_ROWS = 2_000
SAMPLE_LLOYD_STEPS = 10

# Largest sparse input densified for scikit-learn's k-means (entries; 256 MiB).
DENSE_KMEANS_ENTRIES = 1 << 25


def column_fill(model, rows):
    """Column means of the observed entries (0 for a column with none), that
    fill NaN for the start; None for in-memory data without NaN and for models
    that do not take NaN (then no pass either on a dask array).

    Parameters
    ----------
    model : BaseMixture
    rows : RowSource

    Returns
    -------
    fill : ndarray of shape (n_features,) or None
    """
    if not model._allow_nan:
        return None
    if not rows.lazy:
        values = rows.X.data if sp.issparse(rows.X) else rows.X
        if not np.isnan(values).any():
            return None
    sums, counts = rows.reduce(observed_sums, add_pairs, threads=True)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)


def init_sample_rows(n_components):
    """Rows of the uniform sample that seeds a start: max(2000, 100 K)."""
    return max(INIT_SAMPLE_ROWS, 100 * n_components)


def check_weights_init(weights_init, n_components, dtype):
    """Validate user-given mixing weights: shape (K,), non-negative, sum one.

    Raises
    ------
    ValueError
        On a wrong shape, a negative or non-finite weight, or a sum not within
        1e-5 of one.
    """
    w = check_array_param(weights_init, "weights_init", (n_components,), dtype)
    if np.any(w < 0) or not np.isclose(w.sum(), 1.0, atol=1e-5):
        raise ValueError(
            "The parameter 'weights_init' should be non-negative and sum to 1, "
            f"but got min {w.min():g} and sum {w.sum():.6f}"
        )
    return w / w.sum()


def dense(X):
    """X as a dense array for scikit-learn's k-means, which runs other arithmetic
    on CSR input (ties between binary rows broken otherwise): the same data dense
    or sparse gives the same start. Above 2^25 entries a CSR X stays sparse
    (k-means++ on all rows of a large sparse X would not fit in memory dense)."""
    if sp.issparse(X) and X.shape[0] * X.shape[1] <= DENSE_KMEANS_ENTRIES:
        return X.toarray()
    return X


def _kmeans_plusplus(X, n_components, weights, random_state):
    # Centred, since kmeans_plusplus expands squared distances: data far
    # from the origin (float32 offset by 1e4) would lose every digit.
    X = dense(X)
    Xc = X if sp.issparse(X) else X - X.mean(axis=0, dtype=np.float64).astype(X.dtype)
    _, indices = kmeans_plusplus(Xc, n_components, random_state=random_state,
                                 sample_weight=weights)
    return indices


def initial_statistics(model, rows, random_state):
    """Statistics of the initial responsibilities of ``model`` on ``rows``.

    Parameters
    ----------
    model : BaseMixture
        Reads ``n_components``, ``init_params`` and its ``_statistics`` hook.
    rows : RowSource
        The training rows and their sample weights.
    random_state : RandomState
        Consumed as scikit-learn's ``BaseMixture._initialize_parameters`` does.

    Returns
    -------
    stats : object
        What ``model._statistics`` returns, for ``model._initialize``.

    Raises
    ------
    ValueError
        When the sample that seeds a start on many rows has fewer rows of
        positive weight than components.
    """
    n_samples, K = rows.n_samples, model.n_components
    if rows.lazy or (model.init_params == "kmeans" and n_samples > init_sample_rows(K)):
        return _sampled_initial_statistics(model, rows, random_state)
    X, weights = model._start_rows(rows.X), rows.weights
    p = None if weights is None else weights / weights.sum()
    if model.init_params == "kmeans":
        labels = (
            KMeans(n_clusters=K, n_init=1, random_state=random_state)
            .fit(dense(X), sample_weight=weights)
            .labels_
        )
        resp = one_hot(labels, K, X.dtype, None)
    elif model.init_params == "random":
        resp = random_state.uniform(size=(n_samples, K)).astype(X.dtype)
        resp /= resp.sum(axis=1, keepdims=True)
    else:  # one row per component: 'random_from_data' or 'k-means++'
        if model.init_params == "random_from_data":
            indices = random_state.choice(n_samples, size=K, replace=False, p=p)
        else:
            indices = _kmeans_plusplus(X, K, weights, random_state)
        resp = np.zeros((n_samples, K), dtype=X.dtype)
        resp[indices, np.arange(K)] = 1
    if weights is not None:
        resp *= weights.astype(X.dtype)[:, np.newaxis]
    return model._statistics(X, resp)


def _lloyd_step(model, rows, centers):
    """Lloyd's update of ``centers`` on ``rows`` (a centre with no rows stays)."""
    step = rows.reduce(lloyd_pass, merge_moments, model, centers, threads=True)
    return np.where(step.weight[:, np.newaxis] > 0, step.mean, centers)


def _sampled_initial_statistics(model, rows, random_state):
    """Initial statistics from a uniform sample of rows (see the module
    docstring): every start on a lazy source, and 'kmeans' on more rows than
    the sample in memory."""
    K = model.n_components
    statistics = type(model)._merge_statistics
    if model.init_params == "random":
        seeds = random_state.randint(np.iinfo(np.int32).max, size=rows.n_blocks)
        return rows.reduce(random_statistics, statistics, model, seeds, threads=True,
                           indexed=True)
    size = min(rows.n_samples, init_sample_rows(K))
    rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    sample, w, _ = rows.sample(size, rng)
    sample = model._start_rows(sample)
    if w is not None and np.count_nonzero(w) < K:
        raise ValueError(
            f"The sample of {size} rows that seeds the initialisation has fewer "
            f"than n_components={K} rows of positive weight; use init_params='random'."
        )
    if model.init_params == "kmeans":
        # k-means++ and a few Lloyd steps on the sample, then one pass over
        # all rows assigns them (the sample's convergence is not needed).
        # One BLAS thread: a second gains nothing on a few thousand rows, and
        # OpenBLAS's idle threads spin for a while after a threaded call,
        # taking the cores the passes that follow run on (BernoulliMixture on
        # 20,000 MNIST rows, 2 cores: the first three passes 22-25 ms instead
        # of 12.5-14, the fit 270 -> 225 ms).
        with single_threaded_blas():
            centers = dense(sample[_kmeans_plusplus(sample, K, w, random_state)])
            centers = np.asarray(centers, dtype=np.float64)
            on_sample = ArrayRows(sample, w)
            for _ in range(SAMPLE_LLOYD_STEPS):
                centers = _lloyd_step(model, on_sample, centers)
        return rows.reduce(nearest_statistics, statistics, model, centers, threads=True)
    if model.init_params == "k-means++":
        with single_threaded_blas():  # as for 'kmeans' above
            chosen = _kmeans_plusplus(sample, K, w, random_state)
    else:  # random_from_data
        p = None if w is None else w / w.sum()
        chosen = random_state.choice(size, size=K, replace=False, p=p)
    resp = np.eye(K, dtype=rows.dtype)
    if w is not None:
        resp *= w[chosen].astype(rows.dtype)[:, np.newaxis]
    return model._statistics(sample[chosen], resp)
