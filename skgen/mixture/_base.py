"""The one EM loop shared by every skgen mixture.

A subclass supplies its statistics and parameter updates only:

- ``_check_parameters(X)``: validate the model-specific parameters against ``X``;
- ``_statistics(X, resp)``: sufficient statistics of rows ``X`` under weighted
  responsibilities ``resp``, and ``_merge_statistics(a, b)`` of two disjoint sets
  of rows (so that a pass over chunks reduces them as a tree);
- ``_initialize(stats)``: parameters from the statistics of initial
  responsibilities (``stats`` is None when the user gave every initial parameter);
- ``_m_step(stats)``: parameters from the statistics of the E-step's
  responsibilities;
- ``_prepare_chunk(X)``: what ``_validate_X`` does to values, for one chunk of a
  dask array (identity by default);
- ``_estimate_log_prob(X)``: log p(x | component k), shape (n_samples, n_components);
- ``_log_prior()``: log prior density of the parameters (0 for maximum likelihood);
- ``_get_parameters`` / ``_set_parameters`` / ``_n_parameters``;
- ``_sample_component(k, n, rng)``: draws from component k.

Every pass over the data (E-step plus statistics, initial statistics, k-means
steps, scores) is one function of (rows, sample weights) that runs on the whole
array in memory and on each row chunk of a dask array, whose results are merged
as a tree (:func:`skgen.utils._dask.reduce_chunks`): one EM loop, two schedulers.

Reference: Dempster, Laird & Rubin (1977), "Maximum likelihood from incomplete data
via the EM algorithm"; Bishop (2006), *Pattern Recognition and Machine Learning*,
section 9.2-9.4.
"""

import warnings
from abc import ABCMeta, abstractmethod
from functools import partial
from numbers import Integral, Real
from time import perf_counter
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    DensityMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances_argmin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ..utils import (
    Moments,
    block_moments,
    check_array_param,
    check_n_samples,
    check_positive_int,
    check_X,
    merge_moments,
)
from ..utils._validation import internal_scale
from ..utils._dask import (
    apply_by_chunks,
    check_chunk,
    check_dask_sample_weight,
    check_sampled_rows,
    check_dask_X,
    is_dask_array,
    magnitude_limits,
    reduce_chunks,
    take_rows,
)
from ..utils._moments import tree_reduce
from ..utils._numba import (blas_threads_for_load, jit, resolve_n_threads, run_in_blocks,
                            single_threaded_blas)

__all__ = ["BaseMixture"]


@jit
def _normalize_rows(weighted_log_prob, log_prob_norm, tiny):
    """In place: row i of log p(x_i, k) becomes p(k | x_i); log p(x_i) goes to
    ``log_prob_norm[i]``. One pass per row, no temporaries; no fastmath, since
    rows of -inf (impossible under every component) need their guard."""
    n_samples, n_components = weighted_log_prob.shape
    for i in range(n_samples):
        row = weighted_log_prob[i]
        peak = -np.inf
        for k in range(n_components):
            if row[k] > peak:
                peak = row[k]
        if not np.isfinite(peak):
            peak = 0.0
        total = 0.0
        for k in range(n_components):
            value = np.exp(row[k] - peak)
            row[k] = value
            total += value
        if total == 0.0:
            # Impossible under every component: log p(x) = -inf, uniform responsibilities.
            log_prob_norm[i] = -np.inf
            for k in range(n_components):
                row[k] = 1.0 / n_components
            continue
        log_prob_norm[i] = np.log(total) + peak
        inv = 1.0 / total
        for k in range(n_components):
            value = row[k] * inv
            # Subnormal responsibilities (common in float32 with many features)
            # make the M-step's matrix products many times slower; they carry
            # less than 1e-38 of the mass.
            row[k] = value if value >= tiny else 0.0


def _normalize_log_prob(weighted_log_prob):
    """Turn log p(x, k) into responsibilities in place.

    Parameters
    ----------
    weighted_log_prob : ndarray of shape (n_samples, n_components), C-contiguous
        log p(x_i, z_i = k) in nats; overwritten by the responsibilities
        p(z_i = k | x_i).

    Returns
    -------
    log_prob_norm : ndarray of shape (n_samples,)
        log p(x_i) = logsumexp_k log p(x_i, k), in nats (-inf where every
        component gives probability 0).
    """
    dtype = weighted_log_prob.dtype
    log_prob_norm = np.empty(weighted_log_prob.shape[0], dtype=dtype)
    _normalize_rows(weighted_log_prob, log_prob_norm, dtype.type(np.finfo(dtype).tiny))
    return log_prob_norm


class _PassResult(NamedTuple):
    """What one E-step pass returns: sum_i w_i log p(x_i) (nats), sum_i w_i, statistics."""

    log_likelihood: float
    total_weight: float
    statistics: object


def _weighted_log_likelihood(log_prob_norm, weights):
    """sum_i w_i log p(x_i) in float64, and sum_i w_i; zero weights drop -inf rows."""
    if weights is None:
        return float(np.sum(log_prob_norm, dtype=np.float64)), float(log_prob_norm.shape[0])
    terms = np.where(weights > 0, weights * log_prob_norm.astype(np.float64), 0.0)
    return float(terms.sum()), float(np.sum(weights))


def _em_pass(model, X, weights, info):
    """E-step on rows X and the statistics of their weighted responsibilities.

    ``info`` locates a dask chunk (None for in-memory data, validated already).
    """
    X = model._prepare_chunk(X, weights, info)
    resp = model._estimate_weighted_log_prob(X)
    log_prob_norm = _normalize_log_prob(resp)
    log_likelihood, total = _weighted_log_likelihood(log_prob_norm, weights)
    if weights is not None:
        resp *= weights.astype(resp.dtype, copy=False)[:, np.newaxis]
    return _PassResult(log_likelihood, total, model._statistics(X, resp))


def _score_pass(model, X, weights, info):
    """sum_i log p(x_i) and the number of rows."""
    X = model._prepare_chunk(X, weights, info)
    log_prob_norm = _normalize_log_prob(model._estimate_weighted_log_prob(X))
    return _weighted_log_likelihood(log_prob_norm, weights)


def _add_pairs(a, b):
    return a[0] + b[0], a[1] + b[1]


def _merge_passes(merge_statistics, a, b):
    return _PassResult(
        a.log_likelihood + b.log_likelihood,
        a.total_weight + b.total_weight,
        merge_statistics(a.statistics, b.statistics),
    )


def _one_hot(labels, n_components, dtype, weights):
    resp = np.zeros((labels.shape[0], n_components), dtype=dtype)
    resp[np.arange(labels.shape[0]), labels] = 1 if weights is None else weights
    return resp


def _nearest_statistics(model, centers, X, weights, info):
    """Statistics of hard responsibilities: each row to its nearest centre."""
    X = model._prepare_chunk(X, weights, info)
    labels = pairwise_distances_argmin(X, centers.astype(X.dtype, copy=False))
    return model._statistics(X, _one_hot(labels, centers.shape[0], X.dtype, weights))


def _lloyd_pass(model, centers, X, weights, info):
    """One Lloyd step's sums: weighted means of the rows nearest each centre."""
    X = model._prepare_chunk(X, weights, info)
    labels = pairwise_distances_argmin(X, centers.astype(X.dtype, copy=False))
    resp = _one_hot(labels, centers.shape[0], np.float64, weights)
    if sp.issparse(X):
        weight = resp.sum(axis=0)
        sums = np.asarray((X.T @ resp).T, dtype=np.float64)
        mean = sums / np.where(weight > 0, weight, 1)[:, np.newaxis]
        return Moments(weight, mean, None, "mean")
    return block_moments(X.astype(np.float64), resp, "mean")


def _random_statistics(model, seeds, X, weights, info):
    """Statistics of uniform random responsibilities, drawn per chunk from its own seed."""
    X = model._prepare_chunk(X, weights, info)
    rng = np.random.RandomState(seeds[0 if info is None else info[0]])
    resp = rng.uniform(size=(X.shape[0], model.n_components)).astype(X.dtype)
    resp /= resp.sum(axis=1, keepdims=True)
    if weights is not None:
        resp *= weights.astype(X.dtype)[:, np.newaxis]
    return model._statistics(X, resp)


# Rows per thread below which an in-memory pass runs on one thread (a block
# must outweigh starting a thread and merging its statistics).
_THREAD_ROWS = 10_000

# Rows sampled uniformly to seed k-means (then refined by Lloyd passes over all
# rows) on a dask array or on more rows than the sample in memory, and to pick
# k-means++ centres and random rows of a dask array.
_INIT_SAMPLE_ROWS = 2_000
_SAMPLE_LLOYD_STEPS = 10
_LLOYD_PASSES = 2


def _init_sample_rows(n_components):
    return max(_INIT_SAMPLE_ROWS, 100 * n_components)


def _check_weights_init(weights_init, n_components, dtype):
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


# Largest sparse input densified for scikit-learn's k-means (entries; 256 MiB).
_DENSE_KMEANS_ENTRIES = 1 << 25


def _dense(X):
    """X as a dense array for scikit-learn's k-means, which runs other arithmetic
    on CSR input (ties between binary rows broken otherwise): the same data dense
    or sparse gives the same start. Above 2^25 entries a CSR X stays sparse
    (k-means++ on all rows of a large sparse X would not fit in memory dense)."""
    if sp.issparse(X) and X.shape[0] * X.shape[1] <= _DENSE_KMEANS_ENTRIES:
        return X.toarray()
    return X


class BaseMixture(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    DensityMixin,
    BaseEstimator,
    metaclass=ABCMeta,
):
    """Base class for mixture models fitted by expectation-maximisation.

    Not for direct use: subclass it and implement the statistics of one family
    (see the module docstring for the hooks). The EM loop, initialisation,
    restarts, warm starts, convergence checks, verbosity and every prediction
    method live here once.

    Parameters
    ----------
    n_components, tol, max_iter, n_init, init_params, random_state, warm_start, verbose, verbose_interval
        As documented by the subclasses (:class:`skgen.GaussianMixtureEM`).

    References
    ----------
    Dempster, Laird & Rubin (1977), "Maximum likelihood from incomplete data via
    the EM algorithm", JRSS B 39(1); Bishop (2006), *Pattern Recognition and
    Machine Learning*, section 9.4 (EM in general, the lower bound).
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [
            StrOptions({"kmeans", "random", "random_from_data", "k-means++"})
        ],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_components,
        tol,
        max_iter,
        n_init,
        init_params,
        random_state,
        warm_start,
        verbose,
        verbose_interval,
    ):
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # ---------------------------------------------------------------- hooks
    # Checked on in-memory data by check_X; on a dask chunk by _prepare_chunk.
    _chunk_magnitude = True

    def _validate_X(self, X, reset):
        """Validate input; subclasses that accept sparse or binary data override."""
        return check_X(self, X, reset=reset, ensure_min_samples=2 if reset else 1)

    def _validate_any_X(self, X, reset):
        """``_validate_X`` for in-memory data; shapes and chunks only for a dask
        array (its values are checked chunk by chunk as passes read them)."""
        if not is_dask_array(X):
            return self._validate_X(X, reset)
        X = check_dask_X(self, X, reset=reset, ensure_min_samples=2 if reset else 1)
        self._chunk_limits = (
            magnitude_limits(X.shape, X.dtype) if self._chunk_magnitude else None
        )
        return X

    def _prepare_chunk(self, X, weights, info):
        """Check one chunk of a dask array as ``_validate_X`` checks in-memory
        data (``info`` is None for in-memory data: already validated)."""
        if info is not None:
            check_chunk(X, info, getattr(self, "_chunk_limits", None), weights)
        return X

    @abstractmethod
    def _check_parameters(self, X):
        """Validate the subclass's parameters against the data."""

    def _initial_parameters_given(self):
        """True when the user gave every initial parameter: no responsibilities needed."""
        return False

    @abstractmethod
    def _statistics(self, X, resp):
        """Sufficient statistics of rows X under (weighted) responsibilities resp."""

    @staticmethod
    @abstractmethod
    def _merge_statistics(a, b):
        """Statistics of the union of two disjoint sets of rows."""

    @abstractmethod
    def _initialize(self, stats):
        """Set the parameters from initial statistics (None: all parameters given)."""

    @abstractmethod
    def _m_step(self, stats):
        """Set the parameters that maximise the expected complete-data objective."""

    @abstractmethod
    def _estimate_log_prob(self, X):
        """log p(x_i | z_i = k), shape (n_samples, n_components), in nats."""

    @abstractmethod
    def _estimate_log_weights(self):
        """log of the mixing weights, shape (n_components,)."""

    def _log_prior(self):
        """Log prior density of the parameters in nats (0: maximum likelihood)."""
        return 0.0

    @abstractmethod
    def _get_parameters(self):
        """The fitted parameters as a tuple."""

    @abstractmethod
    def _set_parameters(self, params):
        """Restore the parameters from ``_get_parameters``'s tuple."""

    @abstractmethod
    def _n_parameters(self):
        """Number of free parameters, for BIC and AIC."""

    @abstractmethod
    def _sample_component(self, k, n_samples, rng):
        """``n_samples`` draws from component ``k``, shape (n_samples, n_features)."""

    # ------------------------------------------------------------- passes
    def _pass(self, func, merge, X, weights, *args):
        """``func(*args, rows, weights, info)`` over all of X, merged as a tree:
        per row chunk for a dask array; in memory, over one row block per idle
        core in threads (BLAS single-threaded meanwhile), or at once when the
        data are small or one core is free."""
        if is_dask_array(X):
            return reduce_chunks(func, merge, X, *args, sample_weight=weights)
        n_threads = min(resolve_n_threads(None), X.shape[0] // _THREAD_ROWS)
        if n_threads < 2:
            return func(*args, X, weights, None)

        def block(start, stop):
            rows = slice(start, stop)
            return func(*args, X[rows], None if weights is None else weights[rows], None)

        with single_threaded_blas():
            parts = run_in_blocks(block, X.shape[0], n_threads, blocks_per_thread=1)
        return tree_reduce(parts, merge)

    def _statistics_pass(self, func, X, weights, *args):
        return self._pass(func, type(self)._merge_statistics, X, weights, self, *args)

    # ------------------------------------------------------------- EM loop
    def _initialize_parameters(self, X, weights, random_state):
        """Initial responsibilities by ``init_params``, then ``_initialize``.

        In memory, the draws match scikit-learn's ``BaseMixture`` for the same
        ``random_state`` (without sample weights), so both start from the same
        point, except 'kmeans' on more rows than ``_init_sample_rows``: k-means
        on a uniform sample then refined by Lloyd passes over all rows (about
        three passes in all; scikit-learn's k-means to convergence on all rows
        cost 4.7 of a 5.3 s Bernoulli fit on MNIST). On a dask array, 'kmeans'
        is always that, 'k-means++' and 'random_from_data' pick rows of such a
        sample, and 'random' draws each chunk's responsibilities from a seed of
        its own.
        """
        if self._initial_parameters_given():
            self._initialize(None)
            return
        n_samples, K = X.shape[0], self.n_components
        if is_dask_array(X) or (self.init_params == "kmeans"
                                and n_samples > _init_sample_rows(K)):
            self._initialize(self._sampled_initial_statistics(X, weights, random_state))
            return
        p = None if weights is None else weights / weights.sum()
        if self.init_params == "kmeans":
            labels = (
                KMeans(n_clusters=K, n_init=1, random_state=random_state)
                .fit(_dense(X), sample_weight=weights)
                .labels_
            )
            resp = _one_hot(labels, K, X.dtype, None)
        elif self.init_params == "random":
            resp = random_state.uniform(size=(n_samples, K)).astype(X.dtype)
            resp /= resp.sum(axis=1, keepdims=True)
        else:  # one row per component: 'random_from_data' or 'k-means++'
            if self.init_params == "random_from_data":
                indices = random_state.choice(n_samples, size=K, replace=False, p=p)
            else:
                indices = self._kmeans_plusplus(X, weights, random_state)
            resp = np.zeros((n_samples, K), dtype=X.dtype)
            resp[indices, np.arange(K)] = 1
        if weights is not None:
            resp *= weights.astype(X.dtype)[:, np.newaxis]
        self._initialize(self._statistics(X, resp))

    def _kmeans_plusplus(self, X, weights, random_state):
        # Centred, since kmeans_plusplus expands squared distances: data far
        # from the origin (float32 offset by 1e4) would lose every digit.
        X = _dense(X)
        Xc = X if sp.issparse(X) else X - X.mean(axis=0, dtype=np.float64).astype(X.dtype)
        _, indices = kmeans_plusplus(
            Xc, self.n_components, random_state=random_state, sample_weight=weights
        )
        return indices

    def _sampled_initial_statistics(self, X, weights, random_state):
        """Initial statistics from a uniform sample of rows (see
        ``_initialize_parameters``): every start on a dask array, and 'kmeans'
        on more rows than the sample in memory."""
        K = self.n_components
        if self.init_params == "random":
            seeds = random_state.randint(np.iinfo(np.int32).max, size=len(X.chunks[0]))
            return self._statistics_pass(_random_statistics, X, weights, seeds)
        n_samples = X.shape[0]
        size = min(n_samples, _init_sample_rows(K))
        rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
        indices = np.sort(rng.choice(n_samples, size=size, replace=False))
        if is_dask_array(X):
            sample = take_rows(X, indices)
            check_sampled_rows(sample, indices, X, getattr(self, "_chunk_limits", None))
            sample = self._prepare_chunk(sample, None, (0, 0, n_samples, 1))
            w = None if weights is None else take_rows(weights, indices)
        else:
            sample, w = X[indices], None if weights is None else weights[indices]
        if w is not None and np.count_nonzero(w) < K:
            raise ValueError(
                f"The sample of {size} rows that seeds the initialisation has fewer "
                f"than n_components={K} rows of positive weight; use init_params='random'."
            )
        if self.init_params == "kmeans":
            # A seed for the Lloyd passes over all rows: k-means++ and a few
            # Lloyd steps on the sample are enough (its convergence is not needed).
            centers = (
                KMeans(n_clusters=K, n_init=1, max_iter=_SAMPLE_LLOYD_STEPS,
                       random_state=random_state)
                .fit(_dense(sample), sample_weight=w)
                .cluster_centers_
            )
            for _ in range(_LLOYD_PASSES):
                step = self._pass(_lloyd_pass, merge_moments, X, weights, self, centers)
                centers = np.where(step.weight[:, np.newaxis] > 0, step.mean, centers)
            return self._statistics_pass(_nearest_statistics, X, weights, centers)
        if self.init_params == "k-means++":
            chosen = self._kmeans_plusplus(sample, w, random_state)
        else:  # random_from_data
            p = None if w is None else w / w.sum()
            chosen = random_state.choice(size, size=K, replace=False, p=p)
        rows = sample[chosen]
        resp = np.eye(K, dtype=X.dtype)
        if w is not None:
            resp *= w[chosen].astype(X.dtype)[:, np.newaxis]
        return self._statistics(rows, resp)

    def _e_step(self, X):
        """E-step: responsibilities and the mean log-likelihood.

        Returns
        -------
        mean_log_prob : float
            Mean over samples of log p(x_i), in nats.
        resp : ndarray of shape (n_samples, n_components)
            Responsibilities p(z_i = k | x_i); rows sum to one.
        """
        resp = self._estimate_weighted_log_prob(X)
        log_prob_norm = _normalize_log_prob(resp)
        return float(np.mean(log_prob_norm, dtype=np.float64)), resp

    def _estimate_weighted_log_prob(self, X):
        log_prob = self._estimate_log_prob(X)
        log_prob += self._estimate_log_weights()
        return log_prob

    def _validate_sample_weight(self, sample_weight, X):
        """Sample weights as float64 aligned with X (None when not given).

        Raises
        ------
        ValueError
            On a wrong shape, negative or non-finite weights, or weights that
            sum to zero.
        """
        if sample_weight is None:
            return None
        if is_dask_array(X):
            return check_dask_sample_weight(sample_weight, X)
        if is_dask_array(sample_weight):
            sample_weight = sample_weight.compute()
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if not np.isfinite(weights).all():
            raise ValueError("sample_weight contains NaN or infinity.")
        if weights.sum() <= 0:
            raise ValueError("sample_weight sums to zero: no row carries any weight.")
        return weights

    def _fit(self, X, sample_weight=None):
        """Run EM ``n_init`` times (once when warm-starting) and keep the best.

        Returns the responsibilities of ``X`` under the kept parameters, from a
        final E-step, so that ``fit_predict(X)`` equals ``fit(X).predict(X)``
        (lazily, as a dask array, for a dask X).
        """
        X = self._validate_any_X(X, reset=True)
        weights = self._validate_sample_weight(sample_weight, X)
        n_samples = X.shape[0]
        check_n_samples(n_samples, self.n_components)
        # Data far from unit scale (float32 in SI units, 1e-17) is fitted as
        # X * 2^k (exact) and the parameters brought back: no subnormal
        # squares, the same model as at unit scale.
        scale = self._internal_scale(X)
        if scale != 1.0:
            X = X * X.dtype.type(scale)
        self._data_scale = scale
        self._scale_ = 1.0  # the parameters are of X * scale while EM runs
        try:
            self._check_parameters(X)
            return self._fit_scaled(X, weights, scale)
        finally:
            self._data_scale = 1.0

    _data_scale = 1.0

    def _internal_scale(self, X):
        """2^-e for in-memory data whose largest magnitude 2^e is outside
        [2^-20, 2^20] (1.0 otherwise, for dask and for scale-free mixtures)."""
        if is_dask_array(X) or not hasattr(self, "_rescale_parameters"):
            return 1.0
        return internal_scale(X)

    def _fit_scaled(self, X, weights, scale):

        do_init = not (self.warm_start and hasattr(self, "converged_"))
        if not do_init and self.means_.shape[1] != X.shape[1]:
            raise ValueError(
                f"warm_start=True continues from the fitted mixture, which has "
                f"{self.means_.shape[1]} features, but X has {X.shape[1]}; refit with "
                "warm_start=False"
            )
        # BLAS on the idle cores only: on a machine with a busy core, a thread
        # sharing it makes every product wait (see idle_cores).
        with blas_threads_for_load():
            if not do_init and scale != 1.0:
                self._rescale_parameters(scale)
            self._run_em(X, weights, do_init)
            if is_dask_array(X):
                return self._lazy_output(X, "predict_proba")
            resp = self._e_step(X)[1]
        if scale != 1.0:
            self._rescale_parameters(1.0 / scale)
            self._scale_ = scale
            # log p(x) = log p_scaled(x * scale) + n_features log(scale).
            shift = X.shape[1] * np.log(scale)
            self.lower_bound_ += shift
            self.lower_bounds_ = self.lower_bounds_ + shift
        return resp

    def _run_em(self, X, weights, do_init):
        """The EM iterations of ``_fit`` on validated X (in memory or dask)."""
        n_init = self.n_init if do_init else 1
        random_state = check_random_state(self.random_state)
        em_merge = partial(_merge_passes, type(self)._merge_statistics)

        best_lower_bound = -np.inf
        best_params, best_n_iter, best_history = None, 0, []
        best_converged = False
        for init in range(n_init):
            if self.verbose:
                print(f"Initialization {init}")
                tic = perf_counter()
            if do_init:
                self._initialize_parameters(X, weights, random_state)
            lower_bound = -np.inf if do_init else self.lower_bound_
            if self.max_iter == 0:
                # No EM step: the bound is that of the starting parameters.
                log_likelihood, total = self._pass(_score_pass, _add_pairs, X, weights, self)
                lower_bound = (log_likelihood + self._log_prior()) / total
            history = []
            converged = False
            n_iter = 0
            for n_iter in range(1, self.max_iter + 1):
                previous = lower_bound
                result = self._pass(_em_pass, em_merge, X, weights, self)
                if result.total_weight <= 0:
                    raise ValueError("sample_weight sums to zero: no row carries any weight.")
                # The objective EM increases, at the parameters the E-step used:
                # log-likelihood plus log prior, per unit of weight.
                lower_bound = (result.log_likelihood + self._log_prior()) / result.total_weight
                self._m_step(result.statistics)
                del result
                history.append(lower_bound)
                change = lower_bound - previous
                if self.verbose >= 2 and n_iter % self.verbose_interval == 0:
                    print(
                        f"  Iteration {n_iter}\t time lapse {perf_counter() - tic:.5f}s"
                        f"\t lower bound change {change:.5f}"
                    )
                if abs(change) < self.tol:
                    converged = True
                    break
            if self.verbose:
                print(
                    f"Initialization {'converged' if converged else 'did not converge'}."
                    f" time lapse {perf_counter() - tic:.5f}s\t lower bound"
                    f" {lower_bound:.5f}"
                )
            if best_params is None or lower_bound > best_lower_bound:
                best_lower_bound = lower_bound
                best_params = self._get_parameters()
                best_n_iter = n_iter
                best_history = history
                best_converged = converged

        self.converged_ = best_converged
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        self._set_parameters(best_params)
        self.n_iter_ = best_n_iter
        self.lower_bound_ = best_lower_bound
        self.lower_bounds_ = np.asarray(best_history, dtype=np.float64)

    def _lazy_output(self, X, method):
        n_columns = None if method in ("predict", "score_samples") else self.n_components
        dtype = np.intp if method == "predict" else self.means_.dtype
        return apply_by_chunks(self, method, X, n_columns=n_columns, dtype=dtype)

    # ------------------------------------------------------------- public API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the parameters by EM.

        Runs ``n_init`` initialisations (one when ``warm_start`` and already
        fitted), each until the change of the lower bound per sample is below
        ``tol`` or ``max_iter`` iterations, and keeps the one with the highest
        lower bound.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Training data, at least two samples and at least ``n_components``.
            A dask array is never loaded whole: each EM iteration is one pass
            over its row chunks (per-chunk statistics merged as a tree).
        y : Ignored
            Present for API consistency.
        sample_weight : array-like or dask array of shape (n_samples,), default=None
            Non-negative weight of each sample (None: all 1). They enter the
            initialisation, the statistics and the lower bound: an integer
            weight is the same as repeating the row, zero the same as dropping
            it (from the same initial parameters).

        Returns
        -------
        self : object
            The fitted mixture.

        Raises
        ------
        ValueError
            On NaN or inf (for a dask array: naming the chunk), non-2-D input,
            unknown dask chunk sizes, fewer samples than components, negative
            or all-zero weights, or invalid parameters.
        """
        self._fit(X, sample_weight)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit by EM and return the most probable component of each sample.

        Equal to ``fit(X).predict(X)`` for any ``max_iter``, ``tol`` and seed.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            As in :meth:`fit`.

        Returns
        -------
        labels : ndarray or dask array of shape (n_samples,)
            Component index of each sample (lazy for a dask X).
        """
        return self._fit(X, sample_weight).argmax(axis=1)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit by EM and return the responsibilities of ``X``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            As in :meth:`fit`.

        Returns
        -------
        resp : ndarray or dask array of shape (n_samples, n_components)
            Responsibilities p(z = k | x); rows sum to one.
        """
        return self._fit(X, sample_weight)

    def _validate_fitted(self, X):
        check_is_fitted(self)
        return self._validate_any_X(X, reset=False)

    def score_samples(self, X):
        """Log-likelihood of each sample, log p(x), in nats.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Data with as many features as in ``fit``.

        Returns
        -------
        log_prob : ndarray or dask array of shape (n_samples,)
            log p(x_i) under the fitted mixture, in nats (lazy and
            chunk-aligned for a dask X).
        """
        X = self._validate_fitted(X)
        if is_dask_array(X):
            return self._lazy_output(X, "score_samples")
        return _normalize_log_prob(self._estimate_weighted_log_prob(X))

    def _log_likelihood(self, X):
        """sum_i log p(x_i) in nats and the number of rows, in one pass."""
        X = self._validate_fitted(X)
        return self._pass(_score_pass, _add_pairs, X, None, self)

    def score(self, X, y=None):
        """Mean log-likelihood per sample, in nats (higher is better).

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Data with as many features as in ``fit``.
        y : Ignored
            Present for API consistency.

        Returns
        -------
        log_likelihood : float
            Mean of ``score_samples(X)``, in nats (computed, also for a dask X).
        """
        log_likelihood, n = self._log_likelihood(X)
        return log_likelihood / n

    def predict_proba(self, X):
        """Responsibilities p(z = k | x) of each component for each sample.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Data with as many features as in ``fit``.

        Returns
        -------
        resp : ndarray or dask array of shape (n_samples, n_components)
            Non-negative, rows sum to one (lazy for a dask X).
        """
        X = self._validate_fitted(X)
        if is_dask_array(X):
            return self._lazy_output(X, "predict_proba")
        return self._e_step(X)[1]

    def transform(self, X):
        """Responsibilities of each component, so that a mixture is a soft-clustering step.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Data with as many features as in ``fit``.

        Returns
        -------
        resp : ndarray or dask array of shape (n_samples, n_components)
            Same as ``predict_proba(X)``.
        """
        return self.predict_proba(X)

    def predict(self, X):
        """Most probable component of each sample.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Data with as many features as in ``fit``.

        Returns
        -------
        labels : ndarray or dask array of shape (n_samples,)
            argmax_k p(z = k | x) (lazy for a dask X).
        """
        X = self._validate_fitted(X)
        if is_dask_array(X):
            return self._lazy_output(X, "predict")
        return self._estimate_weighted_log_prob(X).argmax(axis=1)

    def sample(self, n_samples=1, random_state=None):
        """Draw samples from the fitted mixture.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples, at least 1.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws. None uses the estimator's ``random_state``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The samples, in the dtype of the training data, grouped by component.
        y : ndarray of shape (n_samples,)
            The component each sample was drawn from.

        Raises
        ------
        ValueError
            When ``n_samples`` is not a positive integer.
        """
        check_is_fitted(self)
        check_positive_int(n_samples)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        weights = np.asarray(self.weights_, dtype=np.float64)
        counts = rng.multinomial(n_samples, weights / weights.sum())
        X = np.concatenate(
            [self._sample_component(k, int(c), rng) for k, c in enumerate(counts)]
        )
        y = np.repeat(np.arange(self.n_components), counts)
        return X, y

    def bic(self, X):
        """Bayesian information criterion of the model on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Data with as many features as in ``fit``.

        Returns
        -------
        bic : float
            -2 log L + p log n, with log L in nats and p free parameters
            (Schwarz 1978).
        """
        log_likelihood, n = self._log_likelihood(X)
        return -2 * log_likelihood + self._n_parameters() * np.log(n)

    def aic(self, X):
        """Akaike information criterion of the model on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Data with as many features as in ``fit``.

        Returns
        -------
        aic : float
            -2 log L + 2 p, with log L in nats and p free parameters (Akaike 1974).
        """
        log_likelihood, _ = self._log_likelihood(X)
        return -2 * log_likelihood + 2 * self._n_parameters()

    @property
    def _n_features_out(self):
        """Number of output columns; undefined (AttributeError) before ``fit``."""
        return self.weights_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
