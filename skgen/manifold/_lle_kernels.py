"""numba kernels of LLE's local fits: one (k+1) x (k+1) block of M per point.

Every LLE variant writes its alignment matrix as a sum of local terms, M = sum_i
S_i^T B_i S_i, where S_i selects point i and its k neighbours (in that order)
and B_i is a symmetric (k+1) x (k+1) block. The kernels below compute the
blocks, parallel over points; ``_lle.assemble`` adds them into a sparse M.

- standard (Roweis & Saul 2000, eq. 3): B_i = r r^T, r = (1, -w_i).
- modified (Zhang & Wang 2007, "MLLE: Modified locally linear embedding using
  multiple weights", alg. 1): B_i = [[s_i, -W_i 1^T], [-W_i 1, W_i W_i^T]].
- hessian (Donoho & Grimes 2003, "Hessian eigenmaps", sec. 5): B_i = H_i^T H_i
  on the neighbours, H_i the local Hessian estimator.
- ltsa (Zhang & Zha 2004, "Principal manifolds and nonlinear dimension
  reduction via local tangent space alignment", sec. 4): B_i = I - G_i G_i^T on
  the neighbours.

No scikit-learn imports here. Each kernel has a NumPy reference in the tests.
"""

import numpy as np
from numba import prange

from ..utils._numba import jit


def standard_blocks(weights, blocks):
    """Blocks r r^T with r = (1, -w_i).

    Parameters
    ----------
    weights : ndarray of shape (n_samples, k)
        Barycentric weights of each point's neighbours.
    blocks : ndarray of shape (n_samples, k + 1, k + 1)
        Output.

    Notes
    -----
    NumPy, not a kernel: an outer product per row is memory-bound, and a
    parallel kernel cost 0.8 s of compilation on LLE's first use.
    """
    blocks[:, 0, 0] = 1.0
    blocks[:, 0, 1:] = -weights
    blocks[:, 1:, 0] = -weights
    np.multiply(weights[:, :, None], weights[:, None, :], out=blocks[:, 1:, 1:])


@jit
def _local_tangent_basis(X, nbrs, n):
    """First n left singular vectors of the mean-centred neighbourhood X[nbrs].

    Shape (k, n), largest singular value first: the neighbours' coordinates in
    the local tangent space (Hessian eigenmaps and LTSA both start from them).
    """
    k = nbrs.shape[0]
    d = X.shape[1]
    G = np.empty((k, d))
    for a in range(k):
        for f in range(d):
            G[a, f] = X[nbrs[a], f]
    for f in range(d):
        c = 0.0
        for a in range(k):
            c += G[a, f]
        c /= k
        for a in range(k):
            G[a, f] -= c
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    return np.ascontiguousarray(U[:, :n])


@jit(parallel=True)
def hessian_blocks(X, indices, n_components, hessian_tol, blocks):
    """Hessian-eigenmaps blocks on each neighbourhood (Donoho & Grimes 2003).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    indices : ndarray of shape (n_samples, k), int64
        Neighbours (not the point itself).
    n_components : int
        Embedding dimension d; k must exceed d (d + 3) / 2.
    hessian_tol : float
        Columns of the Hessian estimator whose sum is below this are not
        normalised (scikit-learn's rule).
    blocks : ndarray of shape (n_samples, k + 1, k + 1)
        Output; row and column 0 (the point itself) are zero.
    """
    k = indices.shape[1]
    dp = n_components * (n_components + 1) // 2
    for i in prange(X.shape[0]):
        U = _local_tangent_basis(X, indices[i], n_components)
        Y = np.empty((k, 1 + n_components + dp))
        for a in range(k):
            Y[a, 0] = 1.0
            for c in range(n_components):
                Y[a, 1 + c] = U[a, c]
            j = 1 + n_components
            for c in range(n_components):
                for e in range(c, n_components):
                    Y[a, j] = U[a, c] * U[a, e]
                    j += 1
        Q, R = np.linalg.qr(Y)
        w = np.ascontiguousarray(Q[:, n_components + 1:])
        for c in range(dp):
            s = 0.0
            for a in range(k):
                s += w[a, c]
            if abs(s) < hessian_tol:
                s = 1.0
            for a in range(k):
                w[a, c] /= s
        B = w @ w.T
        blocks[i, 0, :] = 0.0
        blocks[i, :, 0] = 0.0
        for a in range(k):
            for b in range(k):
                blocks[i, a + 1, b + 1] = B[a, b]


@jit(parallel=True)
def ltsa_blocks(X, indices, n_components, blocks):
    """Local tangent space alignment blocks I - G G^T (Zhang & Zha 2004).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    indices : ndarray of shape (n_samples, k), int64
        Neighbours (not the point itself).
    n_components : int
    blocks : ndarray of shape (n_samples, k + 1, k + 1)
        Output; row and column 0 (the point itself) are zero.
    """
    k = indices.shape[1]
    c0 = 1.0 / np.sqrt(k)
    for i in prange(X.shape[0]):
        U = _local_tangent_basis(X, indices[i], n_components)
        blocks[i, 0, :] = 0.0
        blocks[i, :, 0] = 0.0
        for a in range(k):
            for b in range(k):
                v = c0 * c0
                for c in range(n_components):
                    v += U[a, c] * U[b, c]
                blocks[i, a + 1, b + 1] = (1.0 if a == b else 0.0) - v


@jit(parallel=True)
def local_spectra(X, indices, n_nonzero, evals, evecs):
    """Eigen-decompositions of the local Gram matrices, for modified LLE.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    indices : ndarray of shape (n_samples, k), int64
    n_nonzero : int
        min(k, n_features): eigenvalues past it are exactly 0 (set so).
    evals : ndarray of shape (n_samples, k)
        Output, descending.
    evecs : ndarray of shape (n_samples, k, k)
        Output, columns matching ``evals``.
    """
    k = indices.shape[1]
    d = X.shape[1]
    for i in prange(X.shape[0]):
        Z = np.empty((k, d))
        for a in range(k):
            for f in range(d):
                Z[a, f] = X[indices[i, a], f] - X[i, f]
        C = Z @ Z.T
        lam, V = np.linalg.eigh(C)
        for a in range(k):
            evals[i, a] = max(lam[k - 1 - a], 0.0) if a < n_nonzero else 0.0
            for b in range(k):
                evecs[i, b, a] = V[b, k - 1 - a]


@jit(parallel=True)
def modified_blocks(evals, evecs, n_nonzero, s_range, reg, modified_tol, blocks):
    """Modified-LLE blocks from the local spectra (Zhang & Wang 2007, alg. 1).

    Parameters
    ----------
    evals, evecs : ndarrays of shapes (n_samples, k) and (n_samples, k, k)
        From :func:`local_spectra`.
    n_nonzero : int
        min(k, n_features).
    s_range : ndarray of shape (n_samples,), int64
        Size s_i of each point's set of nearly-null directions.
    reg : float
        Regularisation of the weights, a fraction of the local Gram trace (an
        absolute amount when the trace is 0).
    modified_tol : float
        Householder vectors shorter than this are taken as zero.
    blocks : ndarray of shape (n_samples, k + 1, k + 1)
        Output.
    """
    k = evals.shape[1]
    for i in prange(evals.shape[0]):
        lam = evals[i]
        V = evecs[i]
        total = 0.0
        for a in range(n_nonzero):
            total += lam[a]
        r = reg * total if total > 0 else reg
        # Regularised barycentric weights through the local spectrum.
        w = np.zeros(k)
        for a in range(k):
            t = 0.0
            for b in range(k):
                t += V[b, a]
            t /= (lam[a] + r) if a < n_nonzero else r
            for b in range(k):
                w[b] += V[b, a] * t
        w /= w.sum()
        s = s_range[i]
        Vi = np.ascontiguousarray(V[:, k - s:])
        colsum = np.zeros(s)
        for c in range(s):
            for a in range(k):
                colsum[c] += Vi[a, c]
        alpha = np.sqrt((colsum ** 2).sum()) / np.sqrt(s)
        h = alpha - colsum
        norm_h = np.sqrt((h ** 2).sum())
        if norm_h < modified_tol:
            h[:] = 0.0
        else:
            h /= norm_h
        Vh = Vi @ h
        Wi = np.empty((k, s))
        for a in range(k):
            for c in range(s):
                Wi[a, c] = Vi[a, c] - 2.0 * Vh[a] * h[c] + (1.0 - alpha) * w[a]
        B = Wi @ Wi.T
        blocks[i, 0, 0] = s
        for a in range(k):
            rs = 0.0
            for c in range(s):
                rs += Wi[a, c]
            blocks[i, 0, a + 1] = -rs
            blocks[i, a + 1, 0] = -rs
            for b in range(k):
                blocks[i, a + 1, b + 1] = B[a, b]
