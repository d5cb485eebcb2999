"""Batch orthogonal matching pursuit on a precomputed Gram matrix (numba).

Rubinstein, Zibulevsky & Elad (2008), "Efficient implementation of the K-SVD
algorithm using batch orthogonal matching pursuit", Technion CS-2008-08,
algorithm 3 (Batch-OMP): with G = D D^T and alpha0 = D x precomputed, each step
picks the atom most correlated with the residual, extends the Cholesky factor of
G[I, I] by one row, solves for the coefficients and updates the correlations as
alpha = alpha0 - G[:, I] gamma, never touching the signal again. The error-target
variant tracks ||r||^2 by eq. (6): eps_n = eps_{n-1} - delta_n + delta_{n-1}.

No scikit-learn imports here; sparse_encode (_sparse_encode.py) validates.
"""

import numpy as np

from ..utils._numba import jit

# Outcomes per signal.
STOP_OK = 0
STOP_DEPENDENT = 1  # the next atom is (numerically) in the span of the chosen ones

_TINY = np.finfo(np.float64).tiny


@jit(parallel=False)
def _omp_one(G, alpha0, norm_sq, max_atoms, tol, dep_tol, alpha, L, idx, gamma, work,
             active, code):
    """Batch-OMP for one signal; writes ``code`` and returns the stop status."""
    K = alpha0.shape[0]
    for j in range(K):
        alpha[j] = alpha0[j]
        active[j] = False
        code[j] = 0.0
    n_active = 0
    err = norm_sq
    scale = 0.0
    for j in range(K):
        scale = max(scale, abs(alpha0[j]))
    delta_prev = 0.0
    status = STOP_OK
    while n_active < max_atoms:
        lam = 0
        best = -1.0
        for j in range(K):
            a = abs(alpha[j])
            if a > best:
                best = a
                lam = j
        if active[lam] or best * best < _TINY or best <= dep_tol * scale:
            status = STOP_DEPENDENT
            break
        if n_active > 0:
            # Row n_active of L: solve L[:n, :n] w = G[I, lam].
            for a in range(n_active):
                s = G[idx[a], lam]
                for b in range(a):
                    s -= L[a, b] * work[b]
                work[a] = s / L[a, a]
            v = 0.0
            for a in range(n_active):
                v += work[a] * work[a]
            lkk = G[lam, lam] - v
            if lkk <= _TINY or lkk <= dep_tol * G[lam, lam]:
                status = STOP_DEPENDENT
                break
            for a in range(n_active):
                L[n_active, a] = work[a]
            L[n_active, n_active] = np.sqrt(lkk)
        else:
            L[0, 0] = np.sqrt(G[lam, lam])
        idx[n_active] = lam
        active[lam] = True
        n_active += 1
        # gamma = (L L^T)^-1 alpha0[I]: forward then back substitution.
        for a in range(n_active):
            s = alpha0[idx[a]]
            for b in range(a):
                s -= L[a, b] * work[b]
            work[a] = s / L[a, a]
        for a in range(n_active - 1, -1, -1):
            s = work[a]
            for b in range(a + 1, n_active):
                s -= L[b, a] * gamma[b]
            gamma[a] = s / L[a, a]
        for j in range(K):
            alpha[j] = alpha0[j]
        for a in range(n_active):
            g = gamma[a]
            row = idx[a]
            for j in range(K):
                alpha[j] -= G[row, j] * g
        if tol >= 0.0:
            # delta = gamma^T G[I, I] gamma = gamma^T (alpha0[I] - alpha[I]).
            delta = 0.0
            for a in range(n_active):
                delta += gamma[a] * (alpha0[idx[a]] - alpha[idx[a]])
            err += delta_prev - delta
            delta_prev = delta
            if abs(err) <= tol:
                break
    for a in range(n_active):
        code[idx[a]] = gamma[a]
    return status


@jit
def omp_gram(G, cov, norms_sq, max_atoms, tol, dep_tol, codes, status, start, stop):
    """Batch-OMP codes of signals ``start:stop``, in the calling thread.

    Parameters
    ----------
    G : ndarray of shape (n_atoms, n_atoms)
        Gram matrix D D^T of the dictionary D (n_atoms, n_features), C order.
    cov : ndarray of shape (n_samples, n_atoms)
        Correlations X D^T, C order.
    norms_sq : ndarray of shape (n_samples,)
        Squared norms of the signals; read only when ``tol >= 0``.
    max_atoms : int
        Most atoms per signal (the number of non-zeros when ``tol < 0``).
    tol : float
        Target squared residual norm; negative: none (stop at ``max_atoms``).
    dep_tol : float
        Relative tolerance of the early stops: an atom whose squared distance to
        the span of the chosen ones is below ``dep_tol`` times its squared norm
        is dependent, and a best correlation below ``dep_tol`` times the largest
        initial one means the residual vanished.
    codes : ndarray of shape (n_samples, n_atoms)
        Output, overwritten.
    status : ndarray of shape (n_samples,), int8
        Output: 0, or 1 where the pursuit stopped early because the next atom
        was linearly dependent on the chosen ones (or the residual vanished).
    start, stop : int
        The signals (rows of ``cov``) to code; the work arrays are allocated
        once for them. ``utils._numba.run_in_blocks`` shares blocks of rows
        out among threads (the kernel releases the GIL).

    Notes
    -----
    The work per signal is O(n_atoms * s + s^2) for s selected atoms, plus the
    O(s^3) triangular solves.
    """
    K = cov.shape[1]
    alpha = np.empty(K, dtype=G.dtype)
    L = np.zeros((max_atoms, max_atoms), dtype=G.dtype)
    idx = np.empty(max_atoms, dtype=np.int64)
    gamma = np.empty(max_atoms, dtype=G.dtype)
    work = np.empty(max_atoms, dtype=G.dtype)
    active = np.empty(K, dtype=np.bool_)
    for i in range(start, stop):
        status[i] = _omp_one(
            G, cov[i], norms_sq[i], max_atoms, tol, dep_tol, alpha, L, idx, gamma,
            work, active, codes[i],
        )
