"""The one EM loop shared by every skgen mixture.

A subclass supplies its statistics and parameter updates only:

- ``_validate_X(X, reset)``: validation of in-memory input (default
  :func:`skgen.utils.check_X`), and ``_check_values(X)``: the checks and
  transforms of values beyond finiteness and magnitude (a range check, a
  threshold), which ``_validate_X`` applies to in-memory data and the row
  source to each dask chunk as it is read (identity by default);
- ``_chunk_magnitude``: whether dask chunks are checked for magnitudes whose
  squares overflow (False for models that never square X);
- ``_check_parameters(n_features, dtype)``: validate the model-specific
  parameters against the data's shape and dtype;
- ``_initial_parameters_given()``: True when the user gave every initial
  parameter (no initial responsibilities needed);
- ``_statistics(X, resp)``: sufficient statistics of rows ``X`` under weighted
  responsibilities ``resp``, and ``_merge_statistics(a, b)`` of two disjoint sets
  of rows (so that a pass over chunks reduces them as a tree);
- ``_initialize(stats)``: parameters from the statistics of initial
  responsibilities (``stats`` is None when the user gave every initial parameter);
- ``_m_step(stats)``: parameters from the statistics of the E-step's
  responsibilities;
- ``_estimate_log_prob(X)``: log p(x | component k), shape (n_samples, n_components);
- ``_estimate_log_weights()``: log of the mixing weights, shape (n_components,);
- ``_log_prior()``: log prior density of the parameters (0 for maximum likelihood);
- ``_get_parameters`` / ``_set_parameters`` / ``_n_parameters``;
- ``_sample_component(k, n, rng)``: draws from component k;
- ``_rescale_parameters(factor)`` (optional): the parameters of X * factor, for
  models fitted internally on X times a power of two.

Every pass over the data (E-step plus statistics, initial statistics, k-means
steps, scores) is one function of (rows, sample weights) in ``_passes.py``,
which the row source (:mod:`skgen.utils._rows`) runs on the whole array in
memory, on row blocks in threads, or on each chunk of a dask array with the
results merged as a tree: one EM loop for every kind of input. The starts are
in ``_init.py``.

Reference: Dempster, Laird & Rubin (1977), "Maximum likelihood from incomplete data
via the EM algorithm"; Bishop (2006), *Pattern Recognition and Machine Learning*,
section 9.2-9.4.
"""

import contextlib
import warnings
from abc import ABCMeta, abstractmethod
from functools import partial
from numbers import Integral, Real
from time import perf_counter

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    DensityMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils import check_n_samples, check_positive_int, check_X
from ..utils._numba import blas_threads_for_load
from ..utils._rows import ArrayRows, row_source
from ..utils._validation import check_observed_rows, internal_scale
from ._init import column_fill, initial_statistics
from ._stepwise import stepwise_step
from ._passes import (PassContext, add_pairs, em_pass, fill_for_start, merge_passes,
                      normalize_log_prob, one_hot, score_pass)

__all__ = ["BaseMixture"]


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
        "learning_decay": [Interval(Real, 0, 1, closed="both")],
        "learning_offset": [Interval(Real, 0, None, closed="left")],
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
        learning_decay=0.7,
        learning_offset=10.0,
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
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset

    # ---------------------------------------------------------------- hooks
    # Dask chunks checked for magnitudes whose squares overflow (as check_X does).
    _chunk_magnitude = True
    # NaN marks a missing entry, marginalised (subclasses that implement it).
    _allow_nan = False

    def _validate_X(self, X, reset):
        """Validate in-memory input (subclasses that accept sparse or binary data
        override), then ``_check_values``."""
        X = check_X(self, X, reset=reset, ensure_min_samples=2 if reset else 1,
                    ensure_all_finite="allow-nan" if self._allow_nan else True)
        return self._check_values(X)

    def _check_values(self, X):
        """Value checks and transforms beyond finiteness and magnitude, on
        validated rows (in memory: all of them; on dask: each chunk as read):
        here, that every row observes at least one entry."""
        if self._allow_nan:
            check_observed_rows(X)
        return X

    def _rows(self, X, reset, sample_weight=None):
        """The row source of X (and its sample weights) for one call."""
        return row_source(
            self, X, reset=reset, check=lambda X: self._validate_X(X, reset),
            sample_weight=sample_weight, ensure_min_samples=2 if reset else 1,
            magnitude=self._chunk_magnitude, prepare=self._check_values,
            allow_nan=self._allow_nan,
        )

    def _start_rows(self, X):
        """Rows for the initialisation: NaN filled by the observed column means
        while ``_fill_values`` is set (:func:`._passes.fill_for_start`)."""
        return fill_for_start(X, getattr(self, "_fill_values", None))

    @abstractmethod
    def _check_parameters(self, n_features, dtype):
        """Validate the subclass's parameters against the data's width and dtype."""

    def _initial_parameters_given(self):
        """True when the user gave every initial parameter: no responsibilities needed."""
        return False

    @abstractmethod
    def _statistics(self, X, resp):
        """Sufficient statistics of rows X under (weighted) responsibilities resp."""

    def _label_statistics(self, X, labels, weights):
        """``_statistics`` of hard responsibilities: row i wholly (weight w_i)
        in component ``labels[i]`` (the 'kmeans' start's assignment)."""
        return self._statistics(X, one_hot(labels, self.n_components, X.dtype, weights))

    @staticmethod
    @abstractmethod
    def _merge_statistics(a, b):
        """Statistics of the union of two disjoint sets of rows."""

    @staticmethod
    @abstractmethod
    def _scale_statistics(stats, factor):
        """The statistics of the same rows with every weight times ``factor``."""

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

    # ------------------------------------------------------------- EM loop
    def _responsibilities(self, X):
        """p(z_i = k | x_i) of in-memory rows X, shape (n_samples, n_components)."""
        resp = self._estimate_weighted_log_prob(X)
        normalize_log_prob(resp)
        return resp

    def _pass_log_prob(self, X):
        """One EM pass's E-step on rows X: (log p(x_i, z_i = k) of shape
        (n_samples, n_components), a function of the weighted responsibilities
        that returns the rows' statistics). Subclasses whose statistics reuse
        the E-step's work (the conditionals of rows with missing entries)
        override."""
        return self._estimate_weighted_log_prob(X), lambda resp: self._statistics(X, resp)

    def _one_pass(self, X, weights, context):
        """The E-step pass over rows X (a block of the pass of ``context``, a
        ``PassContext``) and their statistics in one kernel, as a
        ``PassResult``, for models that have one for X (the Bernoulli mixture
        on CSR rows); None: the generic E-step, normalisation and statistics."""
        return None

    def _pass_block_rows(self, X):
        """Rows per block of an EM pass over X (its statistics merged block by
        block): all of them unless a subclass keeps per-row work between its
        E- and M-step that should stay in cache."""
        return X.shape[0]

    def _estimate_weighted_log_prob(self, X):
        log_prob = self._estimate_log_prob(X)
        log_prob += self._estimate_log_weights()
        return log_prob

    def _fit(self, X, sample_weight=None, responsibilities=True):
        """Run EM ``n_init`` times (once when warm-starting) and keep the best.

        Returns the responsibilities of ``X`` under the kept parameters, from a
        final E-step, so that ``fit_predict(X)`` equals ``fit(X).predict(X)``
        (lazily, as a dask array, for a dask X); None without
        ``responsibilities`` (``fit``, which has no use for that pass).
        """
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        for name in ("_running", "n_steps_"):  # a stream restarts after fit
            self.__dict__.pop(name, None)
        fitted_features = None if do_init else self.n_features_in_
        rows = self._rows(X, reset=True, sample_weight=sample_weight)
        if not do_init and fitted_features != rows.n_features:
            raise ValueError(
                f"warm_start=True continues from the fitted mixture, which has "
                f"{fitted_features} features, but X has {rows.n_features}; refit with "
                "warm_start=False"
            )
        check_n_samples(rows.n_samples, self.n_components)
        # Data far from unit scale (float32 in SI units, 1e-17) is fitted as
        # X * 2^k (exact) and the parameters brought back: no subnormal
        # squares, the same model as at unit scale.
        scale = 1.0
        if not rows.lazy and hasattr(self, "_rescale_parameters"):
            scale = internal_scale(rows.X)
        if scale != 1.0:
            rows = ArrayRows(rows.X * rows.dtype.type(scale), rows.weights)
        self._data_scale = scale
        self._scale_ = 1.0  # the parameters are of X * scale while EM runs
        try:
            self._check_parameters(rows.n_features, rows.dtype)
            return self._fit_scaled(rows, scale, do_init, responsibilities)
        finally:
            self._data_scale = 1.0

    _data_scale = 1.0

    def _fit_scaled(self, rows, scale, do_init, responsibilities):
        # BLAS on the idle cores only: on a machine with a busy core, a thread
        # sharing it makes every product wait (see idle_cores).
        with blas_threads_for_load():
            if not do_init and scale != 1.0:
                self._rescale_parameters(scale)
            with self._start_fill(rows, do_init):
                self._run_em(rows, do_init)
            resp = None
            if responsibilities:
                resp = rows.map(self._responsibilities, n_columns=self.n_components,
                                dtype=rows.dtype)
        if scale != 1.0:
            self._rescale_parameters(1.0 / scale)
            self._scale_ = scale
            # log p(x) = log p_scaled(x * scale) + n_features log(scale).
            shift = rows.n_features * np.log(scale)
            self.lower_bound_ += shift
            self.lower_bounds_ = self.lower_bounds_ + shift
        return resp

    @contextlib.contextmanager
    def _start_fill(self, rows, starting):
        """While the block runs, the starts of EM see NaN filled by the
        observed column means (when ``starting`` and a start is drawn)."""
        if starting and not self._initial_parameters_given():
            self._fill_values = column_fill(self, rows)
        try:
            yield
        finally:
            self._fill_values = None

    def _initialize_from(self, rows, random_state):
        """Initial parameters: the given ones, or from ``init_params`` on rows."""
        given = self._initial_parameters_given()
        self._initialize(None if given else initial_statistics(self, rows, random_state))

    def _em_pass(self, rows):
        """One E-step pass over rows: their PassResult (statistics for the M-step)."""
        context = PassContext(rows.n_samples, rows.ones_only)
        result = rows.reduce(em_pass, partial(merge_passes, type(self)._merge_statistics),
                             self, context, threads=True)
        if result.total_weight <= 0:
            raise ValueError("sample_weight sums to zero: no row carries any weight.")
        return result

    def _run_em(self, rows, do_init):
        """The EM iterations of ``_fit`` on a row source."""
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
                self._initialize_from(rows, random_state)
            lower_bound = -np.inf if do_init else self.lower_bound_
            if self.max_iter == 0:
                # No EM step: the bound is that of the starting parameters.
                log_likelihood, total = rows.reduce(score_pass, add_pairs, self, threads=True)
                lower_bound = (log_likelihood + self._log_prior()) / total
            history = []
            converged = False
            n_iter = 0
            for n_iter in range(1, self.max_iter + 1):
                previous = lower_bound
                result = self._em_pass(rows)
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
        self._fit(X, sample_weight, responsibilities=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """One step of stepwise (online) EM on a batch of rows.

        The E-step runs on the batch at the current parameters; the running
        sufficient statistics s (per unit of weight) move toward the batch's,
        s <- (1 - rho_t) s + rho_t s_batch with rho_t = (t + learning_offset)
        ^ -learning_decay at step t >= 2 (the first step takes the batch's),
        and the M-step sets the parameters from s, counted as a batch of the
        current batch's weight (so that priors and ``reg_covar`` weigh as in a
        fit on one batch). With ``learning_decay=0`` every step is one EM
        iteration on its batch. The Gaussian statistics are merged by Chan et
        al.'s rule (float32 streams keep their digits), and batches may hold
        NaN (missing entries, the same expected statistics as ``fit``).

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            A batch (a dask array: one pass over its chunks). The first call on
            an unfitted model initialises from it by ``init_params`` (or the
            given ``*_init``) and needs at least ``n_components`` rows.
        y : Ignored
        sample_weight : array-like or dask array of shape (n_samples,), default=None
            As in ``fit``: integer weights repeat rows, zero drops them.

        Returns
        -------
        self : object

        Raises
        ------
        ValueError
            As ``fit``; also on a batch whose features (count or names)
            differ from the model's, or whose weights sum to zero.

        Notes
        -----
        On a fitted model (by ``fit`` or ``partial_fit``) the step continues
        from its parameters; ``fit`` discards the running statistics and
        starts again (from the stream's parameters with ``warm_start=True``;
        ``converged_`` is False after a step). ``n_steps_`` counts the steps since the last
        initialisation and ``lower_bound_`` is the batch's mean log-likelihood
        (nats per unit weight) at the parameters its E-step used. Data are
        not rescaled internally as ``fit`` does (values of magnitude near
        1e-19 or 1e19 in float32 should be rescaled first). Convergence of the
        running statistics needs ``learning_decay`` in (0.5, 1].

        References
        ----------
        Cappé & Moulines (2009), "On-line expectation-maximization algorithm for
        latent data models", JRSS B 71(3), eq. 7; Liang & Klein (2009), "Online
        EM for unsupervised models", NAACL, algorithm 2 (stepwise EM).
        """
        first = not hasattr(self, "means_")
        rows = self._rows(X, reset=first, sample_weight=sample_weight)
        if first:
            check_n_samples(rows.n_samples, self.n_components)
        self._data_scale = 1.0
        self._scale_ = 1.0
        self._check_parameters(rows.n_features, rows.dtype)
        with blas_threads_for_load():
            if first:
                with self._start_fill(rows, True):
                    self._initialize_from(rows, check_random_state(self.random_state))
            stepwise_step(self, self._em_pass(rows))
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

    def _fitted_rows(self, X):
        check_is_fitted(self)
        return self._rows(X, reset=False)

    def _score_samples(self, X):
        return normalize_log_prob(self._estimate_weighted_log_prob(X))

    def _predict(self, X):
        return self._estimate_weighted_log_prob(X).argmax(axis=1)

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
        rows = self._fitted_rows(X)
        return rows.map(self._score_samples, dtype=rows.dtype)

    def _log_likelihood(self, X):
        """sum_i log p(x_i) in nats and the number of rows, in one pass."""
        return self._fitted_rows(X).reduce(score_pass, add_pairs, self, threads=True)

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
        rows = self._fitted_rows(X)
        return rows.map(self._responsibilities, n_columns=self.n_components,
                        dtype=rows.dtype)

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
        return self._fitted_rows(X).map(self._predict, dtype=np.intp)

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
        tags.input_tags.allow_nan = self._allow_nan
        return tags
