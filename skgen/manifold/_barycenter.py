"""Barycentric (locally linear) reconstruction weights, in numba.

Roweis & Saul (2000), "Nonlinear dimensionality reduction by locally linear
embedding", Science 290, eqs. (1)-(2) and note 7: the weights w that
reconstruct x from its neighbours y_j, minimising ||x - sum_j w_j y_j||^2 with
sum_j w_j = 1, solve C w = 1 with the local Gram C_jl = (y_j - x).(y_l - x),
regularised by reg * trace(C) on the diagonal, then normalised. Used by LLE's
fit and its out-of-sample maps (transform, inverse_transform) and by the
embeddings' inverse_transform.

No scikit-learn imports here.
"""

import numba
import numpy as np

from ..utils._numba import jit, run_in_blocks


@jit
def _solve_spd_ones(C, w):
    """w = C^-1 1 for a symmetric positive definite C, by Cholesky in place.

    Plain loops, not np.linalg.solve: numba's LAPACK binding took 3-4 s of
    the first-use compilation of LLE, and k is a few dozen. A pivot that
    rounding leaves non-positive (ill-conditioned C; the caller's ridge makes
    it rare) is clamped to eps of the diagonal's largest entry.
    """
    k = C.shape[0]
    top = 0.0
    for a in range(k):
        top = max(top, C[a, a])
    floor = np.finfo(C.dtype).eps * top if top > 0 else np.finfo(C.dtype).tiny
    for j in range(k):  # C = L L^T, L in the lower triangle of C
        s = C[j, j]
        for m in range(j):
            s -= C[j, m] * C[j, m]
        if s <= floor:
            s = floor
        pivot = np.sqrt(s)
        C[j, j] = pivot
        for i in range(j + 1, k):
            t = C[i, j]
            for m in range(j):
                t -= C[i, m] * C[j, m]
            C[i, j] = t / pivot
    for i in range(k):  # L y = 1
        t = 1.0
        for m in range(i):
            t -= C[i, m] * w[m]
        w[i] = t / C[i, i]
    for i in range(k - 1, -1, -1):  # L^T w = y
        t = w[i]
        for m in range(i + 1, k):
            t -= C[m, i] * w[m]
        w[i] = t / C[i, i]


@jit
def _weights_one(x, Y, nbrs, reg, out):
    k = nbrs.shape[0]
    d = x.shape[0]
    Z = np.empty((k, d), dtype=Y.dtype)
    for a in range(k):
        for f in range(d):
            Z[a, f] = Y[nbrs[a], f] - x[f]
    # Loops, not Z @ Z.T: numba's BLAS binding cost 0.9 s of LLE's first-use
    # compilation, and C is k x k (a few dozen).
    C = np.empty((k, k), dtype=Y.dtype)
    for a in range(k):
        for b in range(a + 1):
            s = 0.0
            for f in range(d):
                s += Z[a, f] * Z[b, f]
            C[a, b] = s
            C[b, a] = s
    trace = 0.0
    for a in range(k):
        trace += C[a, a]
    # At least 100 eps of the trace: with reg=0 and more neighbours than
    # dimensions C is singular, and LAPACK's error cannot leave a parallel
    # kernel cleanly. A zero trace (the neighbours equal x) gives equal weights
    # for any positive ridge.
    R = max(reg, 100 * np.finfo(Y.dtype).eps) * trace if trace > 0 else 1.0
    for a in range(k):
        C[a, a] += R
    w = np.empty(k, dtype=Y.dtype)
    _solve_spd_ones(C, w)
    total = 0.0
    for a in range(k):
        total += w[a]
    for a in range(k):
        out[a] = w[a] / total


def barycenter_weights(X, Y, indices, reg, out):
    """Reconstruction weights of each row of X from its neighbours in Y.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Points to reconstruct, C order.
    Y : ndarray of shape (n_reference, n_features)
        Reference points, C order, same dtype.
    indices : ndarray of shape (n_samples, n_neighbors), int64
        Rows of Y that reconstruct each row of X.
    reg : float
        Regularisation, as a fraction of the trace of the local Gram matrix, at
        least 100 epsilons of the dtype, so that reg=0 still solves a
        singular C.
    out : ndarray of shape (n_samples, n_neighbors)
        Output: weights, each row summing to 1.

    Notes
    -----
    One k x k Cholesky solve per row, always of a positive definite matrix;
    blocks of rows on numba's current number of threads
    (``numba.get_num_threads``, set by ``utils._numba.numba_threads``).
    """
    run_in_blocks(_barycenter_block, X.shape[0], numba.get_num_threads(), X, Y,
                  indices, reg, out)


@jit
def _barycenter_block(X, Y, indices, reg, out, start, stop):
    for i in range(start, stop):
        _weights_one(X[i], Y, indices[i], reg, out[i])


def combine_rows(weights, indices, Y, out):
    """Weighted sums of rows of Y: out[i] = sum_a weights[i, a] Y[indices[i, a]].

    Parameters
    ----------
    weights : ndarray of shape (n_samples, n_neighbors)
        Weights, for instance from :func:`barycenter_weights`.
    indices : ndarray of shape (n_samples, n_neighbors), int64
        Rows of Y.
    Y : ndarray of shape (n_reference, n_features)
        Reference rows.
    out : ndarray of shape (n_samples, n_features)
        Output, overwritten.

    Notes
    -----
    No (n_samples, n_neighbors, n_features) temporary; blocks of rows on
    numba's current number of threads.
    """
    run_in_blocks(_combine_block, out.shape[0], numba.get_num_threads(), weights,
                  indices, Y, out)


@jit
def _combine_block(weights, indices, Y, out, start, stop):
    for i in range(start, stop):
        for f in range(out.shape[1]):
            out[i, f] = 0.0
        for a in range(indices.shape[1]):
            w = weights[i, a]
            row = indices[i, a]
            for f in range(out.shape[1]):
                out[i, f] += w * Y[row, f]
