"""The passes of EM over the data: functions of (rows, sample weights).

Each function here reads a block of checked rows and returns small results (a
log-likelihood sum, sufficient statistics, k-means sums) that merge pairwise,
so that a row source (:mod:`skgen.utils._rows`) runs it on all rows at once,
on row blocks in threads, or on the chunks of a dask array as a tree of tasks.

Reference: Dempster, Laird & Rubin (1977); Bishop (2006), *Pattern Recognition
and Machine Learning*, section 9.2 (responsibilities, eq. 9.23) and 9.1 (Lloyd).
"""

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import pairwise_distances_argmin

from ..utils import Moments, block_moments
from ..utils._csr import csr_label_sums, csr_nearest, gather_row, scatter_row
from ..utils._rows import add_pairs, observed_sums  # noqa: F401 (passes of EM)
from ..utils._numba import jit

@jit
def _normalize_row(row, tiny):
    """In place: log p(x, k) becomes p(k | x); returns log p(x). No fastmath,
    since rows of -inf (impossible under every component) need their guard."""
    n_components = row.shape[0]
    peak = -np.inf
    for k in range(n_components):
        if row[k] > peak:
            peak = row[k]
    if not np.isfinite(peak):
        peak = 0.0
    total = 0.0
    for k in range(n_components):
        value = np.exp(row[k] - peak)
        row[k] = value
        total += value
    if total == 0.0:
        # Impossible under every component: log p(x) = -inf, uniform responsibilities.
        for k in range(n_components):
            row[k] = 1.0 / n_components
        return -np.inf
    inv = 1.0 / total
    for k in range(n_components):
        value = row[k] * inv
        # Subnormal responsibilities (common in float32 with many features)
        # make the M-step's matrix products many times slower; they carry
        # less than 1e-38 of the mass.
        row[k] = value if value >= tiny else 0.0
    return np.log(total) + peak


@jit
def _normalize_rows(weighted_log_prob, log_prob_norm, tiny):
    """In place: row i of log p(x_i, k) becomes p(k | x_i); log p(x_i) goes to
    ``log_prob_norm[i]``. One pass per row, no temporaries."""
    for i in range(weighted_log_prob.shape[0]):
        log_prob_norm[i] = _normalize_row(weighted_log_prob[i], tiny)


@jit
def _linear_csr_pass(indptr, indices, data, W, W_missing, base, weights, tiny, drop_below,
                     ones_only, nk, counts, missing, counts_t, missing_t, active):
    """One EM pass over CSR rows of a mixture whose log p(x | k) is linear in x.

    Row i: log p(x_i, k) = base[k] + sum_j x_ij W[j, k] - sum_(j missing)
    W_missing[j, k], normalised to responsibilities r_ik (``_normalize_row``),
    then, weighted by w_i, added to nk[k], to counts[j, k] (x_ij r_ik, for the
    observed entries) and to missing[j, k] (r_ik, where x_ij is NaN), leaving
    out the w_i r_ik <= ``drop_below``. A row with at most K/4 components
    above it adds theirs only, one scalar add per entry and component, to the
    transposed sums ``counts_t`` and ``missing_t`` (``active``: a work array
    of K indices); the others add all K with :func:`scatter_row`.
    ``ones_only``: every stored value is 1, ``data`` is not read. Returns
    (sum_i w_i log p(x_i) over positive weights, sum_i w_i, whether any NaN).
    The row's indices are read twice while in cache; nothing of size
    n_samples is written. The rows' ones-only loops are written here, not as
    jitted helpers: as helpers they cost 1 s more of the first compile.
    """
    K = W.shape[1]
    row = np.empty(K, dtype=W.dtype)
    log_likelihood = 0.0
    total = 0.0
    any_missing = False
    for i in range(weights.shape[0]):
        for k in range(K):
            row[k] = base[k]
        lo, hi = indptr[i], indptr[i + 1]
        if ones_only:
            for p in range(lo, hi):
                j = indices[p]
                for k in range(K):
                    row[k] += W[j, k]
        else:
            any_missing |= gather_row(row, indices, data, lo, hi, W, W_missing)
        log_norm = _normalize_row(row, tiny)
        w = weights[i]
        total += w
        if w > 0:
            log_likelihood += w * log_norm
        n_active = 0
        for k in range(K):
            v = row[k] * w
            nk[k] += v
            kept = v > drop_below
            row[k] = v if kept else 0.0
            active[n_active] = k
            n_active += kept
        if 4 * n_active > K:
            if ones_only:
                for p in range(lo, hi):
                    j = indices[p]
                    for k in range(K):
                        counts[j, k] += row[k]
            else:
                scatter_row(counts, missing, indices, data, lo, hi, row)
            continue
        # A row sure of a few components (EM's responsibilities on binarized
        # MNIST: 2-3 of 20 above 1e-22): theirs only.
        for a in range(n_active):
            k = active[a]
            v = row[k]
            out_k = counts_t[k]
            for p in range(lo, hi):
                j = indices[p]
                x = 1.0 if ones_only else data[p]
                if x == 1.0:
                    out_k[j] += v
                elif x != x:
                    missing_t[k, j] += v
                else:
                    out_k[j] += x * v
    return log_likelihood, total, any_missing


def linear_csr_pass(X, W, W_missing, base, weights, drop_below=0.0, ones_only=False):
    """:func:`_linear_csr_pass` on CSR rows X, with float64 sums.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
        Stored NaN are missing entries.
    W, W_missing : ndarray of shape (n_features, n_components)
        What an observed x_ij adds (times x_ij) to log p(x_i, k), and what a
        missing one takes away, in nats.
    base : ndarray of shape (n_components,)
        log p(x_i, k) of a row of zeros, in nats.
    weights : ndarray of shape (n_samples,) or None
    drop_below : float, default=0.0
        Weighted responsibilities w_i r_ik at or below it are left out of
        ``counts`` and ``missing`` (not of ``nk``): at most n_samples *
        drop_below of each sum. 0 leaves out exact zeros only.
    ones_only : bool, default=False
        Every stored value of X is 1 (no NaN): only the indices are read
        (binarized MNIST: one thread's pass 25 -> 21 ms).

    Returns
    -------
    log_likelihood : float
        sum_i w_i log p(x_i) in nats (rows of zero weight left out).
    total : float
        sum_i w_i.
    nk : ndarray of shape (n_components,), float64
    counts : ndarray of shape (n_features, n_components), float64
    missing : ndarray of shape (n_features, n_components), float64, or None
        None when X has no NaN.
    """
    dtype = W.dtype
    n_features, K = W.shape
    nk = np.zeros(K)
    counts = np.zeros((n_features, K))
    missing = np.zeros((n_features, K))
    counts_t = np.zeros((K, n_features))
    missing_t = np.zeros((K, n_features))
    weights = np.ones(X.shape[0]) if weights is None else np.asarray(weights, np.float64)
    log_likelihood, total, any_missing = _linear_csr_pass(
        X.indptr, X.indices, X.data, np.ascontiguousarray(W),
        np.ascontiguousarray(W_missing, dtype=dtype), np.asarray(base, dtype=dtype), weights,
        dtype.type(np.finfo(dtype).tiny), float(drop_below), bool(ones_only), nk, counts,
        missing, counts_t, missing_t, np.empty(K, np.intp))
    counts += counts_t.T
    missing += missing_t.T
    return log_likelihood, total, nk, counts, (missing if any_missing else None)


# Reassociation and contraction only (no NaN/inf assumptions: a NaN in a row
# must reach the caller's test): lets LLVM vectorise the sums over features.
_SUM_FASTMATH = {"reassoc", "contract"}


# Rows per tile of the diagonal pass: each component's mean and precisions are
# read once per tile of rows, not once per row (they come from L2; the rows
# stay in L1).
_TILE = 4


@jit(fastmath=_SUM_FASTMATH)
def _tile_distances(x0, x1, x2, x3, mean, precision, out):
    """out[t] = sum_j precision_j (x_tj - mean_j)^2 for the tile's four rows, in float64."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    for j in range(mean.shape[0]):
        m = mean[j]
        p = precision[j]
        d0 = np.float64(x0[j]) - m
        d1 = np.float64(x1[j]) - m
        d2 = np.float64(x2[j]) - m
        d3 = np.float64(x3[j]) - m
        a0 += p * d0 * d0
        a1 += p * d1 * d1
        a2 += p * d2 * d2
        a3 += p * d3 * d3
    out[0] = a0
    out[1] = a1
    out[2] = a2
    out[3] = a3


@jit(fastmath=_SUM_FASTMATH)
def _tile_deviations(x0, x1, x2, x3, mean, r0, r1, r2, r3, first, second):
    """first += sum_t r_t (x_t - mean); second += sum_t r_t (x_t - mean)^2."""
    for j in range(mean.shape[0]):
        m = mean[j]
        d0 = np.float64(x0[j]) - m
        d1 = np.float64(x1[j]) - m
        d2 = np.float64(x2[j]) - m
        d3 = np.float64(x3[j]) - m
        e0 = r0 * d0
        e1 = r1 * d1
        e2 = r2 * d2
        e3 = r3 * d3
        first[j] += (e0 + e1) + (e2 + e3)
        second[j] += (e0 * d0 + e1 * d1) + (e2 * d2 + e3 * d3)


@jit
def _diagonal_pass(X, means, precisions, log_const, weights, tiny, nk, first, second, resp,
                   distances):
    """One EM pass over dense rows of a Gaussian mixture with diagonal covariances.

    Row i: log p(x_i, k) = log_const[k] - 1/2 sum_j P_kj (x_ij - mu_kj)^2,
    normalised to responsibilities r_ik (``_normalize_row``); then, weighted by
    w_i, r_ik goes to nk[k] and r_ik (x_i - mu_k) and r_ik (x_i - mu_k)^2 to
    first[k] and second[k]: the moments about the current means, from which
    the new means and the scatter about them follow with a cancellation of
    the order of the means' move only (the shifted-data algorithm; Chan,
    Golub & LeVeque 1983, "Algorithms for computing the sample variance",
    section 3). Rows go in tiles of four (the last tile repeats its last row
    at zero weight). Returns (sum_i w_i log p(x_i) over positive weights,
    sum_i w_i, the first row of a tile with a NaN, or -1); a NaN stops the
    pass (the caller takes the missing-value path). ``resp`` (_TILE, K) and
    ``distances`` (_TILE,) are work arrays.
    """
    n = X.shape[0]
    K = means.shape[0]
    log_likelihood = 0.0
    total = 0.0
    for i in range(0, n, _TILE):
        last = min(i + _TILE, n) - 1
        x0 = X[i]
        x1 = X[min(i + 1, last)]
        x2 = X[min(i + 2, last)]
        x3 = X[min(i + 3, last)]
        for k in range(K):
            _tile_distances(x0, x1, x2, x3, means[k], precisions[k], distances)
            for t in range(_TILE):
                if distances[t] != distances[t]:
                    return log_likelihood, total, i
                resp[t, k] = log_const[k] - 0.5 * distances[t]
        for t in range(_TILE):
            row = resp[t]
            w = weights[i + t] if i + t <= last else 0.0
            log_norm = _normalize_row(row, tiny)
            total += w
            if w > 0:
                log_likelihood += w * log_norm
            for k in range(K):
                row[k] *= w
                nk[k] += row[k]
        for k in range(K):
            # Most rows are certain of their component: r_ik underflows to 0
            # for the others, which then add nothing.
            r0, r1, r2, r3 = resp[0, k], resp[1, k], resp[2, k], resp[3, k]
            if r0 != 0.0 or r1 != 0.0 or r2 != 0.0 or r3 != 0.0:
                _tile_deviations(x0, x1, x2, x3, means[k], r0, r1, r2, r3, first[k],
                                 second[k])
    return log_likelihood, total, -1


def diagonal_pass(X, means, precisions, log_const, weights):
    """:func:`_diagonal_pass` on dense rows X: the E-step and the diagonal
    moments of one EM pass, accumulated in float64.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, C order
    means : ndarray of shape (n_components, n_features)
    precisions : ndarray of shape (n_components, n_features)
        Inverse variances (a spherical mixture's broadcast over the features).
    log_const : ndarray of shape (n_components,)
        log pi_k + 1/2 sum_j log P_kj - n_features/2 log(2 pi), in nats.
    weights : ndarray of shape (n_samples,) or None

    Returns
    -------
    log_likelihood : float
        sum_i w_i log p(x_i) in nats (rows of zero weight left out).
    total : float
        sum_i w_i.
    moments : Moments of kind 'diag', in X's dtype, or None
        Weights, means and scatter about them of each component. None when X
        has a NaN (missing entries): nothing is computed then.
    """
    dtype = X.dtype
    K, d = means.shape
    nk = np.zeros(K)
    first = np.zeros((K, d))
    second = np.zeros((K, d))
    means = np.ascontiguousarray(means, dtype=np.float64)
    weights = np.ones(X.shape[0]) if weights is None else np.asarray(weights, np.float64)
    log_likelihood, total, nan_row = _diagonal_pass(
        np.ascontiguousarray(X), means, np.ascontiguousarray(precisions, dtype=np.float64),
        np.asarray(log_const, dtype=np.float64), weights, np.finfo(np.float64).tiny, nk,
        first, second, np.empty((_TILE, K)), np.empty(_TILE))
    if nan_row >= 0:
        return log_likelihood, total, None
    safe = np.where(nk > 0, nk, 1.0)[:, np.newaxis]
    shift = first / safe
    # sum_i r_ik (x_i - m_k)^2 = second - nk shift^2 about the new mean m_k.
    scatter = np.maximum(second - first * shift, 0.0)
    mean = np.where(nk[:, np.newaxis] > 0, means + shift, 0.0)
    return log_likelihood, total, Moments(nk.astype(dtype), mean.astype(dtype),
                                          scatter.astype(dtype), "diag")


def normalize_log_prob(weighted_log_prob):
    """Turn log p(x, k) into responsibilities in place.

    Parameters
    ----------
    weighted_log_prob : ndarray of shape (n_samples, n_components), C-contiguous
        log p(x_i, z_i = k) in nats; overwritten by the responsibilities
        p(z_i = k | x_i).

    Returns
    -------
    log_prob_norm : ndarray of shape (n_samples,)
        log p(x_i) = logsumexp_k log p(x_i, k), in nats (-inf where every
        component gives probability 0).
    """
    dtype = weighted_log_prob.dtype
    log_prob_norm = np.empty(weighted_log_prob.shape[0], dtype=dtype)
    _normalize_rows(weighted_log_prob, log_prob_norm, dtype.type(np.finfo(dtype).tiny))
    return log_prob_norm


class PassResult(NamedTuple):
    """What one E-step pass returns: sum_i w_i log p(x_i) (nats), sum_i w_i, statistics."""

    log_likelihood: float
    total_weight: float
    statistics: object


def _weighted_log_likelihood(log_prob_norm, weights):
    """sum_i w_i log p(x_i) in float64, and sum_i w_i; zero weights drop -inf rows."""
    if weights is None:
        return float(np.sum(log_prob_norm, dtype=np.float64)), float(log_prob_norm.shape[0])
    terms = np.where(weights > 0, weights * log_prob_norm.astype(np.float64), 0.0)
    return float(terms.sum()), float(np.sum(weights))


class PassContext(NamedTuple):
    """What a block of an EM pass knows of the whole pass: its number of rows
    (``n_samples``) and whether every stored value of its CSR rows is 1
    (``ones_only``, :attr:`skgen.utils._rows.RowSource.ones_only`)."""

    n_samples: int
    ones_only: bool


def em_pass(model, context, X, weights):
    """E-step on rows X, a block of the pass of ``context`` (a PassContext),
    and the statistics of their weighted responsibilities, in blocks of
    ``model._pass_block_rows(X)`` rows merged in order."""
    step = model._pass_block_rows(X)
    if step >= X.shape[0]:
        return _em_block(model, context, X, weights)
    result = None
    for start in range(0, X.shape[0], step):
        rows = slice(start, start + step)
        part = _em_block(model, context, X[rows],
                         None if weights is None else weights[rows])
        result = part if result is None else merge_passes(model._merge_statistics, result,
                                                          part)
    return result


def _em_block(model, context, X, weights):
    fused = model._one_pass(X, weights, context)
    if fused is not None:
        return fused
    resp, statistics = model._pass_log_prob(X)
    log_prob_norm = normalize_log_prob(resp)
    log_likelihood, total = _weighted_log_likelihood(log_prob_norm, weights)
    if weights is not None:
        resp *= weights.astype(resp.dtype, copy=False)[:, np.newaxis]
    return PassResult(log_likelihood, total, statistics(resp))


def score_pass(model, X, weights):
    """sum_i w_i log p(x_i) (nats) and sum_i w_i."""
    log_prob_norm = normalize_log_prob(model._estimate_weighted_log_prob(X))
    return _weighted_log_likelihood(log_prob_norm, weights)


def fill_for_start(X, fill):
    """X with its NaN replaced by ``fill`` (per column), for the starts of EM,
    which have no parameters to condition on; X itself without NaN or fill."""
    values = X.data if sp.issparse(X) else X
    if fill is None or not np.isnan(values).any():
        return X
    if sp.issparse(X):
        X = X.copy()
        missing = np.isnan(X.data)
        X.data[missing] = np.asarray(fill, X.dtype)[X.indices[missing]]
        return X
    return np.where(np.isnan(X), np.asarray(fill, X.dtype), X)


def merge_passes(merge_statistics, a, b):
    return PassResult(
        a.log_likelihood + b.log_likelihood,
        a.total_weight + b.total_weight,
        merge_statistics(a.statistics, b.statistics),
    )


def one_hot(labels, n_components, dtype, weights):
    resp = np.zeros((labels.shape[0], n_components), dtype=dtype)
    resp[np.arange(labels.shape[0]), labels] = 1 if weights is None else weights
    return resp


def _nearest(X, centers):
    """Index of each row's nearest centre (CSR rows by their stored entries)."""
    if sp.issparse(X):
        return csr_nearest(X, centers)
    return pairwise_distances_argmin(X, centers.astype(X.dtype, copy=False))


def nearest_statistics(model, centers, X, weights):
    """Statistics of hard responsibilities: each row to its nearest centre."""
    X = model._start_rows(X)
    return model._label_statistics(X, _nearest(X, centers), weights)


def lloyd_pass(model, centers, X, weights):
    """One Lloyd step's sums: weighted means of the rows nearest each centre."""
    X = model._start_rows(X)
    labels = _nearest(X, centers)
    if sp.issparse(X):
        sums, weight = csr_label_sums(X, labels, centers.shape[0], weights)
        mean = sums / np.where(weight > 0, weight, 1)[:, np.newaxis]
        return Moments(weight, mean, None, "mean")
    resp = one_hot(labels, centers.shape[0], np.float64, weights)
    return block_moments(X.astype(np.float64), resp, "mean")


def random_statistics(model, seeds, index, X, weights):
    """Statistics of uniform random responsibilities, block ``index`` drawn
    from its own seed (a reduction with ``indexed=True``)."""
    X = model._start_rows(X)
    rng = np.random.RandomState(seeds[index])
    resp = rng.uniform(size=(X.shape[0], model.n_components)).astype(X.dtype)
    resp /= resp.sum(axis=1, keepdims=True)
    if weights is not None:
        resp *= weights.astype(X.dtype)[:, np.newaxis]
    return model._statistics(X, resp)
