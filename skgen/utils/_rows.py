"""The row source: one object between an estimator and whatever holds its rows.

Every skgen estimator reads its data through a row source built once per call
by :func:`row_source`. The source knows the kind of input (an in-memory array
or sparse matrix, a dask array) and offers the same operations on each, so
that an estimator has one code path for all of them:

- ``reduce(func, merge, *args)``: ``func`` on row blocks, merged pairwise
  (threaded row blocks in memory, a tree of tasks over a dask array's chunks);
- ``map(func, *args, n_columns=..., dtype=...)``: row-wise outputs, eager in
  memory, lazy and chunk-aligned on dask;
- ``sample(n, rng)``: uniform rows, checked;
- ``blocks(order, window)``: a stream of blocks, the next one read in a
  background thread while the caller works on the current one;
- ``split(fraction, seed)``: hold out a validation part (rows in memory, whole
  chunks of a dask array);
- ``n_samples``, ``n_features``, ``dtype``, ``n_blocks``, ``lazy`` (whether
  ``map`` returns a lazy array) and ``ones_only`` (CSR rows whose stored values
  are all 1: a pass may read the indices of the ones only).

Values are checked where they are read: an in-memory array once, by the
estimator's own validation when the source is built; a dask chunk each time a
pass reads it (NaN, infinity, magnitude, negative weights, and the estimator's
``prepare`` step, e.g. a range check or a threshold), with the chunk and its
rows named in the message. Functions given to a source therefore receive
checked rows and no location argument.

A new kind of input (a missing-value mask, a stream of batches) is a new
subclass of :class:`RowSource`; the estimators do not change.
"""

import copy

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import _check_sample_weight

from ._dask import (
    _chunk_place,
    check_chunk,
    check_dask_sample_weight,
    check_dask_X,
    chunk_infos,
    is_dask_array,
    map_rows,
    prefetched,
    reduce_chunks,
    take_rows,
)
from ._moments import tree_reduce
from ._numba import resolve_n_threads, run_in_blocks, single_threaded_blas
from ._validation import magnitude_limits

__all__ = ["RowSource", "ArrayRows", "DaskRows", "row_source", "mean_score", "observed_sums",
           "add_pairs"]

# Rows, or stored entries, per thread below which an in-memory threaded
# reduction runs on one thread (a block must outweigh starting a thread and
# merging its result): 10,000 narrow rows, or fewer wide ones (7,500 MNIST
# images of 784 pixels are two blocks).
THREAD_ROWS = 10_000
THREAD_ENTRIES = 1 << 21


def _thread_blocks(X):
    """Blocks of X worth a thread each (see THREAD_ROWS)."""
    entries = X.nnz if sp.issparse(X) else X.size
    return max(X.shape[0] // THREAD_ROWS, entries // THREAD_ENTRIES)


def row_block(X, start, stop):
    """Rows ``start:stop`` of an array or CSR matrix, without copying: a CSR
    block shares its parent's indices and values (scipy's slicing copies them,
    2.5 ms per 10,000 binarized MNIST rows, per pass)."""
    if not (sp.issparse(X) and X.format == "csr"):
        return X[start:stop]
    indptr = X.indptr[start:stop + 1]
    lo, hi = indptr[0], indptr[-1]
    return type(X)((X.data[lo:hi], X.indices[lo:hi], indptr - lo),
                   shape=(stop - start, X.shape[1]), copy=False)


def row_source(estimator, X, *, reset, check, sample_weight=None, ensure_min_samples=1,
               magnitude=True, prepare=None, dtype=None, rechunk_features=True,
               allow_nan=False):
    """The row source of ``X`` for one call of ``estimator``.

    Parameters
    ----------
    estimator : BaseEstimator
        Records ``n_features_in_`` (when ``reset``) or checks X against it.
    X : array-like, sparse matrix or dask array of shape (n_samples, n_features)
    reset : bool
        True in ``fit``.
    check : callable
        ``check(X) -> X``: the estimator's validation of in-memory input
        (shape, dtype, values, feature names), e.g. a call of
        :func:`skgen.utils.check_X`. Not called for a dask array, whose shape
        is checked here and whose values are checked as chunks are read.
    sample_weight : array-like, dask array of shape (n_samples,) or None
        Validated here: float64, non-negative, finite, aligned with X's rows
        (for a dask X, chunked as its rows, values checked as chunks are read).
    ensure_min_samples : int, default=1
        For a dask array (in memory, ``check`` enforces its own).
    magnitude : bool, default=True
        Check a dask chunk's magnitudes against
        :func:`skgen.utils._validation.magnitude_limits` (False for estimators
        that never square X).
    prepare : callable or None
        ``prepare(block) -> block`` applied to each dask chunk after the value
        checks: what ``check`` does to in-memory values beyond finiteness and
        magnitude (a range check, a threshold). A ValueError it raises gets the
        chunk's place appended.
    dtype : numpy dtype or None
        Cast a dask array to this dtype (lazily); None keeps float32/float64.
    rechunk_features : bool, default=True
        Put a dask array's features in one chunk (every row-wise pass needs
        whole rows).
    allow_nan : bool, default=False
        NaN marks a missing entry in a dask chunk (the estimator marginalises
        it; ``check`` decides for in-memory data): only infinity is refused.

    Returns
    -------
    rows : RowSource
        :class:`ArrayRows` for in-memory input, :class:`DaskRows` for a dask array.

    Raises
    ------
    ValueError
        As ``check`` (in memory) or :func:`skgen.utils._dask.check_dask_X`;
        on weights of the wrong shape, negative or non-finite, or (in memory)
        summing to zero.
    """
    if is_dask_array(X):
        X = check_dask_X(estimator, X, reset=reset, ensure_min_samples=ensure_min_samples,
                         rechunk_features=rechunk_features)
        if dtype is not None and X.dtype != dtype:
            X = X.astype(dtype)
        limits = magnitude_limits(X.shape, X.dtype) if magnitude else None
        weights = check_dask_sample_weight(sample_weight, X)
        return DaskRows(X, weights, limits, prepare, allow_nan=allow_nan)
    X = check(X)
    return ArrayRows(X, _check_weights(sample_weight, X))


def _check_weights(sample_weight, X):
    if sample_weight is None:
        return None
    if is_dask_array(sample_weight):
        sample_weight = sample_weight.compute()
    weights = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                   ensure_non_negative=True)
    if not np.isfinite(weights).all():
        raise ValueError("sample_weight contains NaN or infinity.")
    if weights.sum() <= 0:
        raise ValueError("sample_weight sums to zero: no row carries any weight.")
    return weights


def mean_score(scores):
    """The mean of per-sample scores as a float, accumulated in float64.

    Parameters
    ----------
    scores : ndarray or dask array of shape (n_samples,)
        E.g. ``score_samples(X)`` (computed here when lazy).

    Returns
    -------
    mean : float
    """
    if is_dask_array(scores):
        return float(scores.mean(dtype=np.float64).compute())
    return float(np.mean(scores, dtype=np.float64))


class RowSource:
    """What every kind of row source offers (see the module docstring).

    Attributes
    ----------
    X : ndarray, sparse matrix or dask array of shape (n_samples, n_features)
        The validated data (for solvers that need the array itself).
    weights : ndarray, dask array of shape (n_samples,) or None
        float64 sample weights.
    lazy : bool
        Whether ``map`` returns a lazy (dask) array.
    ones_only : bool
        Whether X is a CSR matrix whose stored values are all 1 (binary rows
        held as the indices of their ones, no NaN); False where not known.
    """

    lazy = False
    ones_only = False

    @property
    def n_features(self):
        return self.X.shape[1]

    @property
    def dtype(self):
        return self.X.dtype

    @property
    def shape(self):
        return (self.n_samples, self.n_features)


class ArrayRows(RowSource):
    """Rows held in memory: an ndarray or a CSR matrix, validated once.

    Parameters
    ----------
    X : ndarray or scipy.sparse.csr_matrix of shape (n_samples, n_features)
        Validated.
    weights : ndarray of shape (n_samples,) or None
    """

    n_blocks = 1

    def __init__(self, X, weights=None):
        self.X, self.weights = X, weights
        self._ones_only = None

    @property
    def ones_only(self):
        """Whether X is CSR with every stored value 1, read once (2 ms for the
        2 M values of 20,000 binarized MNIST rows; a pass that need not read
        them is 15% shorter)."""
        if self._ones_only is None:
            X = self.X
            self._ones_only = bool(sp.issparse(X) and X.format == "csr"
                                   and np.all(X.data == 1))
        return self._ones_only

    @property
    def n_samples(self):
        return self.X.shape[0]

    def reduce(self, func, merge, *args, threads=False, indexed=False):
        """``func(*args, rows, weights)`` over all rows, merged by ``merge``.

        Parameters
        ----------
        func : callable
            Returns a small result of its rows; with ``indexed`` it is called as
            ``func(*args, block_index, rows, weights)`` (index 0 in memory).
        merge : callable
            ``merge(a, b)`` of two results, a's rows before b's.
        *args
            Passed first to every call.
        threads : bool, default=False
            Split the rows into one block per idle core and run the blocks in
            threads (BLAS single-threaded meanwhile), when each block has at
            least 10,000 rows or 2^21 stored entries; else one call on all rows.
        indexed : bool, default=False

        Returns
        -------
        result : object
        """
        if indexed:
            args = args + (0,)
        X, w = self.X, self.weights
        n_threads = _thread_blocks(X) if threads else 1
        if n_threads >= 2:  # the load is read only when there is a choice
            n_threads = min(resolve_n_threads(None), n_threads)
        if n_threads < 2:
            return func(*args, X, w)

        def block(start, stop):
            return func(*args, row_block(X, start, stop), None if w is None else w[start:stop])

        with single_threaded_blas():
            parts = run_in_blocks(block, X.shape[0], n_threads, blocks_per_thread=1)
        return tree_reduce(parts, merge)

    def map(self, func, *args, n_columns=None, dtype=None):
        """``func(*args, rows)``: one call on all rows (eager).

        ``n_columns`` and ``dtype`` describe the output for lazy sources; here
        the output is whatever ``func`` returns.
        """
        return func(*args, self.X)

    def sample(self, n, rng):
        """``min(n, n_samples)`` distinct rows drawn uniformly, in row order.

        Parameters
        ----------
        n : int
        rng : numpy.random.Generator

        Returns
        -------
        rows : ndarray or sparse matrix of shape (min(n, n_samples), n_features)
        weights : ndarray of shape (len(rows),) or None
        indices : ndarray of int
            Their row numbers, increasing.
        """
        indices = np.sort(rng.choice(self.n_samples, size=min(n, self.n_samples),
                                     replace=False))
        w = None if self.weights is None else self.weights[indices]
        return self.X[indices], w, indices

    def block_ids(self):
        """Indices of the blocks ``blocks`` can stream (one in memory)."""
        return [0]

    def blocks(self, order=None, window=1, then=None):
        """Stream the data block by block; in memory the one block is X itself.

        Parameters
        ----------
        order : sequence of int or None
            Block indices to visit (None: ``block_ids()`` in order).
        window : int, default=1
            Consecutive blocks of ``order`` concatenated into one.
        then : callable or None
            Applied to each (concatenated) block where it is read (for lazy
            sources: in the background thread), e.g. a copy to a device.

        Yields
        ------
        block : ndarray or object
            Checked rows, or ``then(rows)``.
        """
        yield self.X if then is None else then(self.X)

    def split(self, fraction, seed):
        """Hold out ``fraction`` of the rows (scikit-learn's train_test_split).

        Parameters
        ----------
        fraction : float in (0, 1)
        seed : int

        Returns
        -------
        train, held_out : ArrayRows

        Raises
        ------
        ValueError
            When either part would be empty.
        """
        import math

        n = self.n_samples
        n_val = math.ceil(fraction * n)  # train_test_split's rounding
        if n_val < 1 or n - n_val < 1:
            raise ValueError(
                f"validation_fraction={fraction} with early_stopping holds out "
                f"{n_val} of the {n} rows and leaves {n - n_val} to train on; "
                "both need at least one row: use a validation_fraction between "
                f"{1 / n:.3g} and {1 - 1 / n:.3g} or more rows"
            )
        X_train, X_val = train_test_split(self.X, test_size=fraction, random_state=seed)
        return ArrayRows(X_train), ArrayRows(X_val)


class _BlockCheck:
    """The value checks of one dask chunk as it is read (picklable for workers)."""

    def __init__(self, limits, prepare, allow_nan=False):
        self.limits, self.prepare, self.allow_nan = limits, prepare, allow_nan

    def __call__(self, block, weights, info):
        check_chunk(block, info, self.limits, weights, self.allow_nan)
        if self.prepare is None:
            return block
        try:
            return self.prepare(block)
        except ValueError as error:
            raise ValueError(f"{error}{_chunk_place(info)}") from None


def _reduce_task(check, func, *args):
    *args, block, weights, info = args
    block = check(block, weights, info)
    return func(*args, block, weights)


def _reduce_task_indexed(check, func, *args):
    *args, block, weights, info = args
    block = check(block, weights, info)
    return func(*args, info[0], block, weights)


def _map_task(check, func, *args):
    *args, block, info = args
    return func(*args, check(block, None, info))


class DaskRows(RowSource):
    """Rows of a dask array, read chunk by chunk and never loaded whole.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Shape-checked by :func:`skgen.utils._dask.check_dask_X`.
    weights : dask.array.Array of shape (n_samples,) or None
        Chunked as X's rows.
    limits : (float, float) or None
        Magnitude limits each chunk is checked against.
    prepare : callable or None
        See :func:`row_source`.
    allow_nan : bool, default=False
        See :func:`row_source`.
    """

    lazy = True

    def __init__(self, X, weights, limits, prepare, chunk_ids=None, allow_nan=False):
        self.X, self.weights = X, weights
        self._check = _BlockCheck(limits, prepare, allow_nan)
        self._infos = chunk_infos(X.chunks[0])
        self._ids = list(range(len(self._infos))) if chunk_ids is None else list(chunk_ids)

    @property
    def n_samples(self):
        return sum(self._infos[i][2] - self._infos[i][1] for i in self._ids)

    @property
    def n_blocks(self):
        return len(self._ids)

    def block_ids(self):
        return list(self._ids)

    def _whole(self, what):
        if len(self._ids) != len(self._infos):
            raise RuntimeError(f"{what} runs over every chunk, not a part of them")

    def reduce(self, func, merge, *args, threads=False, indexed=False):
        """As :meth:`ArrayRows.reduce`, one task per chunk merged as a tree
        (``indexed``: the chunk's index is passed); ``threads`` is the scheduler's."""
        self._whole("reduce")
        task = _reduce_task_indexed if indexed else _reduce_task
        return reduce_chunks(task, merge, self.X, self._check, func, *args,
                             sample_weight=self.weights)

    def map(self, func, *args, n_columns=None, dtype=None):
        """A lazy, chunk-aligned array of ``func(*args, rows)`` over the chunks.

        ``func`` and ``args`` are deep-copied first (an estimator's bound
        method included): the lazy result keeps the model it was asked of,
        even if the estimator is refitted before it is computed.

        Parameters
        ----------
        n_columns : int or None
            Output columns (None: 1-D output).
        dtype : numpy dtype, default=X.dtype
        """
        self._whole("map")
        check, func, args = copy.deepcopy((self._check, func, args))
        return map_rows(_map_task, self.X, check, func, *args, n_columns=n_columns,
                        dtype=dtype)

    def _load(self, i):
        block = np.ascontiguousarray(self.X.blocks[i, 0].compute())
        w = None
        if self.weights is not None:
            w = np.asarray(self.weights.blocks[i].compute())
        return self._check(block, w, self._infos[i])

    def sample(self, n, rng):
        """As :meth:`ArrayRows.sample`, over this source's chunks: one read of
        the chunks that hold the rows; a refused row names its chunk."""
        rows = np.concatenate([np.arange(*self._infos[i][1:3]) for i in self._ids])
        indices = np.sort(rng.choice(rows, size=min(n, rows.size), replace=False))
        sample = take_rows(self.X, indices)
        w = None if self.weights is None else take_rows(self.weights, indices)
        try:
            sample = self._check(sample, w, (0, 0, sample.shape[0], 1))
        except ValueError:
            stops = np.array([info[2] for info in self._infos])
            for k, i in enumerate(indices):
                info = self._infos[int(np.searchsorted(stops, i, "right"))]
                self._check(sample[k:k + 1], None if w is None else w[k:k + 1], info)
            raise
        return sample, w, indices

    def blocks(self, order=None, window=1, then=None):
        """As :meth:`ArrayRows.blocks`: chunks read (and ``then`` applied) in a
        background thread, one window ahead of the caller."""
        order = self._ids if order is None else list(order)
        windows = [order[i:i + window] for i in range(0, len(order), window)]

        def load(ids):
            parts = [self._load(i) for i in ids]
            rows = parts[0] if len(parts) == 1 else np.concatenate(parts)
            return rows if then is None else then(rows)

        yield from prefetched(load, windows)

    def split(self, fraction, seed):
        """Hold out whole chunks, about ``fraction`` of them (at least one each).

        Raises
        ------
        ValueError
            When the source has fewer than two chunks.
        """
        if len(self._ids) < 2:
            raise ValueError(
                "early_stopping on a dask array holds out whole chunks: X needs at "
                f"least 2 row chunks, it has {len(self._ids)}"
            )
        rng = np.random.default_rng(seed)
        n_val = min(max(1, round(fraction * len(self._ids))), len(self._ids) - 1)
        held = sorted(rng.choice(self._ids, size=n_val, replace=False).tolist())
        train = [i for i in self._ids if i not in held]
        return self._part(train), self._part(held)

    def _part(self, ids):
        part = copy.copy(self)
        part._ids = list(ids)
        return part


def observed_sums(X, weights):
    """A reduction over rows: per column, the sum of the observed entries (NaN
    skipped) and their count, float64 (sparse rows densified block by block)."""
    if sp.issparse(X):
        X = X.toarray()
    missing = np.isnan(X)
    return (np.where(missing, 0, X).sum(axis=0, dtype=np.float64),
            (~missing).sum(axis=0).astype(np.float64))


def add_pairs(a, b):
    """Merge of two reductions that return pairs of sums."""
    return a[0] + b[0], a[1] + b[1]
