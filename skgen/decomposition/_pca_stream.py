"""PCA of a stream of batches: running states that merge pairwise.

Two states, each with a ``merge`` of two states of disjoint rows, so that a
batch, the chunks of a dask array (a tree reduction) and the stream so far
all combine the same way:

- :class:`ExactState` (the default): the count, mean and scatter matrix,
  merged by Chan, Golub & LeVeque's rule (:func:`skgen.utils.merge_moments`,
  float64). The axes are the eigenvectors of the merged scatter, so after any
  batches the model is ``PCA.fit`` of their concatenation, to rounding. Memory:
  one d x d float64 matrix.
- :class:`SVDState`, for d whose scatter exceeds :data:`MAX_SCATTER_BYTES`: the
  count, mean, total sum of squares and the top k singular triplets, merged by
  the SVD of the stacked [S_a V_a; S_b V_b; sqrt(n_a n_b / n) (m_a - m_b)]
  (Ross, Lim, Lin & Yang 2008, "Incremental learning for robust visual
  tracking", IJCV 77, section 3.1, the update of scikit-learn's
  IncrementalPCA). Exact while k covers the rank of the rows seen; otherwise
  the discarded directions make it an approximation.
"""

import numbers
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.utils.extmath import svd_flip

from ..utils import Moments, block_moments, merge_moments

__all__ = ["ExactState", "SVDState", "MAX_SCATTER_BYTES", "batch_state", "merge_batch",
           "merge_states", "state_count", "state_model"]

# Largest d x d float64 scatter kept (1 GiB: d up to 11,585); beyond it the
# stream keeps the top components only (SVDState).
MAX_SCATTER_BYTES = 1 << 30


class ExactState(NamedTuple):
    """Moments of the rows so far (kind 'full', one group, float64)."""

    moments: Moments


class SVDState(NamedTuple):
    """Count, mean (d,), sum of squared deviations, singular values (r,) and
    right singular vectors (r, d) of the centred rows so far, r <= k."""

    n: float
    mean: np.ndarray
    sum_squares: float
    singular_values: np.ndarray
    components: np.ndarray
    k: int


def batch_state(X, exact, k):
    """The state of one batch of dense rows.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
    exact : bool
        :class:`ExactState`, else :class:`SVDState` keeping ``k`` triplets.
    k : int
        Triplets an SVDState keeps after each merge.
    """
    X = np.asarray(X, dtype=np.float64)
    if exact:
        return ExactState(block_moments(X, None, "full"))
    mean = X.mean(axis=0)
    Xc = X - mean
    _, s, vt = linalg.svd(Xc, full_matrices=False, check_finite=False)
    # The whole batch's triplets: merges truncate to k (as IncrementalPCA,
    # which stacks the centred batch itself).
    return SVDState(float(X.shape[0]), mean, float(np.sum(Xc * Xc)), s, vt, k)


def _block_state(exact, k, X, weights):
    """A reduction over rows: the state of one block (sparse blocks densified)."""
    return batch_state(X.toarray() if sp.issparse(X) else X, exact, k)


def merge_batch(state, rows, n_components):
    """The stream's state after one more batch.

    Parameters
    ----------
    state : ExactState, SVDState or None
        The stream so far (None: the batch starts it).
    rows : RowSource
        The batch, validated (a dask array: one tree reduction over its chunks).
    n_components : int, float, 'mle' or None
        ``PCA.n_components``: an integer is required beyond the scatter budget.

    Returns
    -------
    state : ExactState or SVDState
        Exact while the d x d float64 scatter fits :data:`MAX_SCATTER_BYTES`.

    Raises
    ------
    ValueError
        Beyond the budget, when ``n_components`` is not an integer in [1, d].
    """
    d = rows.n_features
    exact = d * d * 8 <= MAX_SCATTER_BYTES
    k = n_components
    if not exact and not (isinstance(k, numbers.Integral) and 1 <= k <= d):
        raise ValueError(
            f"partial_fit on {d} features keeps the top components only (a {d} x {d} "
            f"scatter exceeds {MAX_SCATTER_BYTES >> 30} GiB): n_components must be an "
            f"integer between 1 and {d}, got {k!r}"
        )
    batch = rows.reduce(_block_state, merge_states, exact, k)
    return batch if state is None else merge_states(state, batch)


def merge_states(a, b):
    """The state of the union of the rows of two states (a's first)."""
    if isinstance(a, ExactState):
        return ExactState(merge_moments(a.moments, b.moments))
    n = a.n + b.n
    delta = b.mean - a.mean
    shift = np.sqrt(a.n * b.n / n) * delta
    stacked = np.vstack([a.singular_values[:, None] * a.components,
                         b.singular_values[:, None] * b.components, shift[None]])
    _, s, vt = linalg.svd(stacked, full_matrices=False, check_finite=False)
    return SVDState(n, a.mean + delta * (b.n / n),
                    a.sum_squares + b.sum_squares + float(shift @ shift),
                    s[:a.k], vt[:a.k], a.k)


def state_count(state):
    """Rows merged into a state."""
    return int(state.moments.weight[0]) if isinstance(state, ExactState) else int(state.n)


def state_model(state, k=None):
    """(spectrum, vt, total_var, mean, n) of a state, for ``PCA._set_model``:
    squared singular values of the centred rows (decreasing), their axes
    (signs as ``svd_flip(u_based_decision=False)``), the total variance
    (divisor n - 1), the mean and the row count. An integer ``k`` below the
    width asks the exact state for the top k eigenpairs only (LAPACK's evr)."""
    if isinstance(state, ExactState):
        m = state.moments
        n = float(m.weight[0])
        d = m.scatter.shape[1]
        if isinstance(k, numbers.Integral) and 0 < k < d:
            w, v = linalg.eigh(m.scatter[0], subset_by_index=(d - k, d - 1), driver="evr",
                               check_finite=False)
        else:
            w, v = linalg.eigh(m.scatter[0], check_finite=False)
        spectrum, vt = np.maximum(w[::-1], 0.0), v[:, ::-1].T
        total = float(np.trace(m.scatter[0]))
        mean = m.mean[0]
    else:
        n = state.n
        spectrum, vt = state.singular_values ** 2, state.components
        total, mean = state.sum_squares, state.mean
    _, vt = svd_flip(None, np.ascontiguousarray(vt), u_based_decision=False)
    return spectrum, vt, total / max(n - 1, 1), mean, int(n)
