"""PCA's numerical pieces: Minka's evidence for the rank, the fused centred norms
of the probabilistic score, the implicitly centred sparse operator, and the
randomized range finder.
"""

from math import lgamma, log, pi

import numpy as np
from scipy import linalg
from scipy.sparse.linalg import LinearOperator

from ..utils._numba import jit

__all__ = []


def _minka_log_evidence(spectrum, rank, n_samples):
    """Laplace approximation of the evidence for a rank-``rank`` PCA model.

    Minka (2000), "Automatic choice of dimensionality for PCA", NIPS 13, eq. (30)
    with the Laplace terms of section 3.

    Parameters
    ----------
    spectrum : ndarray of shape (n_features,)
        Sample-covariance eigenvalues in decreasing order.
    rank : int
        Candidate dimension, 1 <= rank < n_features.
    n_samples : int
        Number of samples the spectrum was estimated from.

    Returns
    -------
    log_evidence : float
        Natural log of the approximate evidence (nats); -inf when the rank-th
        eigenvalue is numerically zero.
    """
    d = spectrum.shape[0]
    eps = 1e-15
    if spectrum[rank - 1] < eps:
        return -np.inf
    i = np.arange(1, rank + 1)
    # log p(U): the uniform prior on the Stiefel manifold.
    log_pu = -rank * log(2.0) + sum(
        lgamma((d - j + 1) / 2.0) - log(pi) * (d - j + 1) / 2.0 for j in i
    )
    log_pl = -np.sum(np.log(spectrum[:rank])) * n_samples / 2.0
    v = max(eps, np.sum(spectrum[rank:]) / (d - rank))
    log_pv = -log(v) * n_samples * (d - rank) / 2.0
    m = d * rank - rank * (rank + 1.0) / 2.0
    log_pp = log(2.0 * pi) * (m + rank) / 2.0
    lam_hat = spectrum.copy()
    lam_hat[rank:] = v
    # Determinant of the Hessian: pairs (i < rank, j > i).
    log_az = 0.0
    for a in range(rank):
        diff = spectrum[a] - spectrum[a + 1:]
        inv = 1.0 / lam_hat[a + 1:] - 1.0 / lam_hat[a]
        log_az += np.sum(np.log(diff * inv)) + (d - a - 1) * log(n_samples)
    return log_pu + log_pl + log_pv + log_pp - log_az / 2.0 - rank * log(n_samples) / 2.0


@jit(fastmath=True)  # guard-free sum of squares: reassociation only vectorises
def _centered_sq_norms(X, mean):
    """||x_i - mean||^2 per row in one pass over X, accumulated in float64.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    mean : ndarray of shape (n_features,), same dtype as X

    Returns
    -------
    sq : ndarray of shape (n_samples,), float64
    """
    n, d = X.shape
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        acc = 0.0
        for j in range(d):
            c = X[i, j] - mean[j]
            acc += c * c
        out[i] = acc
    return out


def _project_rows(X, V):
    """X @ V.T for C-ordered X, taken as (V @ X.T).T: OpenBLAS runs this
    orientation of the skinny product about twice as fast (MNIST, k=50)."""
    return (V @ X.T).T


def _centered_operator(X, mean):
    """``X - mean`` for sparse ``X`` as a LinearOperator, never densified."""
    mean = mean.reshape(1, -1)

    def matvec(v):
        v = v.reshape(X.shape[1], -1)
        return X @ v - np.ones((X.shape[0], 1), X.dtype) @ (mean @ v)

    def rmatvec(v):
        v = v.reshape(X.shape[0], -1)
        return X.T @ v - mean.T @ v.sum(axis=0, keepdims=True)

    return LinearOperator(
        X.shape, matvec=matvec, rmatvec=rmatvec, matmat=matvec, rmatmat=rmatvec,
        dtype=X.dtype,
    )


def _randomized_svd(A, k, n_oversamples, n_iter, rng, normalizer="auto"):
    """Truncated SVD by randomized range finding (Halko, Martinsson & Tropp 2011).

    Algorithm 4.4 of the paper (subspace iteration), with the LU normalisation of
    the power iterations that scikit-learn's ``randomized_svd`` uses for more than
    two iterations, and the same draws for the same ``rng``; ``A`` may be a
    LinearOperator (implicitly centred sparse data), which scikit-learn's
    public ``randomized_svd`` refuses.

    Parameters
    ----------
    A : ndarray or LinearOperator of shape (n, d)
    k : int
        Singular triplets returned.
    n_oversamples : int
        Extra random directions.
    n_iter : int
        Power iterations.
    rng : RandomState
        Source of the Gaussian test matrix.
    normalizer : {'auto', 'QR', 'LU', 'none'}, default='auto'
        Normalisation of each power iteration, as scikit-learn's
        ``power_iteration_normalizer``: 'auto' is 'none' for at most two
        iterations, 'LU' above.

    Returns
    -------
    u : ndarray of shape (n, k)
    s : ndarray of shape (k,)
    vt : ndarray of shape (k, d)
    """
    transpose = A.shape[0] < A.shape[1]
    if transpose:
        A = A.T
    size = k + n_oversamples
    Q = rng.normal(size=(A.shape[1], size)).astype(A.dtype, copy=False)
    if normalizer == "auto":
        normalizer = "none" if n_iter <= 2 else "LU"
    for _ in range(n_iter):
        if normalizer == "LU":
            Q, _ = linalg.lu(A @ Q, permute_l=True, check_finite=False)
            Q, _ = linalg.lu(A.T @ Q, permute_l=True, check_finite=False)
        elif normalizer == "QR":
            Q, _ = linalg.qr(A @ Q, mode="economic", check_finite=False)
            Q, _ = linalg.qr(A.T @ Q, mode="economic", check_finite=False)
        else:
            Q = A.T @ (A @ Q)
    Q, _ = linalg.qr(A @ Q, mode="economic", check_finite=False)
    B = np.asarray(A.T @ Q).T
    uh, s, vt = linalg.svd(B, full_matrices=False, check_finite=False)
    u = Q @ uh
    if transpose:
        return vt[:k].T, s[:k], u[:, :k].T
    return u[:, :k], s[:k], vt[:k]
