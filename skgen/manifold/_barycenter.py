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
    # eps and tiny from NumPy: numba's np.finfo costs 0.15 s of a first compile.
    info = np.finfo(Y.dtype)
    run_in_blocks(_barycenter_block, X.shape[0], numba.get_num_threads(), X, Y,
                  indices, reg, Y.dtype.type(info.eps), Y.dtype.type(info.tiny), out)


@jit
def _barycenter_block(X, Y, indices, reg, eps, tiny, out, start, stop):
    """barycenter_weights for rows ``start:stop``. One function with its work
    arrays allocated once: each nested jitted function and allocation overload
    costs a first compile of its own (the solve and the row as callees: 1.55 s
    of LLE's first use)."""
    k = indices.shape[1]
    d = X.shape[1]
    Z = np.empty((k, d), dtype=Y.dtype)
    C = np.empty((k, k), dtype=Y.dtype)
    w = np.empty(k, dtype=Y.dtype)
    for i in range(start, stop):
        nbrs = indices[i]
        for a in range(k):
            for f in range(d):
                Z[a, f] = Y[nbrs[a], f] - X[i, f]
        # Loops, not Z @ Z.T: numba's BLAS binding cost 0.9 s of LLE's first-use
        # compilation, and C is k x k (a few dozen).
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
        # dimensions C is singular. A zero trace (the neighbours equal x) gives
        # equal weights for any positive ridge.
        R = max(reg, 100 * eps) * trace if trace > 0 else 1.0
        for a in range(k):
            C[a, a] += R
        # w = C^-1 1 by Cholesky in place (C = L L^T, L in C's lower triangle).
        # Plain loops, not np.linalg.solve: numba's LAPACK binding took 3-4 s of
        # LLE's first-use compilation, and k is a few dozen. A pivot that
        # rounding leaves non-positive (ill-conditioned C; the ridge makes it
        # rare) is clamped to eps of the diagonal's largest entry.
        top = 0.0
        for a in range(k):
            top = max(top, C[a, a])
        floor = eps * top if top > 0 else tiny
        for j in range(k):
            s = C[j, j]
            for m in range(j):
                s -= C[j, m] * C[j, m]
            if s <= floor:
                s = floor
            pivot = np.sqrt(s)
            C[j, j] = pivot
            for r in range(j + 1, k):
                t = C[r, j]
                for m in range(j):
                    t -= C[r, m] * C[j, m]
                C[r, j] = t / pivot
        for r in range(k):  # L y = 1
            t = 1.0
            for m in range(r):
                t -= C[r, m] * w[m]
            w[r] = t / C[r, r]
        for r in range(k - 1, -1, -1):  # L^T w = y
            t = w[r]
            for m in range(r + 1, k):
                t -= C[m, r] * w[m]
            w[r] = t / C[r, r]
        total = 0.0
        for a in range(k):
            total += w[a]
        for a in range(k):
            out[i, a] = w[a] / total


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
