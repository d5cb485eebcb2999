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
# LARS's block of the index search and its integer view for the max.
from ._lars import _BLOCK, integer_view

# Outcomes per signal.
STOP_OK = 0
STOP_DEPENDENT = 1  # the next atom is (numerically) in the span of the chosen ones

_TINY = np.finfo(np.float64).tiny

# Reassociation and contraction only (no NaN/inf assumptions: the dependency
# tests compare as written): lets LLVM vectorise the triangular solves' dot
# products, which otherwise wait on one add after another.
_SOLVE_FASTMATH = {"reassoc", "contract"}


@jit(fastmath=_SOLVE_FASTMATH)
def _omp_gram(G, cov, norms_sq, max_atoms, tol, dep_tol, codes, status, start, stop, alpha,
              alpha_bits, mask, L, idx, gamma, work, w):
    """Batch-OMP for signals ``start:stop`` (see :func:`omp_gram`).

    One function, every step inline: numba compiles each jitted function in
    its own pipeline and re-optimises callees inside their callers, so the
    helpers of a first version cost a second of the first use's compile.

    Per signal: the largest |alpha_j| is an integer max over the magnitude
    bits ``alpha_bits & mask`` (``alpha`` viewed as integers of its width, by
    :func:`._lars.integer_view`), then a blocked search for its lowest index. w = L^-1
    alpha0[I] is kept across steps (one new row per atom), gamma = L^-T w,
    and alpha = alpha0 - G[:, I] gamma is swept four rows of G at a time.
    """
    K = cov.shape[1]
    for i in range(start, stop):
        alpha0 = cov[i]
        code = codes[i]
        for j in range(K):
            alpha[j] = alpha0[j]
            code[j] = 0.0
        n_active = 0
        err = norms_sq[i]
        scale = -1.0  # max_j |alpha0_j|, from the first step's search
        delta_prev = 0.0
        status[i] = STOP_OK
        while n_active < max_atoms:
            top = alpha_bits[0] & mask
            for j in range(1, K):
                v = alpha_bits[j] & mask
                top = v if v > top else top
            lam = 0
            for j0 in range(0, K, _BLOCK):
                j1 = min(j0 + _BLOCK, K)
                found = False
                for j in range(j0, j1):
                    found |= (alpha_bits[j] & mask) == top
                if found:
                    lam = j0
                    while (alpha_bits[lam] & mask) != top:
                        lam += 1
                    break
            best = abs(alpha[lam])
            if scale < 0.0:
                scale = best
            chosen = False
            for a in range(n_active):
                chosen |= idx[a] == lam
            if chosen or best * best < _TINY or best <= dep_tol * scale:
                status[i] = STOP_DEPENDENT
                break
            if n_active > 0:
                # Row n_active of L: solve L[:n, :n] work = G[I, lam].
                for a in range(n_active):
                    s = G[lam, idx[a]]  # G is symmetric: read along row lam
                    for b in range(a):
                        s -= L[a, b] * work[b]
                    work[a] = s * (1.0 / L[a, a])
                v = 0.0
                for a in range(n_active):
                    v += work[a] * work[a]
                lkk = G[lam, lam] - v
                if lkk <= _TINY or lkk <= dep_tol * G[lam, lam]:
                    status[i] = STOP_DEPENDENT
                    break
                for a in range(n_active):
                    L[n_active, a] = work[a]
                L[n_active, n_active] = np.sqrt(lkk)
            else:
                L[0, 0] = np.sqrt(G[lam, lam])
            idx[n_active] = lam
            s = alpha0[lam]
            for b in range(n_active):
                s -= L[n_active, b] * w[b]
            w[n_active] = s * (1.0 / L[n_active, n_active])
            n_active += 1
            # gamma = L^-T w.
            for a in range(n_active):
                gamma[a] = w[a]
            for a in range(n_active - 1, -1, -1):
                v = gamma[a] * (1.0 / L[a, a])
                gamma[a] = v
                for b in range(a):
                    gamma[b] -= L[a, b] * v
            if n_active == max_atoms:
                break  # no step follows: the correlations and the error are not needed
            # alpha = alpha0 - G[I] gamma, four rows of G per sweep.
            for j in range(K):
                alpha[j] = alpha0[j]
            a = 0
            while a < n_active:
                if a + 4 <= n_active:
                    r0, r1, r2, r3 = idx[a], idx[a + 1], idx[a + 2], idx[a + 3]
                    g0, g1, g2, g3 = gamma[a], gamma[a + 1], gamma[a + 2], gamma[a + 3]
                    for j in range(K):
                        alpha[j] -= (G[r0, j] * g0 + G[r1, j] * g1) + \
                            (G[r2, j] * g2 + G[r3, j] * g3)
                    a += 4
                else:
                    r0, g0 = idx[a], gamma[a]
                    for j in range(K):
                        alpha[j] -= G[r0, j] * g0
                    a += 1
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
        out among threads (the kernel, _omp_gram, releases the GIL).

    Notes
    -----
    The work per signal is O(n_atoms * s + s^2) for s selected atoms, plus the
    O(s^3) triangular solves.
    """
    K = cov.shape[1]
    # The work arrays come from NumPy: numba's allocation overloads cost a
    # tenth of a second each on a first compile.
    alpha = np.empty(K, dtype=G.dtype)
    alpha_bits, mask, _ = integer_view(alpha)
    m = max(int(max_atoms), 1)
    _omp_gram(G, cov, norms_sq, max_atoms, tol, dep_tol, codes, status, start, stop, alpha,
              alpha_bits, mask, np.zeros((m, m), dtype=G.dtype), np.empty(m, dtype=np.int64),
              np.empty(m, dtype=G.dtype), np.empty(m, dtype=G.dtype),
              np.empty(m, dtype=G.dtype))
