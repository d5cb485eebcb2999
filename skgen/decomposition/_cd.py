"""Lasso by cyclic coordinate descent on a precomputed Gram matrix (numba).

Friedman, Hastie & Tibshirani (2010), "Regularization paths for generalized
linear models via coordinate descent", J. Stat. Softw. 33(1), section 2.2
("covariance updates"): with G = D D^T and c = D x, the update of coordinate j is
z_j <- S(c_j - (G z)_j + G_jj z_j, alpha) / G_jj, and G z is kept up to date in
O(n_atoms) per change. Convergence is certified by the duality gap of
1/2 ||x - D^T z||^2 + alpha ||z||_1 (dual point: the residual rescaled into the
feasible set), as scikit-learn's ``enet_coordinate_descent_gram`` does.

No scikit-learn imports here.
"""

import numpy as np

from ..utils._numba import jit

STOP_OK = 0
STOP_MAX_ITER = 2


@jit
def _cd_one(G, c, norm_sq, alpha, positive, max_iter, tol, z, q):
    """Coordinate descent for one signal from the start ``z``; returns status."""
    K = c.shape[0]
    for j in range(K):
        q[j] = 0.0
    for a in range(K):
        if z[a] != 0.0:
            for j in range(K):
                q[j] += G[a, j] * z[a]
    gap_tol = tol * norm_sq
    for it in range(max_iter):
        max_dz = 0.0
        max_z = 0.0
        for j in range(K):
            gjj = G[j, j]
            if gjj <= 0.0:
                continue
            zj = z[j]
            rho = c[j] - q[j] + gjj * zj
            if positive and rho < 0.0:
                new = 0.0
            else:
                new = np.sign(rho) * max(abs(rho) - alpha, 0.0) / gjj
            d = new - zj
            if d != 0.0:
                for m in range(K):
                    q[m] += G[j, m] * d
                z[j] = new
            max_dz = max(max_dz, abs(d))
            max_z = max(max_z, abs(new))
        if max_z == 0.0 or max_dz / max_z < tol or it == max_iter - 1:
            # Duality gap at z, the dual point being the rescaled residual.
            dual_norm = 0.0
            cz = 0.0
            zq = 0.0
            l1 = 0.0
            for j in range(K):
                g = c[j] - q[j]
                v = g if positive else abs(g)
                dual_norm = max(dual_norm, v)
                cz += c[j] * z[j]
                zq += z[j] * q[j]
                l1 += abs(z[j])
            r_sq = max(norm_sq - 2.0 * cz + zq, 0.0)
            s = alpha / dual_norm if dual_norm > alpha else 1.0
            primal = 0.5 * r_sq + alpha * l1
            dual = s * (norm_sq - cz) - 0.5 * s * s * r_sq
            if primal - dual <= gap_tol:
                return STOP_OK
    return STOP_MAX_ITER


@jit
def lasso_cd_gram(G, cov, norms_sq, alpha, positive, max_iter, tol, codes, status, start,
              stop):
    """Lasso codes of signals ``start:stop`` by coordinate descent.

    Parameters
    ----------
    G : ndarray of shape (n_atoms, n_atoms)
        Gram matrix D D^T, C order.
    cov : ndarray of shape (n_samples, n_atoms)
        Correlations X D^T, C order.
    norms_sq : ndarray of shape (n_samples,)
        Squared norms of the signals (for the duality gap).
    alpha : float
        Penalty of 1/2 ||x - D^T z||^2 + alpha ||z||_1.
    positive : bool
        Constrain the codes to be non-negative.
    max_iter : int
        Most sweeps over the atoms.
    tol : float
        Stop when the duality gap is at most ``tol * ||x||^2``.
    codes : ndarray of shape (n_samples, n_atoms)
        On entry the starting codes (warm start); on exit the solution.
    status : ndarray of shape (n_samples,), int8
        Output: 0, or 2 where ``max_iter`` sweeps ended without certifying ``tol``.
    start, stop : int
        The signals (rows of ``cov``) to code, in the calling thread;
        ``utils._numba.run_in_blocks`` shares blocks of rows out among threads
        (the kernel releases the GIL).
    """
    q = np.empty(cov.shape[1], dtype=G.dtype)
    for i in range(start, stop):
        status[i] = _cd_one(
            G, cov[i], norms_sq[i], alpha, positive, max_iter, tol, codes[i], q
        )
