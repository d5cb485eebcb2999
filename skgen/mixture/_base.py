"""The one EM loop shared by every skgen mixture.

A subclass supplies its statistics and parameter updates only:

- ``_check_parameters(X)``: validate the model-specific parameters against ``X``;
- ``_initialize(X, resp)``: parameters from initial responsibilities (``resp`` is
  None when the user gave every initial parameter);
- ``_m_step(X, resp)``: parameters from responsibilities;
- ``_estimate_log_prob(X)``: log p(x | component k), shape (n_samples, n_components);
- ``_log_prior()``: log prior density of the parameters (0 for maximum likelihood);
- ``_get_parameters`` / ``_set_parameters`` / ``_n_parameters``;
- ``_sample_component(k, n, rng)``: draws from component k.

Reference: Dempster, Laird & Rubin (1977), "Maximum likelihood from incomplete data
via the EM algorithm"; Bishop (2006), *Pattern Recognition and Machine Learning*,
section 9.2-9.4.
"""

import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real
from time import perf_counter

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
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils import check_array_param, check_n_samples, check_X
from ..utils._numba import blas_threads_for_load, jit

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
    def _validate_X(self, X, reset):
        """Validate input; subclasses that accept sparse or binary data override."""
        return check_X(self, X, reset=reset, ensure_min_samples=2 if reset else 1)

    @abstractmethod
    def _check_parameters(self, X):
        """Validate the subclass's parameters against the data."""

    def _initial_parameters_given(self):
        """True when the user gave every initial parameter: no responsibilities needed."""
        return False

    @abstractmethod
    def _initialize(self, X, resp):
        """Set the parameters from initial responsibilities ``resp`` (or None)."""

    @abstractmethod
    def _m_step(self, X, resp):
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

    # ------------------------------------------------------------- EM loop
    def _initialize_parameters(self, X, random_state):
        """Initial responsibilities by ``init_params``, then ``_initialize``.

        The draws match scikit-learn's ``BaseMixture`` for the same
        ``random_state``, so both start from the same point.
        """
        if self._initial_parameters_given():
            self._initialize(X, None)
            return
        n_samples = X.shape[0]
        resp = np.zeros((n_samples, self.n_components), dtype=X.dtype)
        if self.init_params == "kmeans":
            labels = (
                KMeans(n_clusters=self.n_components, n_init=1, random_state=random_state)
                .fit(X)
                .labels_
            )
            resp[np.arange(n_samples), labels] = 1
        elif self.init_params == "random":
            resp[:] = random_state.uniform(size=(n_samples, self.n_components))
            resp /= resp.sum(axis=1, keepdims=True)
        elif self.init_params == "random_from_data":
            indices = random_state.choice(n_samples, size=self.n_components, replace=False)
            resp[indices, np.arange(self.n_components)] = 1
        else:  # "k-means++"
            # Centred, since kmeans_plusplus expands squared distances: data far
            # from the origin (float32 offset by 1e4) would lose every digit.
            # KMeans centres internally; k-means++ only needs the indices.
            Xc = X if sp.issparse(X) else X - X.mean(axis=0, dtype=np.float64).astype(X.dtype)
            _, indices = kmeans_plusplus(Xc, self.n_components, random_state=random_state)
            resp[indices, np.arange(self.n_components)] = 1
        self._initialize(X, resp)

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

    def _fit(self, X):
        """Run EM ``n_init`` times (once when warm-starting) and keep the best.

        Returns the responsibilities of ``X`` under the kept parameters, from a
        final E-step, so that ``fit_predict(X)`` equals ``fit(X).predict(X)``.
        """
        X = self._validate_X(X, reset=True)
        n_samples = X.shape[0]
        check_n_samples(n_samples, self.n_components)
        self._check_parameters(X)

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
            return self._run_em(X, do_init)

    def _run_em(self, X, do_init):
        """The EM iterations of ``_fit`` on validated X; returns the final
        responsibilities."""
        n_samples = X.shape[0]
        n_init = self.n_init if do_init else 1
        random_state = check_random_state(self.random_state)

        best_lower_bound = -np.inf
        best_params, best_n_iter, best_history = None, 0, []
        best_converged = False
        for init in range(n_init):
            if self.verbose:
                print(f"Initialization {init}")
                tic = perf_counter()
            if do_init:
                self._initialize_parameters(X, random_state)
            lower_bound = -np.inf if do_init else self.lower_bound_
            if self.max_iter == 0:
                # No EM step: the bound is that of the starting parameters.
                lower_bound = self._e_step(X)[0] + self._log_prior() / n_samples
            history = []
            converged = False
            n_iter = 0
            for n_iter in range(1, self.max_iter + 1):
                previous = lower_bound
                mean_log_prob, resp = self._e_step(X)
                # The objective EM increases, at the parameters the E-step used:
                # log-likelihood plus log prior, per sample.
                lower_bound = mean_log_prob + self._log_prior() / n_samples
                self._m_step(X, resp)
                del resp
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
        _, resp = self._e_step(X)
        return resp

    # ------------------------------------------------------------- public API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Estimate the parameters by EM.

        Runs ``n_init`` initialisations (one when ``warm_start`` and already
        fitted), each until the change of the lower bound per sample is below
        ``tol`` or ``max_iter`` iterations, and keeps the one with the highest
        lower bound.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, at least two samples and at least ``n_components``.
        y : Ignored
            Present for API consistency.

        Returns
        -------
        self : object
            The fitted mixture.

        Raises
        ------
        ValueError
            On NaN or inf, non-2-D input, fewer samples than components, or
            invalid parameters.
        """
        self._fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X, y=None):
        """Fit by EM and return the most probable component of each sample.

        Equal to ``fit(X).predict(X)`` for any ``max_iter``, ``tol`` and seed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Present for API consistency.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component index of each sample.
        """
        return self._fit(X).argmax(axis=1)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit by EM and return the responsibilities of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Present for API consistency.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Responsibilities p(z = k | x); rows sum to one.
        """
        return self._fit(X)

    def _validate_fitted(self, X):
        check_is_fitted(self)
        return self._validate_X(X, reset=False)

    def score_samples(self, X):
        """Log-likelihood of each sample, log p(x), in nats.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with as many features as in ``fit``.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            log p(x_i) under the fitted mixture, in nats.
        """
        X = self._validate_fitted(X)
        return _normalize_log_prob(self._estimate_weighted_log_prob(X))

    def score(self, X, y=None):
        """Mean log-likelihood per sample, in nats (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with as many features as in ``fit``.
        y : Ignored
            Present for API consistency.

        Returns
        -------
        log_likelihood : float
            Mean of ``score_samples(X)``, in nats.
        """
        return float(np.mean(self.score_samples(X), dtype=np.float64))

    def predict_proba(self, X):
        """Responsibilities p(z = k | x) of each component for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with as many features as in ``fit``.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Non-negative, rows sum to one.
        """
        X = self._validate_fitted(X)
        return self._e_step(X)[1]

    def transform(self, X):
        """Responsibilities of each component, so that a mixture is a soft-clustering step.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with as many features as in ``fit``.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Same as ``predict_proba(X)``.
        """
        return self.predict_proba(X)

    def predict(self, X):
        """Most probable component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with as many features as in ``fit``.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            argmax_k p(z = k | x).
        """
        X = self._validate_fitted(X)
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
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r}. The sampling requires at "
                "least one sample."
            )
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
        X : array-like of shape (n_samples, n_features)
            Data with as many features as in ``fit``.

        Returns
        -------
        bic : float
            -2 log L + p log n, with log L in nats and p free parameters
            (Schwarz 1978).
        """
        log_prob = self.score_samples(X)
        n = log_prob.shape[0]
        return -2 * float(np.sum(log_prob, dtype=np.float64)) + self._n_parameters() * np.log(n)

    def aic(self, X):
        """Akaike information criterion of the model on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with as many features as in ``fit``.

        Returns
        -------
        aic : float
            -2 log L + 2 p, with log L in nats and p free parameters (Akaike 1974).
        """
        log_prob = self.score_samples(X)
        return -2 * float(np.sum(log_prob, dtype=np.float64)) + 2 * self._n_parameters()

    @property
    def _n_features_out(self):
        """Number of output columns; undefined (AttributeError) before ``fit``."""
        return self.weights_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
