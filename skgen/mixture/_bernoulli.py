"""Mixture of multivariate Bernoulli distributions fitted by EM (MAP).

For binary x in {0, 1}^d, component k has independent pixels with means mu_k:

    log p(x | k) = sum_j x_j log mu_kj + (1 - x_j) log(1 - mu_kj)
                 = x . log(mu_k / (1 - mu_k)) + sum_j log(1 - mu_kj),

so the E-step is one matrix product over all components. Rows sparse enough
(binarized MNIST: 13% ones) are held as CSR, the indices of their ones: the
E-step then adds, for each one, the K log-odds of its pixel, and the M-step
adds each row's K responsibilities to the counts of its ones
(:mod:`skgen.utils._csr`), instead of two dense matrix products; a row sure
of a few components adds only theirs (the others' sum stays below one unit in
the last place of the prior's pseudo-counts, see ``_negligible_responsibility``).
The M-step is the responsibility-weighted mean of the data, smoothed by a Beta
prior (``alpha`` pseudo-counts for each outcome, as in BernoulliNB) and the weights
by a Dirichlet prior, so that no parameter reaches 0 or 1.

A missing pixel (NaN) drops out of the product: the E-step adds only the
observed pixels' terms, and the M-step divides each pixel's counts by the
responsibility mass of the rows that observed it (exact EM for data missing at
random).

Reference: Bishop (2006), *Pattern Recognition and Machine Learning*, section 9.3.3,
equations 9.47-9.60; MAP EM: McLachlan & Krishnan (2008), *The EM Algorithm and
Extensions*, section 1.6.
"""

from numbers import Real

import numpy as np
import scipy.sparse as sp
from scipy.special import xlogy
from sklearn.preprocessing import binarize as _binarize
from sklearn.utils._param_validation import Interval

from ..utils import check_array_param, check_binary, check_X
from ..utils._csr import csr_label_sums, csr_product, csr_transposed_product, dense_to_csr
from ._base import BaseMixture
from ._init import check_weights_init
from ._passes import PassResult, linear_csr_pass

__all__ = ["BernoulliMixture"]


class BernoulliMixture(BaseMixture):
    """Mixture of multivariate Bernoulli distributions, fitted by EM.

    Models binary vectors (binarized images, presence/absence data) as a mixture
    of K products of independent Bernoullis. Accepts dense arrays and scipy.sparse
    matrices (used as CSR, never densified). The E-step is computed in the log
    domain as one matrix product over all components. With the default priors
    the M-step is a maximum a posteriori update, so no mean reaches 0 or 1 and no
    weight reaches 0: a component that loses all its points falls back to the
    prior instead of producing NaN.

    Parameters
    ----------
    n_components : int, default=1
        Number of components K.
    binarize : float or None, default=0.0
        Threshold for binarizing the input, as in scikit-learn's BernoulliNB:
        values strictly above it become 1, others 0. None means the input must
        already be binary (only 0 and 1), else ``ValueError``.
    alpha : float, default=1e-2
        Additive (Laplace/Lidstone) smoothing of the means: pseudo-counts added
        to each outcome, i.e. the MAP estimate under a Beta(1 + alpha, 1 + alpha)
        prior on every mean. 0 gives maximum likelihood (the means are then
        clipped to [eps, 1 - eps] to keep the log-likelihood finite).
    weight_concentration_prior : float, default=1.01
        Concentration of the symmetric Dirichlet prior on the weights (MAP
        update adds ``weight_concentration_prior - 1`` to each component's
        count). 1 gives maximum likelihood.
    tol : float, default=1e-3
        EM stops when the lower bound (mean log posterior per sample, nats)
        changes by less than ``tol``.
    max_iter : int, default=100
        EM iterations per initialisation.
    n_init : int, default=1
        Initialisations; the one with the highest lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How the initial responsibilities are drawn, as in scikit-learn (the
        same draws for the same ``random_state``), except 'kmeans' on more than
        max(2000, 100 n_components) rows: k-means++ and 10 Lloyd steps on a
        uniform sample of that many rows, then 2 Lloyd passes over all rows
        (a start that costs about three EM iterations; scikit-learn runs k-means
        to convergence on all rows). A dask array is always started from such
        a sample (see the user guide's "Scaling out").
    weights_init : array-like of shape (n_components,), default=None
        Initial mixing weights; non-negative, summing to one.
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means, each strictly between 0 and 1.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation and of ``sample``.
    warm_start : bool, default=False
        If True, each ``fit`` continues from the last solution.
    verbose : int, default=0
        1 prints each initialisation, 2 also every ``verbose_interval`` iterations.
    verbose_interval : int, default=10
        Iterations between messages.
    learning_decay : float in [0, 1], default=0.7
        kappa of the step size rho_t = (t + learning_offset)^-kappa of
        ``partial_fit`` (stepwise EM; converges for kappa in (0.5, 1]; 0: every
        step is plain EM on its batch). As scikit-learn's online
        LatentDirichletAllocation.
    learning_offset : float >= 0, default=10.0
        tau0 of that step size: larger values slow the early steps.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights pi_k.
    means_ : ndarray of shape (n_components, n_features)
        Bernoulli means mu_kj = p(x_j = 1 | k), strictly inside (0, 1).
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood per sample plus log prior / n_samples (nats), the
        objective MAP-EM increases, at the last iteration.
    lower_bounds_ : ndarray of shape (n_iterations,)
        The lower bound after each iteration.
    n_steps_ : int
        ``partial_fit`` steps since the model was initialised or refitted
        (absent after ``fit``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Only when ``X`` has string column names.

    Raises
    ------
    ValueError
        From ``fit`` and every method: NaN or inf, 1-D input, fewer samples than
        components (in ``fit``), non-binary input when ``binarize=None`` (the
        message names the offending values), initial parameters of the wrong
        shape or outside (0, 1).

    See Also
    --------
    GaussianMixtureEM : the Gaussian counterpart.

    References
    ----------
    Bishop (2006), *Pattern Recognition and Machine Learning*, section 9.3.3,
    equations 9.47-9.60.

    Examples
    --------
    >>> import numpy as np
    >>> from skgen import BernoulliMixture
    >>> rng = np.random.RandomState(0)
    >>> X = (rng.rand(200, 16) < 0.3).astype(float)
    >>> bm = BernoulliMixture(n_components=2, random_state=0).fit(X)
    >>> bm.means_.shape
    (2, 16)
    """

    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "binarize": [Real, None],
        "alpha": [Interval(Real, 0.0, None, closed="left")],
        "weight_concentration_prior": [Interval(Real, 1.0, None, closed="left")],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
    }

    def __init__(
        self,
        n_components=1,
        *,
        binarize=0.0,
        alpha=1e-2,
        weight_concentration_prior=1.01,
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        learning_decay=0.7,
        learning_offset=10.0,
    ):
        super().__init__(
            n_components=n_components,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            learning_decay=learning_decay,
            learning_offset=learning_offset,
        )
        self.binarize = binarize
        self.alpha = alpha
        self.weight_concentration_prior = weight_concentration_prior
        self.weights_init = weights_init
        self.means_init = means_init

    _chunk_magnitude = False

    def _validate_X(self, X, reset):
        # Binary or thresholded: no squares of X are formed, any magnitude is fine.
        X = check_X(
            self, X, reset=reset, accept_sparse=True, ensure_min_samples=2 if reset else 1,
            magnitude_dtype=False, ensure_all_finite="allow-nan",
        )
        return self._check_values(X)

    def _check_values(self, X):
        """Binary X (``binarize=None``) or X thresholded at ``binarize``, NaN
        (missing) kept; CSR stays CSR, and dense rows sparse enough for the CSR
        kernels (:data:`skgen.utils._csr.DENSE_THRESHOLD_DENSITY`) become CSR."""
        X = sp.csr_matrix(X) if sp.issparse(X) and X.format != "csr" else X
        if self.binarize is not None and not np.isfinite(self.binarize):
            raise ValueError(f"binarize must be a finite threshold or None, got {self.binarize!r}")
        if not sp.issparse(X):
            exact = self.binarize is None
            ones = dense_to_csr(X, threshold=0.0 if exact else self.binarize, exact=exact)
            if ones is not None:
                return super()._check_values(ones)
        X = super()._check_values(X)
        if self.binarize is None:
            check_binary(X, allow_nan=True)
            return X
        values = X.data if sp.issparse(X) else X
        missing = np.isnan(values)
        if not missing.any():
            return _binarize(X, threshold=self.binarize)
        if sp.issparse(X):
            if self.binarize < 0:
                raise ValueError("Cannot binarize a sparse matrix with threshold < 0")
            # Stored NaN stay stored (missing); thresholded zeros are dropped.
            data = np.where(missing, np.nan, values > self.binarize).astype(X.dtype)
            X = sp.csr_matrix((data, X.indices, X.indptr), shape=X.shape)
            X.eliminate_zeros()
            return X
        return np.where(missing, np.nan, X > self.binarize).astype(X.dtype)

    def _check_parameters(self, n_features, dtype):
        K, d = self.n_components, n_features
        self._weights_init = self._means_init = None
        if self.weights_init is not None:
            self._weights_init = check_weights_init(self.weights_init, K, dtype)
        if self.means_init is not None:
            self._means_init = check_array_param(
                self.means_init, "means_init", (K, d), dtype, lower=0, upper=1
            )

    def _initial_parameters_given(self):
        return self.weights_init is not None and self.means_init is not None

    def _statistics(self, X, resp):
        # nk = sum_i r_ik and sum_i r_ik x_i; CSR X stays sparse. With missing
        # pixels, also the responsibility mass of the rows that observed each
        # pixel, sum_i r_ik o_ij (None: every row observed every pixel).
        nk = resp.sum(axis=0)
        if sp.issparse(X):
            counts, missing = csr_transposed_product(X, resp)
            return self._counts(nk, counts, missing, X.dtype)
        missing = _missing(X)
        if missing is None:
            return nk, np.asarray(resp.T @ X, dtype=X.dtype), None
        counts = resp.T @ np.where(np.isnan(X), 0, X)
        observed = nk[:, np.newaxis] - resp.T @ missing
        return nk, np.asarray(counts, dtype=X.dtype), observed.astype(X.dtype)

    def _label_statistics(self, X, labels, weights):
        # CSR rows without NaN: each row's sum goes to its label's counts, one
        # add per one (the transposed product adds a row of K: 26 -> 11 ms for
        # the start's assignment of 20000 binarized MNIST rows). The same sums.
        if not sp.issparse(X) or np.isnan(X.data).any():
            return super()._label_statistics(X, labels, weights)
        sums, totals = csr_label_sums(X, labels, self.n_components, weights)
        return self._counts(totals, sums.T, None, X.dtype)

    @staticmethod
    def _merge_statistics(a, b):
        observed = None
        if a[2] is not None or b[2] is not None:
            observed = _observed_mass(a) + _observed_mass(b)
        return a[0] + b[0], a[1] + b[1], observed

    @staticmethod
    def _scale_statistics(stats, factor):
        nk, counts, observed = stats
        f = counts.dtype.type(factor)
        return nk * f, counts * f, None if observed is None else observed * f

    def _initialize(self, stats):
        if stats is not None:
            self._m_step(stats)
        if self._weights_init is not None:
            self.weights_ = self._weights_init
        if self._means_init is not None:
            self.means_ = self._means_init

    def _m_step(self, stats):
        nk, counts, observed = stats
        dtype = counts.dtype
        eps = np.finfo(dtype).eps
        mass = nk[:, np.newaxis] if observed is None else observed
        means = (counts + self.alpha) / (mass + 2 * self.alpha + 10 * eps)
        if self.alpha == 0:
            np.clip(means, eps, 1 - eps, out=means)
        self.means_ = means.astype(dtype, copy=False)
        extra = self.weight_concentration_prior - 1.0
        weights = (nk + extra) / (nk.sum() + self.n_components * extra)
        self.weights_ = (weights / weights.sum()).astype(dtype, copy=False)

    def _one_pass(self, X, weights, context):
        # CSR rows: the E-step, the responsibilities and the counts row by
        # row in one kernel (no responsibilities of all rows are kept).
        if not sp.issparse(X):
            return None
        log_mu, log_1m_mu = np.log(self.means_), np.log1p(-self.means_)
        base = log_1m_mu.sum(axis=1) + self._estimate_log_weights()
        log_likelihood, total, nk, counts, missing = linear_csr_pass(
            X, (log_mu - log_1m_mu).T, log_1m_mu.T, base, weights,
            drop_below=self._negligible_responsibility(context.n_samples, X.dtype),
            ones_only=context.ones_only)
        return PassResult(log_likelihood, total, self._counts(nk, counts, missing, X.dtype))

    def _negligible_responsibility(self, n_samples, dtype):
        """Weighted responsibilities the M-step's counts may leave out: at most
        eps min(alpha, weight_concentration_prior - 1) / n_samples, so that what
        n_samples rows leave out of a component's sums is below one unit in the
        last place of the prior's pseudo-counts, hence of every mean and weight
        (each is (sum + pseudo-count) / (mass + pseudo-counts)). With alpha = 0
        or weight_concentration_prior = 1 (maximum likelihood) only exact zeros
        are left out. On binarized MNIST (K = 20, default priors) 2-3 of a
        row's 20 responsibilities are above it after the first iteration."""
        prior = min(self.alpha, self.weight_concentration_prior - 1.0)
        return float(np.finfo(dtype).eps) * prior / max(n_samples, 1)

    @staticmethod
    def _counts(nk, counts, missing, dtype):
        """Statistics from float64 sums: counts and missing mass of shape
        (n_features, n_components)."""
        observed = None if missing is None else (nk[:, np.newaxis] - missing.T).astype(dtype)
        return nk.astype(dtype), counts.T.astype(dtype), observed

    def _estimate_log_prob(self, X):
        log_mu = np.log(self.means_)
        log_1m_mu = np.log1p(-self.means_)
        if sp.issparse(X):
            # A missing pixel drops out of the product: no log(1 - mu) term.
            log_prob = np.empty((X.shape[0], self.n_components), dtype=self.means_.dtype)
            log_prob[:] = log_1m_mu.sum(axis=1)
            return csr_product(X, (log_mu - log_1m_mu).T, W_missing=log_1m_mu.T, out=log_prob)
        missing = _missing(X)
        if missing is not None:
            X = np.where(np.isnan(X), 0, X)
        log_prob = np.asarray(X @ (log_mu - log_1m_mu).T, dtype=self.means_.dtype)
        log_prob += log_1m_mu.sum(axis=1)
        if missing is not None:
            log_prob -= np.asarray(missing @ log_1m_mu.T, dtype=log_prob.dtype)
        return log_prob

    def _fill_missing(self, X, rng=None):
        """X with its NaN replaced from p(x_m | x_o): sum_k p(k | x_o) mu_km, or
        with ``rng`` a draw (k ~ p(k | x_o), then Bernoulli(mu_km)); dense output.

        Parameters
        ----------
        X : ndarray or CSR matrix of shape (n_samples, n_features)
        rng : numpy.random.Generator or None

        Returns
        -------
        filled : ndarray of shape (n_samples, n_features)
        """
        dense = X.toarray() if sp.issparse(X) else np.array(X)
        missing = np.isnan(dense)
        if not missing.any():
            return dense
        resp = self._responsibilities(X)
        if rng is None:
            fill = resp @ self.means_
        else:
            cumulative = np.cumsum(resp, axis=1)
            chosen = np.minimum((rng.uniform(size=(len(dense), 1)) > cumulative).sum(axis=1),
                                self.n_components - 1)
            fill = (rng.uniform(size=dense.shape) < self.means_[chosen]).astype(dense.dtype)
        return np.where(missing, fill, dense)

    def _estimate_log_weights(self):
        with np.errstate(divide="ignore"):
            return np.log(self.weights_)

    def _log_prior(self):
        # Beta(1 + alpha, 1 + alpha) on each mean and Dirichlet on the weights,
        # up to their normalising constants.
        mu = self.means_.astype(np.float64)
        w = self.weights_.astype(np.float64)
        log_prior = self.alpha * float(np.sum(np.log(mu) + np.log1p(-mu)))
        log_prior += float(np.sum(xlogy(self.weight_concentration_prior - 1.0, w)))
        return log_prior

    def _get_parameters(self):
        return self.weights_, self.means_

    def _set_parameters(self, params):
        self.weights_, self.means_ = params

    def _n_parameters(self):
        K, d = self.means_.shape
        return K * d + K - 1

    def _sample_component(self, k, n_samples, rng):
        d = self.means_.shape[1]
        return (rng.uniform(size=(n_samples, d)) < self.means_[k]).astype(
            self.means_.dtype
        )

    _allow_nan = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _observed_mass(stats):
    """sum_i r_ik o_ij of statistics (nk broadcast over the pixels when complete)."""
    nk, counts, observed = stats
    return np.broadcast_to(nk[:, np.newaxis], counts.shape) if observed is None else observed


def _missing(X):
    """Indicator of the missing entries of dense X, or None without NaN."""
    # max propagates NaN: one read, no mask, for the common complete case.
    if X.size == 0 or not np.isnan(np.max(X)):
        return None
    return np.isnan(X).astype(X.dtype)
