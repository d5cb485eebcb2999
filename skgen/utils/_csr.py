"""Row kernels on CSR matrices: binary data held as the indices of its ones.

Binarised images and bag-of-words rows are mostly zeros (binarized MNIST: 13%
ones). Held as CSR, a product with a (n_features, K) matrix adds, for each
stored entry, one row of K numbers: ~2 M entries x K = 20 adds on 20,000 MNIST
images, against two 314 M multiply-add GEMMs for the dense rows. The kernels
here are serial ``nogil`` functions of a row range, threaded by the row
source's blocks (:meth:`skgen.utils._rows.ArrayRows.reduce`); stored NaN are
missing entries, as everywhere in skgen.

References: Saad (2003), *Iterative Methods for Sparse Linear Systems*,
section 3.4 (CSR products); Bishop (2006), section 9.3.3 (Bernoulli mixtures).
"""

import numpy as np
import scipy.sparse as sp

from ._numba import jit, resolve_n_threads, run_in_blocks
from ._validation import check_binary

__all__ = ["dense_to_csr", "csr_product", "csr_transposed_product", "csr_label_sums",
           "csr_nearest", "gather_row", "scatter_row", "DENSE_THRESHOLD_DENSITY",
           "CSR_MIN_ENTRIES"]

# Fraction of stored entries above which binary rows stay dense: the measured
# crossover of these kernels against the two BLAS products of an EM pass
# (10000 x 784, K=20, one thread: E+M 3.8 vs 22 ms dense at 5% ones, 7.2 vs
# 22.7 at 13%, 21.1 vs 22.2 at 35%, 35 vs 24 at 50%).
DENSE_THRESHOLD_DENSITY = 0.35

# Entries below which rows stay dense whatever their density: there the dense
# products of a pass take microseconds, and the CSR kernels' first compile
# (4.7 s of a first fit on the digits, measured on the slow day of
# benchmarks/head_to_head_ab.md) would be most of the fit.
CSR_MIN_ENTRIES = 2**18

# Rows per thread of the conversion below which it runs on one thread.
_THREAD_ROWS = 4096


@jit
def _count_stored(X, threshold, exact, counts, start, stop):
    """Per row, entries above ``threshold`` or NaN; with ``exact``, ones and
    NaN, and the number of entries neither 0 nor 1 nor NaN is returned."""
    # Branch-free (vectorised): on 13% ones the branches mispredicted, 7.9
    # against 3.6 ms for 20,000 MNIST rows.
    bad = 0
    for i in range(start, stop):
        row = X[i]
        c = 0
        if exact:
            for j in range(row.shape[0]):
                v = row[j]
                stored = (v == 1.0) | (v != v)
                c += stored
                bad += (v != 0.0) & ~stored
        else:
            for j in range(row.shape[0]):
                v = row[j]
                c += (v > threshold) | (v != v)
        counts[i + 1] = c
    return bad


@jit
def _fill_stored(X, threshold, exact, indptr, indices, data, start, stop):
    for i in range(start, stop):
        row = X[i]
        p = indptr[i]
        for j in range(row.shape[0]):
            v = row[j]
            if v != v:
                indices[p] = j
                data[p] = np.nan
                p += 1
            elif (exact and v == 1.0) or (not exact and v > threshold):
                indices[p] = j
                data[p] = 1.0
                p += 1


def dense_to_csr(X, threshold=0.0, exact=False, max_density=None, min_entries=None,
                 n_jobs=None):
    """Binary CSR of dense X: ones where X > ``threshold`` (or X == 1 with
    ``exact``), NaN kept as stored NaN; in two reads of X.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64
        Validated rows (no infinity).
    threshold : float, default=0.0
        Entries above it become 1, the others 0 (not stored).
    exact : bool, default=False
        X must already be binary: 1 becomes a stored one, 0 is dropped, any
        other finite value is an error.
    max_density : float or None, default=None
        Return None (keep X dense) when more than this fraction of the
        entries would be stored (None: :data:`DENSE_THRESHOLD_DENSITY`).
    min_entries : int or None, default=None
        Return None without reading X when it has fewer entries than this
        (None: :data:`CSR_MIN_ENTRIES`).
    n_jobs : int or None, default=None
        Threads, as :func:`skgen.utils._numba.resolve_n_threads`.

    Returns
    -------
    csr : scipy.sparse.csr_matrix of shape (n_samples, n_features) or None
        Stored values 1 (in X's dtype) or NaN; int32 indices where they fit.
        None when X stays dense (too small or too dense); X is then not
        checked.

    Raises
    ------
    ValueError
        With ``exact``, when X has a value other than 0, 1 and NaN
        (:func:`skgen.utils.check_binary`'s message).
    """
    X = np.ascontiguousarray(X)
    n, d = X.shape
    if n * d < (CSR_MIN_ENTRIES if min_entries is None else min_entries):
        return None
    n_threads = max(1, min(resolve_n_threads(n_jobs), n // _THREAD_ROWS))
    counts = np.zeros(n + 1, dtype=np.int64)
    bad = sum(run_in_blocks(_count_stored, n, n_threads, X, X.dtype.type(threshold), exact,
                            counts, blocks_per_thread=1))
    if bad:
        check_binary(X, allow_nan=True)
    indptr = np.cumsum(counts)
    nnz = int(indptr[-1])
    if nnz > (DENSE_THRESHOLD_DENSITY if max_density is None else max_density) * n * d:
        return None
    index_dtype = np.int32 if max(nnz, d) < np.iinfo(np.int32).max else np.int64
    indptr = indptr.astype(index_dtype)
    indices = np.empty(nnz, dtype=index_dtype)
    data = np.empty(nnz, dtype=X.dtype)
    run_in_blocks(_fill_stored, n, n_threads, X, X.dtype.type(threshold), exact, indptr,
                  indices, data, blocks_per_thread=1)
    return sp.csr_matrix((data, indices, indptr), shape=(n, d))


@jit
def gather_row(row, indices, data, lo, hi, W, W_missing):
    """row += sum_p data[p] W[indices[p]] over entries ``lo:hi`` of one CSR
    row, or -= W_missing[indices[p]] where data[p] is NaN (a missing entry);
    returns whether any was missing. The E-step of one row."""
    K = W.shape[1]
    any_missing = False
    for p in range(lo, hi):
        v = data[p]
        j = indices[p]
        if v != v:
            any_missing = True
            for k in range(K):
                row[k] -= W_missing[j, k]
        elif v == 1.0:
            for k in range(K):
                row[k] += W[j, k]
        else:
            for k in range(K):
                row[k] += v * W[j, k]
    return any_missing


@jit
def scatter_row(out, missing, indices, data, lo, hi, r):
    """out[indices[p]] += data[p] r over entries ``lo:hi`` of one CSR row, or
    missing[indices[p]] += r where data[p] is NaN; returns whether any was
    missing. The M-step of one row."""
    K = r.shape[0]
    any_missing = False
    for p in range(lo, hi):
        v = data[p]
        j = indices[p]
        if v != v:
            any_missing = True
            for k in range(K):
                missing[j, k] += r[k]
        elif v == 1.0:
            for k in range(K):
                out[j, k] += r[k]
        else:
            for k in range(K):
                out[j, k] += v * r[k]
    return any_missing


@jit
def _product(indptr, indices, data, W, W_missing, out):
    for i in range(out.shape[0]):
        gather_row(out[i], indices, data, indptr[i], indptr[i + 1], W, W_missing)


def csr_product(X, W, W_missing=None, out=None):
    """X @ W for CSR X, with ``-W_missing[j]`` for a missing (NaN) entry x_ij.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
    W : ndarray of shape (n_features, K)
    W_missing : ndarray of shape (n_features, K) or None, default=None
        What a missing entry takes away (None: nothing, as if it were 0).
    out : ndarray of shape (n_samples, K) or None, default=None
        Added to in place (None: zeros of W's dtype).

    Returns
    -------
    out : ndarray of shape (n_samples, K)
    """
    W = np.ascontiguousarray(W)
    if out is None:
        out = np.zeros((X.shape[0], W.shape[1]), dtype=W.dtype)
    W_missing = np.zeros_like(W) if W_missing is None else \
        np.ascontiguousarray(W_missing, dtype=W.dtype)
    _product(X.indptr, X.indices, X.data, W, W_missing, out)
    return out


@jit
def _transposed_product(indptr, indices, data, R, out, missing):
    any_missing = False
    for i in range(R.shape[0]):
        any_missing |= scatter_row(out, missing, indices, data, indptr[i], indptr[i + 1], R[i])
    return any_missing


def csr_transposed_product(X, R):
    """X.T @ R for CSR X, accumulated in float64, and the same sum over the
    missing (NaN) entries apart.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
    R : ndarray of shape (n_samples, K)

    Returns
    -------
    product : ndarray of shape (n_features, K), float64
        sum_i x_ij R[i, k] over the observed entries.
    missing : ndarray of shape (n_features, K), float64, or None
        sum_i R[i, k] over the rows i where x_ij is missing (None: no NaN).
    """
    R = np.ascontiguousarray(R)
    out = np.zeros((X.shape[1], R.shape[1]))
    missing = np.zeros_like(out)
    any_missing = _transposed_product(X.indptr, X.indices, X.data, R, out, missing)
    return out, (missing if any_missing else None)


@jit
def _label_sums(indptr, indices, data, labels, weights, sums, totals):
    for i in range(labels.shape[0]):
        k = labels[i]
        w = weights[i]
        totals[k] += w
        row = sums[k]
        for p in range(indptr[i], indptr[i + 1]):
            row[indices[p]] += w * data[p]


def csr_label_sums(X, labels, n_labels, weights=None):
    """Weighted sums of the rows of CSR X with each label (Lloyd's update).

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features), no NaN
    labels : ndarray of shape (n_samples,), integers in [0, n_labels)
    n_labels : int
    weights : ndarray of shape (n_samples,) or None, default=None

    Returns
    -------
    sums : ndarray of shape (n_labels, n_features), float64
    totals : ndarray of shape (n_labels,), float64
        The weight of each label's rows.
    """
    weights = np.ones(X.shape[0]) if weights is None else np.asarray(weights, np.float64)
    sums = np.zeros((n_labels, X.shape[1]))
    totals = np.zeros(n_labels)
    _label_sums(X.indptr, X.indices, X.data, np.asarray(labels, np.int64), weights, sums,
                totals)
    return sums, totals


def csr_nearest(X, centers):
    """Index of the nearest centre (Euclidean) of each row of CSR X.

    argmin_k ||x - c_k||^2 = argmax_k x . c_k - ||c_k||^2 / 2 (the row's own
    norm is the same for every k). Binary rows and centres in [0, 1] lose no
    digit in this expansion.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features), no NaN
    centers : ndarray of shape (n_centers, n_features)

    Returns
    -------
    labels : ndarray of shape (n_samples,), int64
    """
    C = np.asarray(centers, dtype=np.float64)
    out = np.empty((X.shape[0], C.shape[0]))
    out[:] = -0.5 * np.einsum("kj,kj->k", C, C)
    return np.argmax(csr_product(X, C.T, out=out), axis=1)
