"""Principal component analysis by SVD, with the probabilistic-PCA density.

PCA is the maximum-likelihood linear Gaussian model x = W z + mean + sigma * eps,
z ~ N(0, I_k), eps ~ N(0, I_d) (Tipping & Bishop 1999): the columns of W span the
top-k principal subspace and sigma^2 is the mean of the discarded variances.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils import check_positive_int, check_X
from ..utils._rows import mean_score, row_source
from ..utils._dask import MissingValuesError
from ..utils._validation import check_magnitude, check_observed_rows
from ._pca_dask import fit_dask_pca
from ._pca_missing import fill_missing, fit_missing, missing_log_likelihood
from ._pca_numerics import _centered_sq_norms, _minka_log_evidence, _project_rows
from ._pca_solvers import fit_pca
from ._pca_stream import merge_batch, state_count, state_model

SOLVERS = ("auto", "full", "covariance_eigh", "randomized", "arpack")


def _observed_rows(X):
    """A dask chunk's check for PPCA: every row observes an entry."""
    check_observed_rows(X)
    return X


class PCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Principal component analysis with the probabilistic-PCA density.

    Linear dimensionality reduction by the singular value decomposition of the
    centred data, keeping the ``n_components`` directions of largest variance.
    The fitted model is also the maximum-likelihood probabilistic PCA of Tipping &
    Bishop (1999), "Probabilistic principal component analysis", JRSS B 61(3),
    eqs. (7)-(8): ``score_samples`` evaluates its log-density and ``sample`` draws
    from it.

    Missing values: NaN in a dense or dask X marks a missing entry. ``fit`` then
    fits probabilistic PCA by EM on the observed entries (Tipping & Bishop 1999,
    appendix; Ilin & Raiko 2010, JMLR 11), whatever ``svd_solver``, with an
    integer ``n_components`` below n_features (None: min(n_samples,
    n_features) - 1); ``transform`` of a row with NaN is the projection of
    E[x | x_o], ``score_samples`` the log-density of its observed entries. A
    row with no observed entry, infinity, and NaN in sparse input are refused.
    On a dask array the same holds: the solver's first pass finds the NaN, and
    the EM then runs one pass over the chunks per iteration. Without NaN
    nothing changes.

    Parameters
    ----------
    n_components : int, float in (0, 1), 'mle' or None, default=None
        Components kept. None keeps min(n_samples, n_features) (one fewer with
        'arpack'); a float keeps the fewest components whose explained-variance
        ratio exceeds it; 'mle' chooses the dimension by Minka's (2000) evidence
        (needs n_samples >= n_features; 0 components for a single feature, as
        scikit-learn). Floats and 'mle' need an exact solver.
    copy : bool, default=True
        False lets the 'full' and dense 'randomized' solvers centre X in place
        (no second n x d array); the mean is added back afterwards, so X ends
        equal to its input up to rounding (scikit-learn leaves it centred).
    whiten : bool, default=False
        Scale the projections to unit variance. The probabilistic model does not
        depend on it.
    svd_solver : {'auto', 'full', 'covariance_eigh', 'randomized', 'arpack'}, \
            default='auto'
        'full': LAPACK SVD of the centred data. 'covariance_eigh': eigen-
        decomposition of the smaller of the two Gram matrices (d x d covariance for
        tall data, n x n sample Gram for wide data), computing only the top
        eigenpairs when ``n_components`` is an integer. 'randomized': Halko et al.
        (2011), the same draws as scikit-learn's ``randomized_svd``. 'arpack': ARPACK
        Lanczos through ``scipy.sparse.linalg.svds``. 'auto' takes
        'covariance_eigh' for dense input whose smaller side is at most 4000,
        'full' for other dense input with a float or 'mle' ``n_components``,
        'randomized' otherwise, and 'arpack' for sparse input. Sparse input is
        centred implicitly (never densified) and needs 'arpack' or 'randomized'.
    tol : float >= 0, default=0.0
        ARPACK convergence tolerance (0: machine precision).
    iterated_power : int >= 0 or 'auto', default='auto'
        Power iterations of the randomized solver; 'auto' is 7 when
        ``n_components`` < 0.1 min(X.shape), 4 otherwise.
    n_oversamples : int >= 1, default=10
        Extra random vectors of the randomized solver.
    power_iteration_normalizer : {'auto', 'QR', 'LU', 'none'}, default='auto'
        Normalisation of the randomized solver's power iterations (Halko et al.
        2011, algorithm 4.4): 'auto' is 'none' for at most 2 iterations, 'LU'
        above, as scikit-learn. A dask array always uses QR (dask's
        ``svd_compressed``; plain power iterations overflowed float32 there).
    random_state : int, RandomState instance or None, default=None
        Seeds the 'arpack' start vector, the randomized solver and nothing else.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Orthonormal principal axes, by decreasing variance. The sign of each is
        fixed so that its entry of largest magnitude is positive.
    explained_variance_ : ndarray of shape (n_components,)
        Variance along each axis (unbiased, divided by n_samples - 1).
    explained_variance_ratio_ : ndarray of shape (n_components,)
        Fraction of the total variance along each axis.
    singular_values_ : ndarray of shape (n_components,)
        Singular values of the centred data.
    mean_ : ndarray of shape (n_features,)
        Per-feature mean of the training data.
    noise_variance_ : float
        Maximum-likelihood sigma^2 of the probabilistic model: the mean of the
        min(n_samples, n_features) - n_components discarded variances (Tipping &
        Bishop 1999, eq. 8); 0 when nothing is discarded.
    n_components_ : int or numpy integer
        Components kept: the given int, or a NumPy integer when chosen by a
        float ``n_components`` or 'mle' (as scikit-learn).
    n_samples_ : int
        Training samples.
    n_iter_ : int
        EM iterations, when X had missing values (absent otherwise).
    log_likelihoods_ : ndarray of shape (``n_iter_``,)
        Mean log-likelihood of the observed entries per row before each M-step
        (nats, non-decreasing), when X had missing values.
    n_samples_seen_ : int
        Rows merged by ``partial_fit`` (absent after ``fit``).
    n_features_in_ : int
        Features seen in ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names, when ``X`` had string column names.

    See Also
    --------
    sklearn.decomposition.PCA : The same decomposition; it has no ``sample`` and
        forms the d x d precision matrix to score.

    Notes
    -----
    Degenerate models: model-covariance eigenvalues below ``eps * lambda_1``
    (machine epsilon of the data's dtype times the largest variance) are raised
    to that floor in ``score_samples``, ``get_precision`` and ``get_covariance``,
    so data with constant features or with no discarded variance gives a finite,
    very peaked density instead of inf or a singular-matrix error.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgen import PCA
    >>> X = load_digits().data
    >>> pca = PCA(n_components=20, random_state=0).fit(X)
    >>> pca.components_.shape
    (20, 64)
    >>> Xs = pca.sample(5, random_state=0)
    >>> Xs.shape
    (5, 64)
    """

    _parameter_constraints = {
        "n_components": [
            Interval(numbers.Integral, 0, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            StrOptions({"mle"}),
            None,
        ],
        "whiten": ["boolean"],
        "svd_solver": [StrOptions(set(SOLVERS))],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "iterated_power": [
            StrOptions({"auto"}),
            Interval(numbers.Integral, 0, None, closed="left"),
        ],
        "n_oversamples": [Interval(numbers.Integral, 1, None, closed="left")],
        "power_iteration_normalizer": [StrOptions({"auto", "QR", "LU", "none"})],
        "random_state": ["random_state"],
        "copy": ["boolean"],
    }

    def __init__(
        self,
        n_components=None,
        *,
        copy=True,
        whiten=False,
        svd_solver="auto",
        tol=0.0,
        iterated_power="auto",
        n_oversamples=10,
        power_iteration_normalizer="auto",
        random_state=None,
    ):
        self.n_components = n_components
        self.copy = copy
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.tol = tol
        self.iterated_power = iterated_power
        self.n_oversamples = n_oversamples
        self.power_iteration_normalizer = power_iteration_normalizer
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the principal axes and the probabilistic model.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training data; float32 stays float32.
        y : None
            Ignored.

        Returns
        -------
        self : PCA
            The fitted estimator.

        Raises
        ------
        ValueError
            On NaN/inf, fewer than 2 samples, ``n_components`` larger than
            min(n_samples, n_features) (or equal to it with 'arpack'), 'mle' with
            n_samples < n_features, a float or 'mle' ``n_components`` with the
            'randomized' or 'arpack' solver.
        TypeError
            On sparse input with the 'full' or 'covariance_eigh' solver.
        """
        self._fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Update the model with a batch of rows (exact incremental PCA).

        The batch's count, mean and scatter are merged into the running ones
        (Chan, Golub & LeVeque 1979) and the axes refreshed from the merged
        covariance, so that after any number of batches of any sizes the model
        is ``fit`` on their concatenation (to rounding: components up to sign).
        For n_features whose d x d float64 scatter exceeds 1 GiB (d > 11,585)
        it keeps instead the top ``n_components`` singular triplets and merges
        them by the incremental SVD of Ross et al. (2008), as scikit-learn's
        IncrementalPCA: exact while ``n_components`` covers the rank of the
        rows seen, an approximation otherwise, and ``n_components`` must then be
        an integer. A dask array is one batch: one pass over its chunks.

        Parameters
        ----------
        X : array-like, sparse matrix or dask array of shape (n_samples, n_features)
            A batch: at least 2 rows in the first call. Sparse batches are
            densified. NaN is refused (``fit`` marginalises it).
        y : None
            Ignored.

        Returns
        -------
        self : PCA

        Raises
        ------
        ValueError
            On NaN/inf, a feature count or names differing from the first
            batch's, fewer than 2 rows in the first batch, or ``n_components``
            out of range for the rows seen so far.

        Notes
        -----
        ``fit`` discards the running moments; a ``partial_fit`` after ``fit``
        starts a new stream (``fit`` keeps none to continue from).
        ``n_samples_seen_`` counts the rows merged. ``svd_solver`` is not used.

        References
        ----------
        Chan, Golub & LeVeque (1979), "Updating formulae and a pairwise algorithm
        for computing sample variances"; Ross, Lim, Lin & Yang (2008),
        "Incremental learning for robust visual tracking", IJCV 77, section 3.1.
        """
        first = not hasattr(self, "_stream")
        minimum = 2 if first else 1

        def check(X):
            X = check_X(self, X, reset=first, accept_sparse=["csr", "csc"],
                        ensure_min_samples=minimum)
            check_magnitude(X)
            return X

        rows = row_source(self, X, reset=first, check=check, ensure_min_samples=minimum)
        d = rows.n_features
        state = merge_batch(None if first else self._stream, rows, self.n_components)
        k = self._check_n_components((state_count(state), d), "full")
        spectrum, vt, total_var, mean, n = state_model(state, k)
        dtype = rows.dtype
        self._set_model(spectrum.astype(dtype), vt.astype(dtype), total_var,
                        mean.astype(dtype), k, n, d)
        self._stream = state
        self.n_samples_seen_ = n
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit, then return the projections of ``X``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_samples, ``n_components_``)
            Projections onto the principal axes (whitened if ``whiten``).
        """
        rows = self._fit(X)
        return rows.map(self._project, n_columns=self.n_components_, dtype=rows.dtype)

    def _choose_solver(self, X):
        n, d = X.shape
        if self.svd_solver != "auto":
            return self.svd_solver
        if sp.issparse(X):
            return "arpack"
        if min(n, d) <= 4000:
            return "covariance_eigh"
        if self.n_components == "mle" or isinstance(self.n_components, float):
            return "full"
        return "randomized"

    def _check_n_components(self, shape, solver):
        n, d = shape
        k = self.n_components
        bound = min(n, d)
        if solver == "arpack":
            if k is None:
                k = bound - 1
            if not isinstance(k, numbers.Integral) or not 1 <= k < bound:
                raise ValueError(
                    f"n_components={self.n_components!r} must be an integer strictly "
                    f"between 0 and min(n_samples, n_features)={bound} with "
                    "svd_solver='arpack'"
                )
        elif solver == "randomized":
            if k is None:
                k = bound
            if not isinstance(k, numbers.Integral) or not 1 <= k <= bound:
                raise ValueError(
                    f"n_components={self.n_components!r} must be an integer between "
                    f"1 and min(n_samples, n_features)={bound} with "
                    "svd_solver='randomized'"
                )
        elif k == "mle":
            if n < d:
                raise ValueError(
                    "n_components='mle' is only supported if n_samples >= n_features"
                    f", got n_samples={n} and n_features={d}"
                )
        elif isinstance(k, numbers.Integral) and not 0 <= k <= bound:
            raise ValueError(
                f"n_components={k} must be between 0 and min(n_samples, "
                f"n_features)={bound} with svd_solver={solver!r}"
            )
        return bound if k is None else k

    def _fit(self, X):
        """Fit on any row source; returns it (for ``fit_transform``)."""
        peak = {}

        def check(X):
            # NaN/inf: found by fit_pca (the Gram solver from the diagonal of
            # the Gram matrix it forms anyway, which saves a pass over X).
            X = check_X(
                self, X, reset=True, accept_sparse=["csr", "csc"], ensure_min_samples=2,
                ensure_all_finite=False, magnitude_dtype=False,
            )
            peak["value"] = check_magnitude(X)
            return X

        for name in ("_stream", "n_samples_seen_"):  # fit starts afresh
            self.__dict__.pop(name, None)
        rows = row_source(self, X, reset=True, check=check, ensure_min_samples=2,
                          rechunk_features=False)
        X = rows.X
        solver = self._choose_solver(X)
        if rows.lazy and solver == "arpack":
            raise ValueError(
                "svd_solver='arpack' does not support dask arrays; use 'randomized' "
                "(dask's svd_compressed) or an exact solver"
            )
        n, d = X.shape
        if not rows.lazy and not sp.issparse(X) and np.isnan(X).any():
            # Missing entries: probabilistic PCA by EM on the observed ones.
            fit_missing(self, rows)
            return rows
        k = self._check_n_components(X.shape, solver)
        # The one choice of solver family: passes over chunks, or in memory.
        if rows.lazy:
            try:
                spectrum, vt, total_var, mean = fit_dask_pca(
                    X, solver, k, self.iterated_power, self.n_oversamples,
                    self.random_state)
            except MissingValuesError:
                # NaN found by the solver's first pass: PPCA by EM over whole
                # rows, each chunk checked as read (inf; a row with no entry).
                rows = row_source(self, X, reset=False, check=check, allow_nan=True,
                                  prepare=_observed_rows)
                fit_missing(self, rows)
                return rows
        else:
            spectrum, vt, total_var, mean = fit_pca(self, X, solver, k, peak["value"])
        self._set_model(spectrum, vt, total_var, mean, k, n, d)
        return rows

    def _fill_missing(self, X, rng=None):
        """X with its NaN replaced from the PPCA model's p(x_m | x_o), the
        conditional mean or, with ``rng``, a draw (:func:`._pca_missing.fill_missing`;
        the hook of :class:`skgen.GenerativeImputer`)."""
        return fill_missing(self, X, rng)

    def _set_model(self, spectrum, vt, total_var, mean, k, n, d):
        """The fitted attributes from the spectrum and axes of any solver."""
        # spectrum: squared singular values (all of them for exact solvers).
        explained_all = spectrum / (n - 1)
        # Chosen dimensions are NumPy integers, the given ones as given
        # (scikit-learn's types: scripts format and compare them).
        if k == "mle":
            # Rank 0 has evidence -inf (scikit-learn's _infer_dimension), so
            # one feature gives 0 components.
            evidence = [-np.inf] + [
                _minka_log_evidence(explained_all, r, n)
                for r in range(1, explained_all.shape[0])
            ]
            k = np.argmax(evidence)
        elif isinstance(k, float):
            ratio = np.cumsum(explained_all, dtype=np.float64) / total_var
            k = np.searchsorted(ratio, k, side="right") + 1
            k = min(k, np.intp(explained_all.shape[0]))
        explained = explained_all[:k].copy()
        rank = min(n, d)
        if k < rank:
            noise = max(float(total_var - explained.sum(dtype=np.float64)), 0.0)
            noise /= rank - k
        else:
            noise = 0.0
        self.components_ = np.ascontiguousarray(vt[:k])
        self.explained_variance_ = explained
        self.explained_variance_ratio_ = (
            explained / total_var if total_var > 0 else np.zeros_like(explained)
        )
        self.singular_values_ = np.sqrt(np.maximum(spectrum[:k], 0)).astype(mean.dtype)
        self.mean_ = mean
        self.noise_variance_ = float(noise)
        self.n_components_ = k
        self.n_samples_ = n

    # ------------------------------------------------------------ transforms
    def _project(self, X):
        if not sp.issparse(X):
            # Rows with NaN: the projection of E[x | x_o] under the PPCA model,
            # the posterior mean of the projection given the observed entries.
            X = self._fill_missing(X)
        Z = np.asarray(X @ self.components_.T if sp.issparse(X)
                       else _project_rows(X, self.components_))
        Z -= self.mean_ @ self.components_.T
        if self.whiten:
            Z /= np.sqrt(np.maximum(self.explained_variance_, np.finfo(Z.dtype).tiny))
        return Z

    def transform(self, X):
        """Project ``X`` onto the principal axes.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Data to project.

        Returns
        -------
        X_new : ndarray of shape (n_samples, ``n_components_``)
            (X - ``mean_``) @ ``components_``.T, divided by sqrt(``explained_variance_``) if
            ``whiten``.

        Raises
        ------
        ValueError
            On NaN/inf or a feature count that differs from the one seen in fit.
        """
        check_is_fitted(self)
        rows = row_source(self, X, reset=False, check=lambda X: check_X(
            self, X, reset=False, accept_sparse=["csr", "csc"], ensure_all_finite="allow-nan"),
            allow_nan=True, prepare=_observed_rows)
        return rows.map(self._project, n_columns=self.n_components_, dtype=rows.dtype)

    def inverse_transform(self, X):
        """Map projections back to data space.

        Parameters
        ----------
        X : array-like of shape (n_samples, ``n_components_``)
            Projections, as returned by ``transform``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Z @ ``components_`` + ``mean_`` (re-scaled first if ``whiten``).

        Raises
        ------
        ValueError
            On NaN/inf or a column count other than ``n_components_``.
        """
        check_is_fitted(self)
        # Projections are not data: validated as codes, not against n_features_in_.
        rows = row_source(None, X, reset=False, magnitude=False,
                          check=lambda Z: check_array(Z, dtype=[np.float64, np.float32]))
        if rows.n_features != self.n_components_:
            raise ValueError(
                f"X has {rows.n_features} columns; inverse_transform expects "
                f"n_components_={self.n_components_}"
            )
        return rows.map(self._reconstruct, n_columns=self.mean_.shape[0],
                        dtype=self.mean_.dtype)

    def _reconstruct(self, Z):
        if self.whiten:
            Z = Z * np.sqrt(self.explained_variance_)
        return Z @ self.components_ + self.mean_

    # ------------------------------------------------ probabilistic model
    def _model_variances(self):
        """Eigenvalues of the PPCA covariance: inside span(W) and outside it."""
        floor = np.finfo(self.components_.dtype).eps * max(
            float(self.explained_variance_[:1].max(initial=0.0)), self.noise_variance_,
            np.finfo(np.float64).tiny,
        )
        sigma2 = max(self.noise_variance_, floor)
        inside = np.maximum(self.explained_variance_.astype(np.float64), sigma2)
        return inside, sigma2

    def get_covariance(self):
        """Covariance of the probabilistic model, W W^T + sigma^2 I.

        Returns
        -------
        cov : ndarray of shape (n_features, n_features)
            ``components_``.T diag(max(``explained_variance_`` - ``noise_variance_``, 0))
            ``components_`` + ``noise_variance_`` I (Tipping & Bishop 1999, eq. 7). It
            does not depend on ``whiten``.
        """
        check_is_fitted(self)
        inside, sigma2 = self._model_variances()
        V = self.components_.astype(np.float64)
        cov = (V.T * (inside - sigma2)) @ V
        cov.flat[:: cov.shape[0] + 1] += sigma2
        return cov.astype(self.components_.dtype, copy=False)

    def get_precision(self):
        """Precision of the probabilistic model by the Woodbury identity.

        Returns
        -------
        precision : ndarray of shape (n_features, n_features)
            Inverse of ``get_covariance()``: (I - V^T diag(1 - sigma^2 /
            lambda) V) / sigma^2, with V = ``components_``.
        """
        check_is_fitted(self)
        inside, sigma2 = self._model_variances()
        V = self.components_.astype(np.float64)
        prec = -(V.T * (1.0 / sigma2 - 1.0 / inside)) @ V
        prec.flat[:: prec.shape[0] + 1] += 1.0 / sigma2
        return prec.astype(self.components_.dtype, copy=False)

    def score_samples(self, X):
        """Log-likelihood of each sample under the probabilistic PCA model.

        Uses the Woodbury identity: with z = V (x - mean),
        (x - mean)^T C^-1 (x - mean) = sum_j z_j^2 / lambda_j + (||x - mean||^2 -
        ||z||^2) / sigma^2 and log|C| = sum_j log lambda_j + (d - k) log sigma^2,
        so the cost is O(n d k) and the d x d precision is never formed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            log p(x) in nats (Tipping & Bishop 1999, eq. 4), float64.

        Raises
        ------
        ValueError
            On NaN/inf, a feature count that differs from the one seen in fit,
            or a model fitted on data of zero variance (constant or all-zero
            columns), whose density is a point mass.
        """
        check_is_fitted(self)
        rows = row_source(self, X, reset=False, check=lambda X: check_X(
            self, X, reset=False, ensure_all_finite="allow-nan"), allow_nan=True,
            prepare=_observed_rows)
        if self.noise_variance_ == 0 and not np.any(self.explained_variance_ > 0):
            raise ValueError(
                "PCA was fitted on data of zero variance (every column constant): "
                "its probabilistic-PCA model is a point mass at mean_, which has no "
                "log-likelihood"
            )
        return rows.map(self._log_likelihood_rows, dtype=np.float64)

    def _log_likelihood_rows(self, X):
        # Rows with NaN: the marginal of their observed entries.
        return missing_log_likelihood(self, X, self._complete_log_likelihood)

    def _complete_log_likelihood(self, X):
        inside, sigma2 = self._model_variances()
        n, d = X.shape
        k = self.n_components_
        log_det = np.sum(np.log(inside)) + (d - k) * np.log(sigma2)
        const = -0.5 * (d * np.log(2 * np.pi) + log_det)
        Vt = self.components_.T
        w = (1.0 / inside).astype(X.dtype)
        # z = V x - V mean (as scikit-learn's transform) takes the product on X
        # itself, no centred copy; ||x - mean||^2 comes from one fused pass.
        Z = _project_rows(X, self.components_)
        Z -= self.mean_ @ Vt
        sq = _centered_sq_norms(X, self.mean_.astype(X.dtype, copy=False))
        zz = np.einsum("ij,ij->i", Z, Z, dtype=np.float64)
        maha = (Z * Z) @ w
        resid = np.maximum(sq - zz, 0.0) if k < d else 0.0
        out = const - 0.5 * (maha + resid / sigma2)
        return out

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` under the probabilistic model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean of ``score_samples(X)``, nats per sample.
        """
        return mean_score(self.score_samples(X))

    def sample(self, n_samples=1, random_state=None):
        """Draw samples from the fitted probabilistic PCA model.

        x = W z + ``mean_`` + sigma eps with z ~ N(0, I_k), eps ~ N(0, I_d) and W =
        ``components_``.T diag(sqrt(max(``explained_variance_`` - ``noise_variance_``, 0))),
        so the samples have covariance ``get_covariance()`` (up to the variance
        floor described in the class notes).

        Parameters
        ----------
        n_samples : int >= 1, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Samples, in the dtype of the training data.

        Raises
        ------
        ValueError
            If ``n_samples`` is not a positive integer.
        """
        check_is_fitted(self)
        check_positive_int(n_samples)
        rng = check_random_state(random_state)
        inside, sigma2 = self._model_variances()
        d = self.mean_.shape[0]
        scale = np.sqrt(inside - sigma2)
        z = rng.standard_normal((n_samples, self.n_components_)) * scale
        X = z @ self.components_ + self.mean_
        if self.noise_variance_ > 0:
            X += np.sqrt(self.noise_variance_) * rng.standard_normal((n_samples, d))
        return X.astype(self.components_.dtype, copy=False)

    @property
    def _n_features_out(self):
        """Number of output columns (for ``get_feature_names_out``)."""
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
