"""Dask arrays as input: the dask side of the row source (:mod:`._rows`).

Every distributed fit in skgen is a sequence of passes over the row chunks of a
dask array: one task per chunk computes small statistics with the same code the
in-memory fit runs on the whole array, and the results are merged pairwise in a
tree of tasks (groups of ``split_every``), so that only the final, small result
reaches the client. Whatever scheduler is active runs the graph: a
``dask.distributed.Client`` when one exists, else dask's threaded scheduler.
Estimators reach these functions through :class:`skgen.utils._rows.DaskRows`
(PCA's dask solvers, which need the array itself, call them directly).

Dask is imported only here, inside functions, and only once the caller holds a
dask array: ``import skgen`` imports neither dask nor its dependencies.

Reference: Rocklin (2015), "Dask: parallel computation with blocked algorithms
and task scheduling", SciPy proceedings; the tree reduction is that of
``dask.array.reduction`` (``split_every``).
"""

import sys
import uuid

import numpy as np
import scipy.sparse as sp

from ._moments import tree_reduce
from ._validation import magnitude_limits

__all__ = [
    "is_dask_array",
    "check_dask_X",
    "check_dask_sample_weight",
    "check_chunk",
    "reduce_chunks",
    "map_rows",
    "take_rows",
    "chunk_infos",
    "magnitude_limits",
    "prefetched",
]

_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def is_dask_array(X):
    """True when ``X`` is a ``dask.array.Array``; never imports dask.

    Parameters
    ----------
    X : object

    Returns
    -------
    bool
    """
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(X, module.Array)


def check_dask_X(estimator, X, *, reset, ensure_min_samples=1, what=None,
                 rechunk_features=True):
    """Validate a dask array's shape, chunks and dtype without computing it.

    Values (NaN, inf, magnitude) are checked chunk by chunk when a pass reads
    them (:func:`check_chunk`), so that validation costs no pass of its own.

    Parameters
    ----------
    estimator : BaseEstimator
        Records ``n_features_in_`` when ``reset``, else checks X against it.
    X : dask.array.Array of shape (n_samples, n_features)
    reset : bool
        True in ``fit``.
    ensure_min_samples : int, default=1
    what : str or None
        Name of the array in messages (default 'X').
    rechunk_features : bool, default=True
        Put all features in one chunk (for row-wise statistics); False keeps
        the column chunks (wide arrays, for solvers that reduce over them).

    Returns
    -------
    X : dask.array.Array
        float64 or float32 (other dtypes are cast to float64), rows chunked as
        given, all features in one chunk when ``rechunk_features``.

    Raises
    ------
    ValueError
        On an array that is not 2-D, unknown chunk sizes (NaN shapes), too few
        rows, or a number of features different from the fitted one.
    """
    what = what or "X"
    if X.ndim != 2:
        raise ValueError(
            f"Expected 2D array, got {X.ndim}D dask array instead for {what} with "
            f"shape {X.shape}. Reshape it, e.g. X.reshape(-1, 1) for a single feature."
        )
    if any(np.isnan(c) for c in X.chunks[0]) or any(np.isnan(c) for c in X.chunks[1]):
        raise ValueError(
            f"{what} is a dask array with unknown chunk sizes (shape {X.shape}), as "
            "after boolean indexing or from a dask DataFrame's .values: call "
            "X.compute_chunk_sizes() (or use .to_dask_array(lengths=True)) first."
        )
    n_samples, n_features = X.shape
    if n_samples < ensure_min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={X.shape}) while a minimum "
            f"of {ensure_min_samples} is required by {type(estimator).__name__}."
        )
    if n_features < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 "
            f"is required by {type(estimator).__name__}."
        )
    if X.dtype not in _FLOAT_DTYPES:
        X = X.astype(np.float64)
    if rechunk_features and len(X.chunks[1]) > 1:
        # Rows are the unit of every per-chunk statistic: a row split over
        # chunks would need a shuffle per pass, so it is rechunked once here.
        X = X.rechunk({1: -1})
    if reset:
        estimator.n_features_in_ = n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif hasattr(estimator, "n_features_in_") and n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {type(estimator).__name__} is "
            f"expecting {estimator.n_features_in_} features as input."
        )
    return X


def check_dask_sample_weight(sample_weight, X):
    """Validate ``sample_weight`` for a dask array ``X``, aligned with its row chunks.

    Parameters
    ----------
    sample_weight : array-like or dask array of shape (n_samples,) or None
    X : dask.array.Array of shape (n_samples, n_features)

    Returns
    -------
    sample_weight : dask.array.Array of shape (n_samples,) or None
        float64, chunked as X's rows. Negative values are reported by the pass
        that reads them (:func:`check_chunk`).

    Raises
    ------
    ValueError
        On a shape that does not match X's rows, or unknown chunk sizes; for
        NumPy weights also on negative or non-finite values.
    """
    import dask.array as da

    if sample_weight is None:
        return None
    if not is_dask_array(sample_weight):
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.ndim == 0:
            w = np.full(X.shape[0], float(w))
        if w.shape != (X.shape[0],):
            raise ValueError(
                f"sample_weight.shape == {w.shape}, expected ({X.shape[0]},)!"
            )
        _check_weight_values(w)
        sample_weight = da.from_array(w, chunks=(X.chunks[0],))
    if sample_weight.ndim != 1 or sample_weight.shape[0] != X.shape[0]:
        raise ValueError(
            f"sample_weight.shape == {sample_weight.shape}, expected ({X.shape[0]},)!"
        )
    if any(np.isnan(c) for c in sample_weight.chunks[0]):
        raise ValueError(
            "sample_weight is a dask array with unknown chunk sizes: call "
            "compute_chunk_sizes() first."
        )
    return sample_weight.astype(np.float64).rechunk((X.chunks[0],))


def _check_weight_values(w, where=""):
    if not np.all(np.isfinite(w)):
        raise ValueError(f"sample_weight contains NaN or infinity{where}.")
    if np.any(w < 0):
        raise ValueError(f"Negative values in data passed to sample_weight{where}.")


def _chunk_place(info):
    index, start, stop, n_chunks = info
    return f" in chunk {index} of {n_chunks} (rows {start} to {stop - 1})"


class MissingValuesError(ValueError):
    """A chunk holds NaN (and no infinity) where NaN was not allowed: an
    estimator that can marginalise missing entries catches it and takes its
    missing-value path, found by the pass it ran anyway."""


def check_chunk(block, info, magnitude_limits=None, weights=None, allow_nan=False):
    """Check one chunk's values as the pass reads it.

    Parameters
    ----------
    block : ndarray or sparse matrix of shape (n_rows, n_features)
    info : tuple (index, start, stop, n_chunks) or None
        Where the chunk lies, for messages; None for in-memory data (checked by
        :func:`skgen.utils.check_X` already: nothing to do).
    magnitude_limits : (float, float) or None
        The overflow and underflow limits of :func:`skgen.utils.check_magnitude`
        for the whole array; None skips the magnitude check.
    weights : ndarray of shape (n_rows,) or None
        The chunk's sample weights.
    allow_nan : bool, default=False
        NaN marks a missing entry (estimators that marginalise it): only
        infinity is refused, and magnitudes are those of the observed entries.

    Raises
    ------
    ValueError
        On NaN (unless allowed; :class:`MissingValuesError` when the chunk
        has no infinity) or infinity, a magnitude outside the limits, or a
        negative weight, naming the chunk and its rows.
    """
    if info is None:
        return
    values = block.data if sp.issparse(block) else block
    if allow_nan:
        if values.size and np.isinf(values).any():
            raise ValueError(f"Input X contains infinity{_chunk_place(info)}.")
    elif values.size and not np.isfinite(values).all():
        error = ValueError if np.isinf(values).any() else MissingValuesError
        raise error(f"Input X contains NaN or infinity{_chunk_place(info)}.")
    if magnitude_limits is not None and values.size:
        with np.errstate(invalid="ignore"):
            peak = float(max(np.nanmax(values), -np.nanmin(values))) if allow_nan else \
                float(max(np.max(values), -np.min(values)))
        high, low = magnitude_limits
        if peak > high or 0 < peak < low:
            raise ValueError(
                f"X holds values of magnitude {peak:.3g}{_chunk_place(info)}: their "
                f"squares overflow or underflow {values.dtype} (limits {low:.3g} to "
                f"{high:.3g}). Rescale X, e.g. with sklearn.preprocessing.StandardScaler."
            )
    if weights is not None:
        _check_weight_values(weights, _chunk_place(info))


def chunk_infos(chunks):
    """(index, start, stop, n_chunks) of each row chunk, for messages."""
    stops = np.cumsum(chunks)
    return [(i, int(stop - c), int(stop), len(chunks)) for i, (c, stop) in
            enumerate(zip(chunks, stops))]


def _shared(args):
    """Each argument as one named graph node, so that it is sent once (not
    once per chunk) and not hashed to make its key."""
    import dask

    token = uuid.uuid4().hex[:12]
    return [dask.delayed(a, name=f"skgen-arg-{i}-{token}", traverse=False)
            for i, a in enumerate(args)]


def _merge_group(merge, parts):
    return tree_reduce(parts, merge)


def reduce_chunks(func, merge, X, *args, sample_weight=None, split_every=8):
    """Apply ``func`` to every row chunk of ``X`` and merge the results as a tree.

    Parameters
    ----------
    func : callable
        ``func(*args, block, weights, info)`` -> a small result; ``block`` is
        one row chunk (all features), ``weights`` its sample weights or None,
        ``info`` (index, start, stop, n_chunks) for messages.
    merge : callable
        ``merge(a, b)`` of two results, a's rows before b's.
    X : dask.array.Array of shape (n_samples, n_features)
        Validated by :func:`check_dask_X` (one chunk along features).
    *args
        Small objects (fitted parameters) shared by every task: each enters the
        graph once, not once per chunk.
    sample_weight : dask.array.Array of shape (n_samples,) or None
        Chunked as X's rows (:func:`check_dask_sample_weight`).
    split_every : int, default=8
        Results merged per task of the tree.

    Returns
    -------
    result : object
        The merged result, computed by the active scheduler.
    """
    import dask

    shared = _shared(args)
    blocks = X.to_delayed().ravel()
    weights = (
        [None] * len(blocks) if sample_weight is None else sample_weight.to_delayed().ravel()
    )
    task = dask.delayed(func, pure=False)
    parts = [task(*shared, b, w, info) for b, w, info in
             zip(blocks, weights, chunk_infos(X.chunks[0]))]
    group = dask.delayed(_merge_group, pure=False)
    while len(parts) > 1:
        parts = [group(merge, parts[i:i + split_every])
                 for i in range(0, len(parts), split_every)]
    return dask.compute(parts[0])[0]


def map_rows(func, X, *args, n_columns=None, dtype=None):
    """A lazy dask array of ``func(*args, block, info)`` over the row chunks of ``X``.

    Parameters
    ----------
    func : callable
        ``func(*args, block, info)`` -> ndarray with as many rows as ``block``
        (``info`` as in :func:`reduce_chunks`):
        1-D when ``n_columns`` is None, else 2-D with ``n_columns`` columns.
    X : dask.array.Array of shape (n_samples, n_features)
        Validated by :func:`check_dask_X`.
    *args
        Small objects shared by every chunk (they enter the graph once).
    n_columns : int or None
    dtype : numpy dtype, default=X.dtype

    Returns
    -------
    result : dask.array.Array of shape (n_samples,) or (n_samples, n_columns)
        Chunk-aligned with X's rows; nothing is computed.
    """
    import dask
    import dask.array as da

    dtype = np.dtype(X.dtype if dtype is None else dtype)
    shared = _shared(args)
    task = dask.delayed(func, pure=False)
    pieces = []
    for block, info in zip(X.to_delayed().ravel(), chunk_infos(X.chunks[0])):
        rows = info[2] - info[1]
        shape = (rows,) if n_columns is None else (rows, n_columns)
        pieces.append(da.from_delayed(task(*shared, block, info), shape=shape, dtype=dtype))
    return da.concatenate(pieces, axis=0)


def take_rows(X, indices):
    """Rows ``indices`` of a dask array, computed (one read of the chunks that hold them).

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
    indices : ndarray of int

    Returns
    -------
    rows : ndarray or sparse matrix of shape (len(indices), n_features)
        In the order of ``indices``.
    """
    indices = np.asarray(indices, dtype=np.intp)
    order = np.argsort(indices, kind="stable")
    rows = X[indices[order]].compute()
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    return rows[inverse]


def prefetched(load, items):
    """Yield ``load(item)`` for each item, the next one loaded in a background
    thread while the caller works on the current one (double buffering).

    Parameters
    ----------
    load : callable
        Called once per item, in order, in one background thread.
    items : sequence

    Yields
    ------
    loaded : object
        ``load(item)``, in the order of ``items``; an exception in ``load``
        is raised here, at the item it belongs to. Closing the generator early
        waits for the load in flight.
    """
    from concurrent.futures import ThreadPoolExecutor

    if not len(items):
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(load, items[0])
        for k in range(len(items)):
            current = pending.result()
            if k + 1 < len(items):
                pending = pool.submit(load, items[k + 1])
            yield current
