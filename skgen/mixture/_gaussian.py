"""Gaussian mixture fitted by EM, with blocked E- and M-steps.

The E-step multiplies a row block by the stacked precision Cholesky factors of
every component in one matrix product, about the centre of the means. The
M-step takes each block's statistics centred about its own component means
(sums of squares, never differences of large numbers) and merges blocks by Chan
et al.'s pairwise rule (:mod:`skgen.utils._moments`), the same reduction a
distributed fit runs over chunks. Row blocks keep temporaries in cache and the
peak memory a fixed few MiB beyond the data. Diagonal and spherical mixtures on
complete rows run both steps in one numba kernel per row block instead
(:func:`._passes.diagonal_pass`): one read of X per pass, moments about the
current means.

Reference: Bishop (2006), *Pattern Recognition and Machine Learning*, section 9.2.2,
equations 9.23-9.27.
"""

from numbers import Real

import numpy as np
from scipy import linalg
from scipy.linalg.lapack import get_lapack_funcs
from sklearn.utils._param_validation import Interval, StrOptions

from ..utils import block_moments, check_array_param, merge_moments, moments, row_chunks
from ._base import BaseMixture
from ._gaussian_missing import (IncompleteRows, conditional_fill, missing_log_prob,
                                missing_statistics, observed_mask)
from ._init import check_weights_init
from ._passes import PassResult, diagonal_pass

__all__ = ["GaussianMixtureEM"]

_BLOCK_BYTES = 8 * 2**20
# Rows of one block of a diagonal EM pass (one diagonal_pass call, or with NaN
# the blocked products and their temporaries): about 32 MiB of rows.
_PASS_BLOCK_BYTES = 32 * 2**20


def _gaussian_statistics(X, resp, covariance_type):
    """Weighted moments of each component (:func:`skgen.utils.moments`).

    Each block of rows is centred about its own component means and blocks are
    merged by Chan et al.'s pairwise rule, as chunks of a dask array are.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    resp : ndarray of shape (n_samples, n_components)
        Responsibilities, times the sample weights.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}

    Returns
    -------
    stats : Moments
        Of kind 'full', 'tied' or 'diag' (for 'diag' and 'spherical').
    """
    kind = "diag" if covariance_type == "spherical" else covariance_type
    return moments(X, resp, kind, _BLOCK_BYTES)


def _estimate_gaussian_parameters(stats, reg_covar, covariance_type, dtype):
    """M-step of a Gaussian mixture from its statistics.

    A tight or single-point component far from the origin keeps a covariance
    that is positive definite (plus ``reg_covar``) in float32 as in float64,
    since the scatter is a sum of squares about each component's own mean.

    Parameters
    ----------
    stats : Moments
        From :func:`_gaussian_statistics`, merged over all rows.
    reg_covar : float
        Added to the diagonal of every covariance.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    dtype : numpy dtype
        Of the data.

    Returns
    -------
    nk : ndarray of shape (n_components,)
        Effective number of samples of each component (plus 10 eps).
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray
        (K, d, d) full, (d, d) tied, (K, d) diag, (K,) spherical.
    """
    kind = stats.kind
    eps = np.finfo(dtype).eps
    nk = stats.weight + 10 * eps
    means = stats.mean
    n_features = means.shape[1]
    # A component collapsed on one point has zero scatter: keep it positive
    # definite at 10 eps of the mean within-component variance even when
    # reg_covar=0 (scikit-learn's uncentred sums leave rounding noise there).
    trace = np.trace(stats.scatter, axis1=-2, axis2=-1).sum() if kind != "diag" else stats.scatter.sum()
    floor = 10 * eps * trace / max(float(stats.weight.sum()) * n_features, 1.0)
    reg_covar = max(reg_covar, floor)
    if covariance_type == "full":
        covariances = stats.scatter / nk[:, np.newaxis, np.newaxis]
        covariances[:, np.arange(n_features), np.arange(n_features)] += reg_covar
    elif covariance_type == "tied":
        covariances = stats.scatter / nk.sum()
        covariances.flat[:: n_features + 1] += reg_covar
    else:
        covariances = stats.scatter / nk[:, np.newaxis]
        covariances += reg_covar
        if covariance_type == "spherical":
            covariances = covariances.mean(axis=1)
    return nk.astype(dtype, copy=False), means, covariances


_ILL_DEFINED = (
    "Fitting the mixture model failed because some components have ill-defined "
    "empirical covariance (for instance caused by singleton or collapsed samples). "
    "Try to decrease the number of components, increase reg_covar, or scale the "
    "input data."
)


def _compute_precision_cholesky(covariances, covariance_type):
    """Upper-triangular U with U U^T = inverse covariance, for each component.

    Raises
    ------
    ValueError
        When a covariance is not positive definite.
    """
    if covariance_type in ("full", "tied"):
        stacked = covariances if covariance_type == "full" else covariances[np.newaxis]
        potrf, trtri = get_lapack_funcs(("potrf", "trtri"), (stacked,))
        out = np.empty_like(stacked)
        for k, cov in enumerate(stacked):
            # L L^T = Sigma, so U = L^{-T} satisfies U U^T = Sigma^{-1}.
            cov_chol, info = potrf(cov, lower=1, clean=1)
            if info != 0:
                raise ValueError(_ILL_DEFINED)
            inv_chol, info = trtri(cov_chol, lower=1)
            if info != 0:
                raise ValueError(_ILL_DEFINED)
            out[k] = inv_chol.T
        if not np.all(np.isfinite(out)):
            raise ValueError(_ILL_DEFINED)
        return out if covariance_type == "full" else out[0]
    if np.any(covariances <= 0) or not np.all(np.isfinite(covariances)):
        raise ValueError(_ILL_DEFINED)
    return 1.0 / np.sqrt(covariances)


def _precision_cholesky_from_precisions(precisions, covariance_type):
    """The factor U of ``_compute_precision_cholesky`` from precisions themselves.

    With J the exchange matrix, chol(J P J) = L gives U = J L J, upper triangular
    with U U^T = P, without inverting P twice.
    """
    if covariance_type in ("full", "tied"):
        stacked = precisions if covariance_type == "full" else precisions[np.newaxis]
        out = np.empty_like(stacked)
        for k, prec in enumerate(stacked):
            chol = linalg.cholesky(prec[::-1, ::-1], lower=True, check_finite=False)
            out[k] = chol[::-1, ::-1]
        return out if covariance_type == "full" else out[0]
    return np.sqrt(precisions)


def _log_det_cholesky(prec_chol, covariance_type, n_features):
    """log det of each precision Cholesky factor, shape (n_components,) or scalar."""
    if covariance_type == "full":
        return np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)
    if covariance_type == "tied":
        return np.log(np.diag(prec_chol)).sum()
    if covariance_type == "diag":
        return np.log(prec_chol).sum(axis=1)
    return n_features * np.log(prec_chol)


def _estimate_log_gaussian_prob(X, means, prec_chol, covariance_type):
    """log N(x_i | mu_k, Sigma_k) for every sample and component, in nats.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    means : ndarray of shape (n_components, n_features)
    prec_chol : ndarray
        Precision Cholesky factors, shaped as ``precisions_cholesky_``.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components)
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    log_det = _log_det_cholesky(prec_chol, covariance_type, n_features)
    out = np.empty((n_samples, n_components), dtype=X.dtype)
    itemsize = X.dtype.itemsize
    # Every product below is taken about the centre of the means: the expanded
    # squares then stay of the order of the data's spread, not of its offset
    # (float32 data shifted by 1e4 would otherwise lose every digit).
    centre = means.mean(axis=0)
    means = means - centre

    if covariance_type == "full":
        # Columns k*d:(k+1)*d hold U_k and the last row -mu_k U_k, so that one
        # product of [x, 1] gives (x - mu_k) U_k for every component at once.
        stacked = np.empty((n_features + 1, n_components * n_features), dtype=X.dtype)
        stacked[:-1] = prec_chol.transpose(1, 0, 2).reshape(n_features, -1)
        stacked[-1] = -np.einsum("kd,kde->ke", means, prec_chol).reshape(-1)
        per_row = n_components * n_features * itemsize
        for rows in row_chunks(n_samples, per_row, _BLOCK_BYTES):
            Xa = np.empty((rows.stop - rows.start, n_features + 1), dtype=X.dtype)
            np.subtract(X[rows], centre, out=Xa[:, :-1])
            Xa[:, -1] = 1
            Y = (Xa @ stacked).reshape(-1, n_components, n_features)
            out[rows] = np.einsum("ckd,ckd->ck", Y, Y)
    elif covariance_type == "tied":
        offset = means @ prec_chol
        per_row = (n_components + 1) * n_features * itemsize
        for rows in row_chunks(n_samples, per_row, _BLOCK_BYTES):
            Y = (X[rows] - centre) @ prec_chol
            diff = Y[:, np.newaxis, :] - offset
            diff *= diff
            out[rows] = diff.sum(axis=2)
    else:
        precisions = prec_chol**2
        if covariance_type == "spherical":
            precisions = np.broadcast_to(precisions[:, np.newaxis], means.shape)
        # |x - mu|^2_P = x^2 . P - 2 x . (P mu) + mu^2 . P, one product per term.
        const = np.sum(means**2 * precisions, axis=1)
        for rows in row_chunks(n_samples, n_features * itemsize, _BLOCK_BYTES):
            Xr = X[rows] - centre
            block = (Xr * Xr) @ precisions.T
            block -= 2 * (Xr @ (means * precisions).T)
            block += const
            out[rows] = block
    out *= -0.5
    out += log_det - 0.5 * n_features * np.log(2 * np.pi)
    return out


def _precisions(U, covariance_type):
    """Precisions from their Cholesky factors; float64 where the data's dtype
    cannot hold them (float32 data in SI units: variances of 1e-41 have
    precisions above float32's 3.4e38)."""
    with np.errstate(over="ignore"):
        if covariance_type == "full":
            P = U @ U.transpose(0, 2, 1)
        elif covariance_type == "tied":
            P = U @ U.T
        else:
            P = U**2
    if not np.all(np.isfinite(P)) and U.dtype != np.float64:
        return _precisions(U.astype(np.float64), covariance_type)
    return P


class GaussianMixtureEM(BaseMixture):
    """Gaussian mixture model fitted by expectation-maximisation.

    A drop-in for scikit-learn's ``GaussianMixture`` with the same parameters,
    attributes and numbers, and both EM steps blocked over all components at
    once. float32 input stays float32 throughout. ``transform`` returns the
    responsibilities, so the mixture can be a soft-clustering step of a Pipeline.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components K.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        'full': each component its own covariance; 'tied': one shared
        covariance; 'diag': a diagonal covariance each; 'spherical': one
        variance each.
    tol : float, default=1e-3
        EM stops when the lower bound (mean log-likelihood per sample, nats)
        changes by less than ``tol``.
    reg_covar : float, default=1e-6
        Non-negative value added to the diagonal of every covariance, so that
        a component that loses its points stays positive definite. At least
        10 machine epsilons of the mean within-component variance is added
        even when 0, so that a component collapsed on one point keeps a
        positive (if tiny) variance.
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
        Initial means.
    precisions_init : array-like, default=None
        Initial precision matrices (inverse covariances), shaped as
        ``precisions_``.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation and of ``sample``.
    warm_start : bool, default=False
        If True, each ``fit`` continues from the last solution (one
        initialisation).
    verbose : int, default=0
        1 prints each initialisation, 2 also every ``verbose_interval``
        iterations.
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
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        (K, d, d) full, (d, d) tied, (K, d) diag, (K,) spherical.
    precisions_ : ndarray
        Inverses of ``covariances_``, same shape (float64 for float32 data
        whose precisions exceed float32's range, e.g. variances below 3e-39).
    precisions_cholesky_ : ndarray
        Upper-triangular U with U U^T = precision, same shape.
    converged_ : bool
    n_iter_ : int
        EM iterations of the kept initialisation.
    lower_bound_ : float
        Mean log-likelihood per sample (nats) at the last iteration of the kept
        initialisation.
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
        From ``fit``: NaN or inf, 1-D input, fewer samples than components,
        initial parameters of the wrong shape or value, or a covariance that is
        not positive definite even with ``reg_covar``.

    See Also
    --------
    BernoulliMixture : mixture of multivariate Bernoullis for binary data.

    References
    ----------
    Dempster, Laird & Rubin (1977), JRSS B 39(1); Bishop (2006), *Pattern
    Recognition and Machine Learning*, section 9.2.2, equations 9.23-9.27.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skgen import GaussianMixtureEM
    >>> X, _ = make_blobs(500, 2, centers=3, random_state=0)
    >>> gm = GaussianMixtureEM(n_components=3, random_state=0).fit(X)
    >>> gm.predict_proba(X).shape
    (500, 3)
    """

    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
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
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init

    def _check_parameters(self, n_features, dtype):
        K, d = self.n_components, n_features
        self._weights_init = self._means_init = self._precisions_init = None
        if self.weights_init is not None:
            self._weights_init = check_weights_init(self.weights_init, K, dtype)
        if self.means_init is not None:
            self._means_init = check_array_param(
                self.means_init, "means_init", (K, d), dtype
            )
        if self.precisions_init is not None:
            shape = {
                "full": (K, d, d),
                "tied": (d, d),
                "diag": (K, d),
                "spherical": (K,),
            }[self.covariance_type]
            lower = 0 if self.covariance_type in ("diag", "spherical") else None
            prec = check_array_param(
                self.precisions_init, "precisions_init", shape, dtype, lower=lower
            )
            if self.covariance_type in ("full", "tied"):
                stacked = prec if prec.ndim == 3 else prec[np.newaxis]
                for p in stacked:
                    if not np.allclose(p, p.T) or np.linalg.eigvalsh(p).min() <= 0:
                        raise ValueError(
                            f"'{self.covariance_type} precision' should be symmetric, "
                            "positive-definite"
                        )
            self._precisions_init = prec
        scale = self._data_scale
        if scale != 1.0:
            # The EM runs on X * scale (see BaseMixture._fit): so do the starts.
            if self._means_init is not None:
                self._means_init = self._means_init * dtype.type(scale)
            if self._precisions_init is not None:
                self._precisions_init = self._precisions_init / dtype.type(scale) ** 2

    def _rescale_parameters(self, factor):
        """The fitted Gaussians of X * factor, from those of X (exact for 2^k)."""
        f = self.means_.dtype.type(factor)
        self._set_parameters((self.weights_, self.means_ * f, self.covariances_ * f * f,
                              self.precisions_cholesky_ / f))

    def _initial_parameters_given(self):
        return (
            self.weights_init is not None
            and self.means_init is not None
            and self.precisions_init is not None
        )

    _allow_nan = True

    def _statistics(self, X, resp):
        observed = observed_mask(X)
        if observed is None:
            return _gaussian_statistics(X, resp, self.covariance_type)
        complete = observed.all(axis=1)
        return self._split_statistics(X, complete, IncompleteRows(X[~complete],
                                                                  observed[~complete]), resp)

    def _split_statistics(self, X, complete, incomplete, resp, conditionals=None):
        """The complete rows' moments merged with the incomplete rows' expected
        statistics at the current parameters."""
        missing = missing_statistics(incomplete, resp[~complete], self.means_,
                                     self.precisions_cholesky_, self.covariance_type,
                                     conditionals)
        if not complete.any():
            return missing
        return merge_moments(
            _gaussian_statistics(X[complete], resp[complete], self.covariance_type), missing)

    def _pass_block_rows(self, X):
        """Rows per block of an EM pass: about 32 MiB of rows for diagonal and
        spherical covariances; about 8 MiB of each component's centred rows
        when X has NaN and the covariances are full or tied; all rows
        otherwise."""
        if self.covariance_type in ("diag", "spherical"):
            return max(64, _PASS_BLOCK_BYTES // (X.dtype.itemsize * max(X.shape[1], 1)))
        if observed_mask(X) is None:
            return X.shape[0]
        return max(64, _BLOCK_BYTES // (8 * X.shape[1] * self.n_components))

    def _one_pass(self, X, weights, context):
        """Diagonal and spherical covariances on complete rows: the E-step and
        the moments in one kernel, row by row (:func:`._passes.diagonal_pass`):
        one read of X per EM pass, where the blocked products read it four
        times. None (the generic pass) for full and tied covariances, for a
        model scored at another scale than it runs at, and for rows with NaN."""
        if (self.covariance_type not in ("diag", "spherical")
                or getattr(self, "_scale_", 1.0) != 1.0):
            return None
        prec_chol = np.asarray(self.precisions_cholesky_, dtype=np.float64)
        n_features = X.shape[1]
        if self.covariance_type == "spherical":
            prec_chol = np.broadcast_to(prec_chol[:, np.newaxis], self.means_.shape)
        with np.errstate(divide="ignore"):
            log_const = (np.log(np.asarray(self.weights_, dtype=np.float64))
                         + np.log(prec_chol).sum(axis=1)
                         - 0.5 * n_features * np.log(2 * np.pi))
        log_likelihood, total, moments = diagonal_pass(X, self.means_, prec_chol**2,
                                                       log_const, weights)
        if moments is None:
            return None
        return PassResult(log_likelihood, total, moments)

    def _pass_log_prob(self, X):
        """As the base class; rows with NaN are grouped by pattern and conditioned
        once, the E-step keeping the corrections and inverses that the M-step of
        the same pass reuses."""
        if getattr(self, "_scale_", 1.0) != 1.0:
            return super()._pass_log_prob(X)
        observed = observed_mask(X)
        if observed is None:
            # The complete-data products, without testing X for NaN again.
            log_prob = _estimate_log_gaussian_prob(X, self.means_, self.precisions_cholesky_,
                                                   self.covariance_type)
            log_prob += self._estimate_log_weights()
            return log_prob, lambda resp: _gaussian_statistics(X, resp, self.covariance_type)
        complete = observed.all(axis=1)
        incomplete = IncompleteRows(X[~complete], observed[~complete])
        log_prob, conditionals = self._split_log_gaussian(
            X, complete, incomplete, self.means_, self.precisions_cholesky_, keep=True)
        log_prob += self._estimate_log_weights()
        return log_prob, lambda resp: self._split_statistics(X, complete, incomplete, resp,
                                                             conditionals)

    _merge_statistics = staticmethod(merge_moments)

    @staticmethod
    def _scale_statistics(stats, factor):
        f = stats.weight.dtype.type(factor)
        return type(stats)(stats.weight * f, stats.mean, stats.scatter * f, stats.kind)

    def _initialize(self, stats):
        if stats is not None:
            nk, means, covariances = _estimate_gaussian_parameters(
                stats, self.reg_covar * self._data_scale ** 2, self.covariance_type,
                stats.mean.dtype
            )
            # nk / nk.sum(), not nk / n_samples: a one-hot start on K points
            # (k-means++, random_from_data) would otherwise give weights summing to K/n.
            weights = nk / nk.sum()
        self.weights_ = weights if self._weights_init is None else self._weights_init
        self.means_ = means if self._means_init is None else self._means_init
        if self._precisions_init is None:
            self.covariances_ = covariances
            self.precisions_cholesky_ = _compute_precision_cholesky(
                covariances, self.covariance_type
            )
        else:
            self.precisions_cholesky_ = _precision_cholesky_from_precisions(
                self._precisions_init, self.covariance_type
            )
            if self.covariance_type in ("full", "tied"):
                self.covariances_ = np.linalg.inv(self._precisions_init)
            else:
                self.covariances_ = 1.0 / self._precisions_init

    def _m_step(self, stats):
        nk, self.means_, self.covariances_ = _estimate_gaussian_parameters(
            stats, self.reg_covar * self._data_scale ** 2, self.covariance_type,
            stats.mean.dtype
        )
        self.weights_ = nk / nk.sum()
        self.precisions_cholesky_ = _compute_precision_cholesky(
            self.covariances_, self.covariance_type
        )

    def _estimate_log_prob(self, X):
        scale = getattr(self, "_scale_", 1.0)
        if scale == 1.0:
            return self._log_gaussian(X, self.means_, self.precisions_cholesky_)
        # A model fitted far from unit scale scores X * scale (exact) against its
        # rescaled Gaussians: the precisions themselves may not fit in float32.
        f = X.dtype.type(scale)
        log_prob = self._log_gaussian(X * f, self.means_ * f, self.precisions_cholesky_ / f)
        observed = observed_mask(X)
        if observed is None:
            log_prob += X.dtype.type(X.shape[1] * np.log(scale))
        else:
            # The Jacobian of the observed entries only.
            log_prob += (observed.sum(axis=1) * np.log(scale)).astype(X.dtype)[:, None]
        return log_prob

    def _fill_missing(self, X, rng=None):
        """X with its NaN replaced from p(x_m | x_o): the conditional mean, or a
        draw when ``rng`` is a generator (for :class:`skgen.GenerativeImputer`).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Validated rows, NaN where missing.
        rng : numpy.random.Generator or None

        Returns
        -------
        filled : ndarray of shape (n_samples, n_features), in X's dtype
        """
        observed = observed_mask(X)
        if observed is None:
            return X
        out = X.copy()
        rows = ~observed.all(axis=1)
        resp = self._responsibilities(X[rows]).astype(np.float64)
        out[rows] = conditional_fill(IncompleteRows(X[rows], observed[rows]), resp,
                                     self.means_, self.precisions_cholesky_,
                                     self.covariance_type, rng)
        return out

    def _log_gaussian(self, X, means, prec_chol):
        """log N(x_o | mu_k,o, Sigma_k,oo): the full density for complete rows
        (the blocked products), the marginal of the observed entries for rows
        with NaN (:mod:`._gaussian_missing`)."""
        observed = observed_mask(X)
        if observed is None:
            return _estimate_log_gaussian_prob(X, means, prec_chol, self.covariance_type)
        complete = observed.all(axis=1)
        incomplete = IncompleteRows(X[~complete], observed[~complete])
        return self._split_log_gaussian(X, complete, incomplete, means, prec_chol)[0]

    def _split_log_gaussian(self, X, complete, incomplete, means, prec_chol, keep=False):
        """(log-densities of every row, the incomplete rows' conditionals or None)."""
        out = np.empty((X.shape[0], means.shape[0]), dtype=X.dtype)
        if complete.any():
            out[complete] = _estimate_log_gaussian_prob(X[complete], means, prec_chol,
                                                        self.covariance_type)
        out[~complete], conditionals = missing_log_prob(incomplete, means, prec_chol,
                                                        self.covariance_type, keep)
        return out, conditionals

    def _estimate_log_weights(self):
        return np.log(self.weights_)

    def _get_parameters(self):
        return (
            self.weights_,
            self.means_,
            self.covariances_,
            self.precisions_cholesky_,
        )

    def _set_parameters(self, params):
        (
            self.weights_,
            self.means_,
            self.covariances_,
            self.precisions_cholesky_,
        ) = params
        self.precisions_ = _precisions(self.precisions_cholesky_, self.covariance_type)

    def _n_parameters(self):
        K, d = self.means_.shape
        cov_params = {
            "full": K * d * (d + 1) / 2.0,
            "tied": d * (d + 1) / 2.0,
            "diag": K * d,
            "spherical": K,
        }[self.covariance_type]
        return int(cov_params + K * d + K - 1)

    def _sample_component(self, k, n_samples, rng):
        mean = self.means_[k]
        d = mean.shape[0]
        if self.covariance_type in ("full", "tied"):
            cov = self.covariances_[k] if self.covariance_type == "full" else self.covariances_
            # x = mu + L z with L L^T = Sigma; float64 so that float32 fits sample too.
            chol = linalg.cholesky(cov.astype(np.float64), lower=True)
            draws = mean + rng.standard_normal((n_samples, d)) @ chol.T
        else:
            scale = np.sqrt(self.covariances_[k])
            draws = mean + rng.standard_normal((n_samples, d)) * scale
        return draws.astype(self.means_.dtype, copy=False)
