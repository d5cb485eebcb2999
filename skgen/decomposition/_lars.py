"""Least angle regression and the LARS-lasso on a precomputed Gram matrix (numba).

Efron, Hastie, Johnstone & Tibshirani (2004), "Least angle regression", Ann.
Statist. 32(2): section 2 (LAR: eqs. 2.4-2.13, the equiangular direction and the
step gamma-hat of eq. 2.13) and section 3.1 (the lasso modification: a
coefficient that would change sign leaves the active set, eq. 3.5). Everything is
expressed through G = D D^T and c = D x, so one signal costs O(n_atoms * s) per
step for s active atoms, independent of the signal dimension.

The problem solved is min_z 1/2 ||x - D^T z||^2 + alpha ||z||_1 (LARS-lasso, path
stopped at alpha) or LAR stopped after ``max_steps`` steps. The stopping rules
follow scikit-learn's ``lars_path`` so that both give the same codes: the path
stops once the largest correlation C falls within ``tol_eq`` of alpha, and is
interpolated back to C = alpha when it overshot by more than that.

No scikit-learn imports here; sparse_encode (_sparse_encode.py) validates.
"""

import numpy as np

from ..utils._numba import jit

STOP_OK = 0
STOP_DEGENERATE = 1  # an atom was skipped because it was dependent on the active set
STOP_MAX_ITER = 2
STOP_NONFINITE = 3  # the active Gram stayed singular or non-finite (overflowed input)

# bias_j of an atom outside the free set (active, or skipped as dependent on
# the active set): the masked max never picks it.
_OUT = -np.inf

_TINY32 = float(np.finfo(np.float32).tiny)
_EPS = float(np.finfo(np.float64).eps)



# Atoms per block of the search for the largest correlation's index.
_BLOCK = 16


def integer_view(x):
    """x's bits as signed integers, for the kernels' integer max.

    For finite x the integers bits(x) & mask (every bit but the sign) are
    ordered as |x|, since IEEE 754 keeps the exponent above the mantissa; a
    max over integers vectorises where numba's float max does not (256
    values: 60 ns against 150 ns). The view is made by NumPy: numba's view
    and a dtype overload cost 0.4 s of a first compile.

    Parameters
    ----------
    x : ndarray, float32 or float64

    Returns
    -------
    bits : ndarray of x's shape, int32 or int64
        A view of x (no copy).
    mask : int32 or int64
        Every bit but the sign.
    lowest : int32 or int64
        The least integer of that width.
    """
    itype = {4: np.int32, 8: np.int64}[x.dtype.itemsize]
    info = np.iinfo(itype)
    return x.view(itype), itype(info.max), itype(info.min)


def _integer_views(c, bias):
    """(c and bias viewed as integers of their width, a work array of keys of
    that type, the mask of every bit but the sign, the least integer of that
    width): the integer form of :func:`_largest_correlation`'s arguments."""
    c_bits, mask, lowest = integer_view(c)
    return c_bits, integer_view(bias)[0], np.empty(c.shape[0], c_bits.dtype), mask, lowest


@jit
def _largest_correlation(c, positive, c_bits, bias_bits, keys, mask, lowest):
    """(C, j): the largest (absolute, unless positive) c_j among free atoms.

    The lowest such j on ties; (0, -1) when no atom is free. Free atoms are
    those whose bias (see :func:`_lars_gram`) is +0.0: ``bias_bits`` is 0.
    The max runs over integer keys (``c_bits`` is c viewed as integers, from
    :func:`_integer_views`): |c_j|'s bits without the sign, or for signed
    c_j the bits with the magnitude flipped when negative, both ordered as
    the floats they encode, and ``lowest`` for atoms that are not free; an
    integer max vectorises where numba's float max does not (256 atoms: 60
    ns against 150 ns). The keys go to ``keys``, where a blocked search then
    finds the index: a branch-free test of a block, then a scan of the block
    that holds it.
    """
    K = c_bits.shape[0]
    best = lowest
    for j in range(K):
        b = c_bits[j]
        if positive:
            key = (b ^ mask) if b < 0 else b
        else:
            key = b & mask
        key = key if bias_bits[j] == 0 else lowest
        keys[j] = key
        best = key if key > best else best
    if best == lowest:
        return 0.0, -1
    for j0 in range(0, K, _BLOCK):
        j1 = min(j0 + _BLOCK, K)
        found = False
        for j in range(j0, j1):
            found |= keys[j] == best
        if found:
            for j in range(j0, j1):
                if keys[j] == best:
                    return (c[j] if positive else abs(c[j])), j
    return 0.0, -1  # not reached: best is one of the keys


@jit
def _lars_gram(G, cov, alpha_min, tol_eq, lasso, positive, max_steps, max_iter, codes,
               status, start, stop, c, prev, prev_idx, L, idx, sign, w, ls, work, corr,
               bias, c_bits, bias_bits, keys, mask, lowest):
    """LAR / LARS-lasso for signals ``start:stop`` (see :func:`lars_gram`):
    signal i's code goes to ``codes[i]``, its stop status to ``status[i]``.

    ``bias[j]`` is 0 for a free atom and -inf for one that is active or was
    skipped (dependent on the active set: never considered again). The
    correlations c_j of active atoms are never read, so they are updated
    with the rest. w = L^-1 s is kept across steps: rows ``solved:n_active``
    are solved before the direction is needed (one row when an atom joined,
    the rows from a removed one on when one left).

    One function, each part written once (the search for the largest
    correlation at the top of the loop, the forward solve in the direction's
    loop): numba compiles every jitted callee on its own and optimises it
    again inside its caller; as eight helpers, these parts cost 2 s of
    DictionaryLearning's first use, 1 s more than written here. The search
    stays a callee (:func:`_largest_correlation`): written inline, the kernel
    ran 7% slower. No fastmath: the step length's screen and the guards on a
    singular Gram rely on IEEE rounding.
    """
    K = cov.shape[1]
    margin = 8.0 * _EPS
    for i in range(start, stop):
        coef = codes[i]
        cov_i = cov[i]
        for j in range(K):
            c[j] = cov_i[j]
            coef[j] = 0.0
            bias[j] = 0.0
        n_active = np.intp(0)  # not the literal 0: numba would specialise on it
        solved = np.intp(0)
        n_prev = 0  # prev[:n_prev]: the coefficients of prev_idx before the last step
        n_iter = 0
        drop = False
        drop_pos = K
        prev_C = 0.0
        st = STOP_OK
        search = True
        C = 0.0
        C_idx = -1
        while True:
            if search:
                search = False
                C, C_idx = _largest_correlation(
                    c, positive, c_bits, bias_bits, keys, mask, lowest)
                if drop:
                    # The atom at drop_pos leaves: its coefficient crossed zero.
                    j_drop = idx[drop_pos]
                    coef[j_drop] = 0.0
                    bias[j_drop] = 0.0
                    for a in range(drop_pos, n_active - 1):
                        idx[a] = idx[a + 1]
                        sign[a] = sign[a + 1]
                    # Remove row and column drop_pos from the Cholesky factor:
                    # dropping the row leaves rows drop_pos..n-2 with one entry
                    # above the diagonal, which Givens rotations of column pairs
                    # (k, k + 1) zero, O(n^2) instead of refactoring's O(n^3)
                    # (Golub & Van Loan, "Matrix Computations", 4th ed., sec.
                    # 6.5.4; scikit-learn's lars_path downdates the same way).
                    n = n_active
                    for r in range(drop_pos, n - 1):
                        for m in range(n):
                            L[r, m] = L[r + 1, m]
                    for k in range(drop_pos, n - 1):
                        u0 = L[k, k]
                        v0 = L[k, k + 1]
                        rr = np.sqrt(u0 * u0 + v0 * v0)
                        if rr == 0.0:
                            continue
                        cos = u0 / rr
                        sin = v0 / rr
                        for r in range(k, n - 1):
                            u = L[r, k]
                            v = L[r, k + 1]
                            L[r, k] = cos * u + sin * v
                            L[r, k + 1] = cos * v - sin * u
                    for m in range(n):
                        L[n - 1, m] = 0.0
                        L[m, n - 1] = 0.0
                    n_active -= 1
                    solved = min(solved, np.intp(drop_pos))
                    # Exact correlation of the returning atom.
                    s = cov_i[j_drop]
                    for a in range(n_active):
                        s -= G[j_drop, idx[a]] * coef[idx[a]]
                    c[j_drop] = s
                    v = s if positive else abs(s)
                    # Ties go to the lower index, as in one scan over all atoms.
                    if C_idx < 0 or v > C or (v == C and j_drop < C_idx):
                        C = v
                        C_idx = j_drop
            if C_idx < 0:
                C = 0.0
            if C <= alpha_min + tol_eq:
                if abs(C - alpha_min) > tol_eq and n_iter > 0:
                    # Overshot alpha: interpolate back along the last segment.
                    ss = (prev_C - alpha_min) / (prev_C - C)
                    for a in range(n_prev):
                        j = prev_idx[a]
                        coef[j] = prev[a] + ss * (coef[j] - prev[a])
                break
            if n_iter >= max_iter:
                st = STOP_MAX_ITER
                break
            if n_iter >= max_steps or n_active >= K:
                break
            if not drop:
                sg = 1.0 if (positive or c[C_idx] > 0) else (-1.0 if c[C_idx] < 0 else 0.0)
                # Row n_active of the Cholesky factor of G[I + j, I + j].
                for a in range(n_active):
                    t = G[C_idx, idx[a]]  # G is symmetric: read along row C_idx
                    for b in range(a):
                        t -= L[a, b] * work[b]
                    work[a] = t * (1.0 / L[a, a])
                v = 0.0
                for a in range(n_active):
                    v += work[a] * work[a]
                    L[n_active, a] = work[a]
                diag = max(np.sqrt(abs(G[C_idx, C_idx] - v)), _EPS)
                L[n_active, n_active] = diag
                if diag < 1e-7:
                    bias[C_idx] = _OUT
                    st = STOP_DEGENERATE
                    search = True
                    continue
                idx[n_active] = C_idx
                sign[n_active] = sg
                bias[C_idx] = _OUT
                n_active += 1
            if lasso and n_iter > 0 and prev_C < C:
                # Residual correlations no longer decrease: alpha is not controlled.
                break
            # Equiangular direction: ls = AA (G_AA)^-1 s, AA = (s^T G_AA^-1 s)^-1/2,
            # from w = L^-1 s (rows solved:n_active solved now) and ls = L^-T w.
            tries = 0
            while True:
                for a in range(solved, n_active):
                    t = sign[a]
                    for b in range(a):
                        t -= L[a, b] * w[b]
                    # The reciprocal does not wait on the row's sum.
                    w[a] = t * (1.0 / L[a, a])
                solved = n_active
                # Column by column of L^T (rows of L): contiguous reads.
                for a in range(n_active):
                    ls[a] = w[a]
                for a in range(n_active - 1, -1, -1):
                    v = ls[a] * (1.0 / L[a, a])
                    ls[a] = v
                    for b in range(a):
                        ls[b] -= L[a, b] * v
                tot = 0.0
                for a in range(n_active):
                    tot += ls[a] * sign[a]
                if tries == 0:
                    if n_active == 1 and ls[0] == 0.0:
                        ls[0] = 1.0
                        AA = 1.0
                        break
                    AA = 1.0 / np.sqrt(tot) if tot > 0 else np.inf
                else:
                    AA = 1.0 / np.sqrt(max(tot, _EPS))
                # Bounded: NaN in the Gram (overflowed input) never becomes finite.
                if np.isfinite(AA) or tries >= 64:
                    break
                # Numerically singular active Gram: regularise its factor.
                for a in range(n_active):
                    L[a, a] += (2.0 ** tries) * _EPS
                solved = 0
                tries += 1
            if not np.isfinite(AA):
                st = STOP_NONFINITE
                break
            for a in range(n_active):
                ls[a] *= AA
            # corr[j] = G[j, A] ls for every atom (eq. 2.11, a = X^T u), four
            # rows of G per sweep over corr: a quarter of its loads and stores.
            for j in range(K):
                corr[j] = 0.0
            a = n_active % 4
            for b in range(a):
                row = idx[b]
                wb = ls[b]
                for j in range(K):
                    corr[j] += G[row, j] * wb
            while a < n_active:
                r0 = idx[a]
                r1 = idx[a + 1]
                r2 = idx[a + 2]
                r3 = idx[a + 3]
                w0 = ls[a]
                w1 = ls[a + 1]
                w2 = ls[a + 2]
                w3 = ls[a + 3]
                for j in range(K):
                    corr[j] += ((G[r0, j] * w0 + G[r1, j] * w1)
                                + (G[r2, j] * w2 + G[r3, j] * w3))
                a += 4
            # gamma-hat of eq. 2.13: the least positive (C -+ c_j) / (AA -+ corr_j)
            # over the free atoms, where C >= |c_j| makes every numerator >= 0: a
            # candidate below gamma has a positive denominator, so num < gamma *
            # den alone tests it, and the division is done only for a new
            # minimum. The two tests of an atom are one, screened first: with u =
            # c_j - gamma corr_j, (C - c_j) < gamma (AA - corr_j) is u > C - gamma
            # AA and (C + c_j) < gamma (AA + corr_j) is u < -(C - gamma AA) (the
            # tiny32 terms aside), so an atom can only pass when |u| > C - gamma
            # AA. The screen's threshold is lowered by a bound on the rounding of
            # both forms (8 eps (2C + gamma (AA + |corr_j|))), so it never drops
            # an atom that the exact tests, which still decide, would take.
            # The threshold is recomputed after each atom that passes the screen
            # (few do), not tested for staleness on every atom (1% of the kernel).
            gamma = C / AA
            thr = C - gamma * (AA + _TINY32) - margin * (2.0 * C + gamma * AA)
            slope = margin * gamma
            # Every atom through the screen at the first gamma at once, branch-free
            # (vectorised), into flags in ``keys`` (free until the next search):
            # an atom whose ratio beats a later, smaller gamma beats this one too,
            # so the flags hold every atom the loop below could take.
            for j in range(K):
                u = c[j] - gamma * corr[j]
                if not positive:
                    u = abs(u)
                keys[j] = (bias[j] == 0.0) & (u + slope * abs(corr[j]) > thr)
            for j in range(K):
                if keys[j] == 0:
                    continue
                u = c[j] - gamma * corr[j]
                if not positive:
                    u = abs(u)
                if u + slope * abs(corr[j]) <= thr:
                    continue
                num = C - c[j]
                den = AA - corr[j] + _TINY32
                if num < gamma * den:
                    g = num / den
                    if g > 0 and g < gamma:
                        gamma = g
                if not positive:
                    num = C + c[j]
                    den = AA + corr[j] + _TINY32
                    if num < gamma * den:
                        g = num / den
                        if g > 0 and g < gamma:
                            gamma = g
                thr = C - gamma * (AA + _TINY32) - margin * (2.0 * C + gamma * AA)
                slope = margin * gamma
            drop = False
            # Not the literal -1 (numba would specialise on it).
            drop_pos = K
            if lasso:
                z_min = np.inf
                for a in range(n_active):
                    z = -coef[idx[a]] / (ls[a] + _TINY32)
                    if z > 0 and z < z_min:
                        z_min = z
                        drop_pos = a
                if z_min < gamma:
                    gamma = z_min
                    drop = True
            n_iter += 1
            prev_C = C
            n_prev = n_active
            for a in range(n_active):
                j = idx[a]
                prev_idx[a] = j
                prev[a] = coef[j]
                coef[j] += gamma * ls[a]
            for j in range(K):
                c[j] -= gamma * corr[j]
            search = True
        status[i] = st


def lars_gram(G, cov, alpha, tol_eq, lasso, positive, max_steps, max_iter, codes,
                status, start, stop):
    """LAR or LARS-lasso codes of signals ``start:stop``, in the calling thread.

    Parameters
    ----------
    G : ndarray of shape (n_atoms, n_atoms)
        Gram matrix D D^T, C order.
    cov : ndarray of shape (n_samples, n_atoms)
        Correlations X D^T, C order.
    alpha : float
        Lasso penalty of 1/2 ||x - D^T z||^2 + alpha ||z||_1 (0 for LAR).
    tol_eq : float
        Tolerance on C = alpha below which the path stops without interpolating.
    lasso : bool
        True: LARS-lasso (atoms leave when their coefficient crosses zero);
        False: LAR.
    positive : bool
        Constrain the codes to be non-negative (lasso only).
    max_steps : int
        LAR steps (atoms added); for the lasso, at least ``max_iter`` (the path
        also removes atoms, so it may take more than n_atoms steps).
    max_iter : int
        Most steps (additions plus removals) per signal.
    codes : ndarray of shape (n_samples, n_atoms)
        Output, overwritten.
    status : ndarray of shape (n_samples,), int8
        Output: 0; 1 if an atom was skipped as dependent on the active set; 2 if
        ``max_iter`` stopped the path before alpha was reached.
    start, stop : int
        The signals (rows of ``cov``) to code; the work arrays are allocated
        once for them. ``utils._numba.run_in_blocks`` shares blocks of rows
        out among threads (the kernel, _lars_gram, releases the GIL).
    """
    K = cov.shape[1]
    m = min(K, max(max_steps, 1))
    dtype = G.dtype
    # The work arrays come from NumPy: numba's allocation overloads cost a
    # tenth of a second each on a first compile.
    c, bias = np.empty(K, dtype), np.empty(K, dtype)
    _lars_gram(G, cov, alpha, tol_eq, lasso, positive, max_steps, max_iter, codes, status,
               start, stop, c, np.empty(m, dtype), np.empty(m, np.int64),
               np.zeros((m, m), dtype), np.empty(m, np.int64), np.empty(m, dtype),
               np.empty(m, dtype), np.empty(m, dtype), np.empty(m, dtype),
               np.empty(K, dtype), bias, *_integer_views(c, bias))
