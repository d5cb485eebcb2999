"""PCA of a dask array: the principal axes from passes over chunks.

Four solvers, each of which reads the array a fixed number of times and sends
only small results (d x d or n x n Gram matrices, k x d axes) to the client:

- 'covariance_eigh', tall (n >= d): per-chunk mean and scatter about the chunk's
  own mean, merged by Chan et al.'s rule (:func:`skgen.utils.merge_moments`), then
  the eigendecomposition of the d x d scatter. One pass.
- 'covariance_eigh', wide (n < d, any column chunks): the n x n Gram of the
  rows summed over column chunks (with the mean, in one pass), centred as
  C G C, then the axes V = U^T Xc / s. Two passes.
- 'full': the exact SVD by TSQR (Benson, Gleich & Demmel 2013) of the centred
  array, tall as it is or, for wide data, of its transpose (whose columns are the
  n rows: one chunk). Two passes.
- 'randomized': Halko et al. (2011) by ``dask.array.linalg.svd_compressed``
  with QR-normalised power iterations (Halko et al. algorithm 4.4),
  2 (iterated_power + 1) + 2 passes.
"""

import numbers

import numpy as np
from scipy import linalg
from sklearn.utils import check_random_state
from sklearn.utils.extmath import svd_flip

from ..utils import block_moments, merge_moments
from ..utils._dask import MissingValuesError, check_chunk, magnitude_limits, reduce_chunks

__all__ = ["fit_dask_pca"]


def _moments_chunk(limits, X, weights, info):
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf are reported below
        stats = block_moments(X, None, "full")
    # The sums screen the values for free: with s_j = sum_i x_ij^2, every |x|
    # is at most sqrt(max s_j), and some |x| at least sqrt(max s_j / n). Only a
    # chunk the screen cannot clear is scanned (NaN/inf make the sums non-finite).
    n = X.shape[0]
    squares = np.diagonal(stats.scatter[0]).astype(np.float64)
    squares = squares + n * stats.mean[0].astype(np.float64) ** 2
    high, low = limits
    peak_sq = float(squares.max(initial=0.0))
    if n and not (np.isfinite(peak_sq) and peak_sq <= high**2 and peak_sq / n >= low**2):
        check_chunk(X, info, limits)
    return stats


def _chunk_code(b):
    """0: finite; 1: NaN and no infinity; 2: infinity."""
    if np.isfinite(b).all():
        return 0
    return 2 if np.isinf(b).any() else 1


def _nonfinite_chunks(X):
    """Lazy: one code per chunk (:func:`_chunk_code`), nonzero where a chunk
    holds NaN or infinity."""
    import dask.array as da

    return da.map_blocks(
        lambda b: np.array([[_chunk_code(b)]], dtype=np.int8), X, dtype=np.int8,
        chunks=(1, 1)
    )


def _raise_on_nonfinite(flags, X):
    """ValueError naming the first non-finite chunk; MissingValuesError when
    the array holds NaN and no infinity (PCA then fits probabilistic PCA)."""
    if flags.any():
        i, j = np.argwhere(flags)[0]
        start = int(np.sum(X.chunks[0][:i]))
        error = ValueError if (flags == 2).any() else MissingValuesError
        raise error(
            f"Input X contains NaN or infinity in chunk ({i}, {j}) of "
            f"{len(X.chunks[0])} x {len(X.chunks[1])} (rows {start} to "
            f"{start + X.chunks[0][i] - 1})."
        )


def _top_eigh(G, k):
    """Eigenpairs of the symmetric G in decreasing order (the top k when k is an int)."""
    m = G.shape[0]
    if isinstance(k, numbers.Integral) and 0 < k < m:
        w, v = linalg.eigh(G, subset_by_index=(m - k, m - 1), driver="evr", check_finite=False)
    else:
        w, v = linalg.eigh(G, check_finite=False)
    w, v = w[::-1], v[:, ::-1]
    return np.maximum(w, 0), v


def fit_dask_pca(X, solver, k, iterated_power="auto", n_oversamples=10, random_state=None):
    """Principal axes of a dask array.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Validated (2-D, known chunks, float), any chunking.
    solver : {'covariance_eigh', 'full', 'randomized'}
    k : int, float or 'mle'
        Components wanted (an int lets the eigensolvers compute only those).
    iterated_power : int or 'auto', default='auto'
    n_oversamples : int, default=10
    random_state : int, RandomState instance or None
        Seed of the randomized solver.

    Returns
    -------
    spectrum : ndarray
        Squared singular values of the centred data, decreasing (all of them
        for the exact solvers, k for 'randomized').
    vt : ndarray of shape (len(spectrum), n_features)
        Principal axes, signs as scikit-learn's ``svd_flip(u_based_decision=False)``.
    total_var : float
        Total variance, trace of the covariance (divisor n - 1).
    mean : ndarray of shape (n_features,)

    Raises
    ------
    ValueError
        On NaN or infinity (naming the chunk) or magnitudes whose squares
        overflow.
    """
    import dask
    import dask.array as da

    n, d = X.shape
    dtype = X.dtype
    if solver == "covariance_eigh" and n >= d:
        stats = reduce_chunks(
            _moments_chunk, merge_moments, X.rechunk({1: -1}), magnitude_limits(X.shape, dtype)
        )
        mean, G = stats.mean[0], stats.scatter[0].astype(np.float64)
        total = float(np.trace(G)) / (n - 1)
        w, v = _top_eigh(G, k)
        vt = v.T
    elif solver == "covariance_eigh":
        # One pass for the uncentred Gram G0 = X X^T and the mean; centring is
        # then C G0 C with C = I - 11^T / n (as the in-memory solver).
        G, mean, flags = dask.compute(X @ X.T, X.mean(axis=0), _nonfinite_chunks(X))
        _raise_on_nonfinite(flags, X)
        G = np.asarray(G, dtype=np.float64)
        row_means = G.mean(axis=1)
        G -= row_means[:, None]
        G -= row_means[None, :]
        G += row_means.mean()
        total = float(np.trace(G)) / (n - 1)
        w, v = _top_eigh(G, k)
        s = np.sqrt(w)
        keep = s > s[:1].max(initial=0) * np.finfo(dtype).eps * max(n, d)
        vt = np.zeros((w.shape[0], d), dtype=np.float64)
        if keep.any():
            # Second pass: V = U^T (X - 1 m^T) / s.
            U = v[:, keep].T
            UX = (da.from_array(U.astype(dtype)) @ X).compute()
            vt[keep] = (UX - np.outer(U.sum(axis=1), mean)) / s[keep, None]
    elif solver == "full":
        mean, flags = dask.compute(X.mean(axis=0), _nonfinite_chunks(X))
        _raise_on_nonfinite(flags, X)
        if n >= d:
            # TSQR wants every row block at least as tall as it is wide.
            rows = max(d, max(X.chunks[0]))
            Xc = X.rechunk({0: rows, 1: -1}) - mean
            _, s, vt = da.linalg.svd(Xc)
            s, vt = dask.compute(s, vt)
        else:
            # Wide: Xc^T (d x n) is tall; Xc^T = U S V^T gives Xc's axes as U^T.
            A = (X - mean).rechunk({0: -1}).T
            rows = max(n, max(A.chunks[0]))
            u, s, _ = da.linalg.svd(A.rechunk({0: rows}))
            s, vt = dask.compute(s, u.T)
        w = s.astype(np.float64) ** 2
        total = float(w.sum()) / (n - 1)
    else:  # randomized
        rng = check_random_state(random_state)
        power = iterated_power
        if power == "auto":
            power = 7 if k < 0.1 * min(n, d) else 4
        mean, flags = dask.compute(X.mean(axis=0), _nonfinite_chunks(X))
        _raise_on_nonfinite(flags, X)
        Xc = X - mean
        # QR between power steps: plain power iterations overflow float32
        # (sigma^(2q) passes 3e38 for sigma ~ 1e3, q = 7).
        _, s, vt = da.linalg.svd_compressed(
            Xc, k, iterator="QR", n_power_iter=power, n_oversamples=n_oversamples,
            seed=rng.randint(np.iinfo(np.int32).max),
        )
        s, vt, sq = dask.compute(s, vt, (Xc.astype(np.float64) ** 2).sum())
        w = s.astype(np.float64) ** 2
        total = float(sq) / (n - 1)
    _, vt = svd_flip(None, np.asarray(vt), u_based_decision=False)
    return (
        w.astype(dtype),
        np.ascontiguousarray(vt, dtype=dtype),
        total,
        np.asarray(mean, dtype=dtype),
    )
