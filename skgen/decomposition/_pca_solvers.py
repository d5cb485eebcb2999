"""PCA's in-memory solvers: the spectrum and axes of an array or sparse matrix.

:func:`fit_pca` keeps the contract of :func:`._pca_dask.fit_dask_pca` (squared
singular values, axes, total variance, mean), so that ``PCA._fit`` has one
choice of solver family. The solvers:

- 'full': LAPACK's SVD of the centred data;
- 'covariance_eigh': the eigendecomposition of the d x d scatter (tall) or the
  n x n Gram of the centred rows (wide), one GEMM over X;
- 'randomized': Halko, Martinsson & Tropp (2011), algorithm 4.4, with the
  power-iteration normaliser of scikit-learn's ``randomized_svd``;
- 'arpack': ``scipy.sparse.linalg.svds`` on the centred data, implicitly
  centred for sparse X (Lehoucq, Sorensen & Yang 1998).
"""

import numbers
from contextlib import nullcontext

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from scipy.sparse.linalg import svds
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils.extmath import svd_flip

from ..utils._numba import single_threaded_blas
from ..utils._validation import internal_scale, missing_values_hint
from ._pca_numerics import _centered_operator, _randomized_svd

__all__ = ["fit_pca"]


def _finite(pca, values):
    """scikit-learn's finiteness check, its NaN message naming the imputer."""
    try:
        assert_all_finite(values, input_name="X", estimator_name=type(pca).__name__)
    except ValueError as error:
        if "NaN" not in str(error):
            raise
        raise ValueError(f"{error}\n{missing_values_hint(pca)}") from None


def fit_pca(pca, X, solver, k, peak):
    """Principal axes of in-memory data.

    Parameters
    ----------
    pca : PCA
        Reads ``copy``, ``tol``, ``iterated_power``, ``n_oversamples``,
        ``power_iteration_normalizer`` and ``random_state``.
    X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
        Validated, except for NaN/inf with the dense 'covariance_eigh' solver
        (found here from the diagonal of the Gram matrix it forms anyway).
    solver : {'full', 'covariance_eigh', 'randomized', 'arpack'}
    k : int, float or 'mle'
        Components wanted (an int lets the eigensolvers compute only those).
    peak : float
        max |X| (:func:`skgen.utils.check_magnitude`'s result): data far
        from unit scale is decomposed as X * 2^e (exact) and the variances
        brought back, so that no square is subnormal.

    Returns
    -------
    spectrum : ndarray
        Squared singular values of the centred data, decreasing.
    vt : ndarray of shape (len(spectrum), n_features)
        Principal axes, signs as scikit-learn's ``svd_flip(u_based_decision=False)``.
    total_var : float
        Total variance, trace of the covariance (divisor n - 1).
    mean : ndarray of shape (n_features,)

    Raises
    ------
    ValueError
        On NaN or infinity.
    TypeError
        On sparse X with 'full' or 'covariance_eigh'.
    """
    if solver != "covariance_eigh" or sp.issparse(X):
        _finite(pca, X.data if sp.issparse(X) else X)
    if sp.issparse(X) and solver in ("full", "covariance_eigh"):
        raise TypeError(
            f"svd_solver={solver!r} does not support sparse input; use "
            "'arpack' or 'randomized' (both centre sparse input implicitly)"
        )
    n = X.shape[0]
    scale = internal_scale(X, peak)
    if scale != 1.0:
        X = X * X.dtype.type(scale)
    if sp.issparse(X):
        mean = np.asarray(X.mean(axis=0)).ravel().astype(X.dtype)
    else:
        # A BLAS product (threaded) rather than NumPy's single-threaded sum.
        with np.errstate(invalid="ignore", over="ignore"):
            mean = np.ones(n, dtype=X.dtype) @ X
        mean /= n
    if solver == "full":
        spectrum, vt, total_var = _fit_full(pca, X, mean)
    elif solver == "covariance_eigh":
        spectrum, vt, total_var = _fit_covariance_eigh(pca, X, mean, k)
    else:
        spectrum, vt, total_var = _fit_truncated(pca, X, mean, k, solver)
    if scale != 1.0:
        f = X.dtype.type(scale)
        spectrum, total_var, mean = spectrum / (f * f), total_var / scale**2, mean / f
    return spectrum, vt, total_var, mean


def _centred(pca, X, mean):
    """X - mean: a new array, or X itself centred in place when copy=False."""
    if pca.copy or not X.flags.writeable:
        return X - mean
    X -= mean
    return X


def _uncentre(X, Xc, mean):
    if Xc is X:
        X += mean


def _fit_full(pca, X, mean):
    Xc = _centred(pca, X, mean)
    try:
        u, s, vt = linalg.svd(Xc, full_matrices=False, check_finite=False)
    finally:
        _uncentre(X, Xc, mean)
    u, vt = svd_flip(u, vt, u_based_decision=False)
    spectrum = (s * s).astype(X.dtype)
    return spectrum, vt, spectrum.sum(dtype=np.float64) / (X.shape[0] - 1)


def _fit_covariance_eigh(pca, X, mean, k):
    n, d = X.shape
    n_exact = isinstance(k, numbers.Integral)
    # NaN/inf are named just below; no NumPy warning before the message.
    with np.errstate(invalid="ignore", over="ignore"):
        G = X.T @ X if n >= d else X @ X.T
    if not np.all(np.isfinite(np.diagonal(G))):
        # A sum of squares is inf/NaN exactly when its row or column has one.
        _finite(pca, X)
    if n >= d:
        # d x d scatter by one GEMM, centred afterwards (as scikit-learn does).
        G -= n * np.outer(mean, mean).astype(X.dtype)
    else:
        # n x n Gram of the centred rows; centring folded in by rank-one terms.
        a = X @ mean
        G -= a[:, None]
        G -= a[None, :]
        G += mean @ mean
    m = G.shape[0]
    total = float(np.trace(G)) / (n - 1)
    # Threaded LAPACK on a small matrix mostly waits on its threads (measured:
    # 3 ms to 100 ms for 200 x 200 on 2 cores); one thread is steady.
    # The top k eigenpairs alone (MRRR) when k <= m / 4, else all of them by
    # divide and conquer: one thread, m = 64, k = 20: 0.75 against 0.59 ms;
    # m = 128, k = 20: 1.9 against 2.1; m = 512, k = 50: 25 against 47 (the
    # digits' PCA(20) in `skgen compare` read 0.76x scikit-learn's, which
    # takes all of them).
    with single_threaded_blas() if m <= 512 else nullcontext():
        if n_exact and 0 < k < m and 4 * k <= m:
            w, v = linalg.eigh(
                G, subset_by_index=(m - k, m - 1), driver="evr",
                overwrite_a=True, check_finite=False,
            )
        elif n_exact and k == 0:
            w, v = np.zeros(0, X.dtype), np.zeros((m, 0), X.dtype)
        else:
            w, v = linalg.eigh(G, driver="evd", overwrite_a=True, check_finite=False)
            if n_exact:
                w, v = w[m - k:], v[:, m - k:]
    w, v = w[::-1], v[:, ::-1]
    np.maximum(w, 0, out=w)
    if n >= d:
        vt = v.T
    else:
        s = np.sqrt(w)
        keep = s > s[:1].max(initial=0) * np.finfo(X.dtype).eps * max(n, d)
        vt = np.zeros((w.shape[0], d), dtype=X.dtype)
        vt[keep] = (v[:, keep].T @ X - np.outer(v[:, keep].sum(0), mean))
        vt[keep] /= s[keep, None]
    _, vt = svd_flip(None, vt, u_based_decision=False)
    return w.astype(X.dtype), np.ascontiguousarray(vt, dtype=X.dtype), total


def _fit_truncated(pca, X, mean, k, solver):
    rng = check_random_state(pca.random_state)
    A = _centered_operator(X, mean) if sp.issparse(X) else _centred(pca, X, mean)
    try:
        return _truncated_svd(pca, A, X, mean, k, solver, rng)
    finally:
        if not sp.issparse(X):
            _uncentre(X, A, mean)


def _truncated_svd(pca, A, X, mean, k, solver, rng):
    n, d = X.shape
    if sp.issparse(X):
        sq = np.asarray(X.multiply(X).sum(axis=0)).ravel()
        total = max((sq.sum() - n * float(mean @ mean)) / (n - 1), 0.0)
    else:
        total = float(np.einsum("ij,ij->", A, A)) / (n - 1)
    if total == 0.0:
        # Constant data: no direction has variance and ARPACK refuses the
        # zero operator; any orthonormal axes are principal (LAPACK's SVD of
        # a zero matrix gives the identity's rows, as here).
        return np.zeros(k, X.dtype), np.eye(k, d, dtype=X.dtype), 0.0
    if solver == "arpack":
        v0 = rng.uniform(-1, 1, size=min(n, d))
        u, s, vt = svds(A, k=k, tol=pca.tol, v0=v0)
        order = np.argsort(s)[::-1]
        u, s, vt = u[:, order], s[order], vt[order]
    else:
        power = pca.iterated_power
        if power == "auto":
            power = 7 if k < 0.1 * min(n, d) else 4
        u, s, vt = _randomized_svd(A, k, pca.n_oversamples, power, rng,
                                   pca.power_iteration_normalizer)
    _, vt = svd_flip(u, vt, u_based_decision=False)
    return (s * s).astype(X.dtype), vt.astype(X.dtype, copy=False), total
