"""Weighted, centred moments of K groups, merged by the pairwise rule of Chan et al.

Every estimator that needs means and scatter matrices (the EM M-steps, and the
distributed fits that reduce per-chunk statistics) computes them here: each block
of rows gives its own weights, means and scatter *about its own means*, and
blocks are merged pairwise. Scatter about one's own mean is a sum of squares
(never negative, never the difference of two large numbers), so a tight or
single-point group far from the origin keeps its small variance, in float32 as
in float64, and the merged result does not depend on how the rows were blocked
beyond rounding.

Reference: Chan, Golub & LeVeque (1979), "Updating formulae and a pairwise
algorithm for computing sample variances", Stanford CS report STAN-CS-79-773,
equations 2.1a-2.1b (weighted form: West 1979, CACM 22(9)).
"""

from typing import NamedTuple, Optional

import numpy as np

from ._numba import jit
from ._validation import row_chunks

__all__ = [
    "Moments", "block_moments", "merge_moments", "reduce_moments", "moments", "tree_reduce",
]

KINDS = ("full", "tied", "diag", "mean")


class Moments(NamedTuple):
    """Weighted moments of K groups of rows.

    Attributes
    ----------
    weight : ndarray of shape (n_groups,)
        Sum of the weights of each group, w_k = sum_i r_ik.
    mean : ndarray of shape (n_groups, n_features)
        Weighted mean of each group (0 where w_k = 0).
    scatter : ndarray or None
        Weighted scatter about each group's own mean,
        S_k = sum_i r_ik (x_i - mean_k)(x_i - mean_k)^T:
        (n_groups, d, d) for kind 'full'; its sum over groups, (d, d), for
        'tied'; its diagonal, (n_groups, d), for 'diag'; None for 'mean'.
    kind : str
        'full', 'tied', 'diag' or 'mean'.
    """

    weight: np.ndarray
    mean: np.ndarray
    scatter: Optional[np.ndarray]
    kind: str


@jit
def _centred_square_sums(X, resp, means, out):
    """out[k, j] = sum_i resp[i, k] (X[i, j] - means[k, j])^2, skipping zero weights.

    No fastmath: kept exact so that it equals its NumPy reference to rounding.
    """
    n_samples, n_features = X.shape
    n_groups = means.shape[0]
    for i in range(n_samples):
        for k in range(n_groups):
            r = resp[i, k]
            if r == 0.0:
                continue
            for j in range(n_features):
                diff = X[i, j] - means[k, j]
                out[k, j] += r * diff * diff


def block_moments(X, resp=None, kind="full"):
    """Weighted moments of one block of rows, centred about each group's mean.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Dense rows, float32 or float64.
    resp : ndarray of shape (n_samples, n_groups) or None, default=None
        Non-negative weights of each row in each group (responsibilities in
        EM). None: one group, every row of weight 1.
    kind : {'full', 'tied', 'diag', 'mean'}, default='full'
        Which scatter to compute (see :class:`Moments`).

    Returns
    -------
    moments : Moments
        In the dtype of ``X``.

    Raises
    ------
    ValueError
        On an unknown ``kind`` or mismatched shapes.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    dtype = X.dtype
    if resp is None and kind in ("full", "tied"):
        # One group of unit weights: the moments of the block itself, in one
        # centred copy and one Gram product (a pass over the data, no more).
        centre = X.mean(axis=0) if X.shape[0] else np.zeros(X.shape[1], dtype)
        Xc = X - centre
        scatter = Xc.T @ Xc
        weight = np.array([X.shape[0]], dtype=dtype)
        mean = centre[np.newaxis].astype(dtype, copy=False)
        return Moments(weight, mean, scatter[np.newaxis] if kind == "full" else scatter, kind)
    if resp is None:
        resp = np.ones((X.shape[0], 1), dtype=dtype)
    if resp.shape[0] != X.shape[0]:
        raise ValueError(
            f"resp has {resp.shape[0]} rows but X has {X.shape[0]}"
        )
    resp = resp.astype(dtype, copy=False)
    weight = resp.sum(axis=0)
    safe = np.where(weight > 0, weight, 1)
    # Sums about the block's column mean: the means then carry the rounding of
    # the rows' spread, not of their offset from the origin (whatever the
    # centre's own rounding, x - centre is exact for rows near it).
    centre = X.mean(axis=0)
    X = X - centre
    offset = (resp.T @ X) / safe[:, np.newaxis]  # group means minus the centre
    mean = np.where(weight[:, np.newaxis] > 0, offset + centre, 0).astype(dtype, copy=False)
    if kind == "mean":
        return Moments(weight, mean, None, kind)
    if kind == "full":
        # Y_k = sqrt(r_k) (X - mean_k): S_k = Y_k^T Y_k is a Gram matrix, PSD by construction.
        Y = X[np.newaxis, :, :] - offset[:, np.newaxis, :]
        Y *= np.sqrt(resp.T)[:, :, np.newaxis]
        scatter = np.matmul(Y.transpose(0, 2, 1), Y)
    elif kind == "tied":
        # With s_i = sum_k r_ik and m_i = sum_k r_ik mean_k / s_i,
        # sum_k S_k = sum_i s_i (x_i - m_i)(x_i - m_i)^T
        #           + sum_i sum_k r_ik (mean_k - m_i)(mean_k - m_i)^T:
        # two PSD terms, the second a K x K form in the means.
        s = resp.sum(axis=1)
        inv = np.where(s > 0, 1 / np.where(s > 0, s, 1), 0).astype(dtype, copy=False)
        E = X - (resp @ offset) * inv[:, np.newaxis]
        E *= np.sqrt(s)[:, np.newaxis]
        between = np.diag(weight) - (resp * inv[:, np.newaxis]).T @ resp
        scatter = E.T @ E + offset.T @ between @ offset
    else:
        scatter = np.zeros(mean.shape, dtype=dtype)
        _centred_square_sums(np.ascontiguousarray(X), np.ascontiguousarray(resp), offset, scatter)
    return Moments(weight, mean, scatter, kind)


def merge_moments(a, b):
    """Moments of the union of two disjoint sets of rows.

    With n = w_a + w_b and delta = mean_b - mean_a for each group:
    mean = mean_a + delta w_b / n and S = S_a + S_b + delta delta^T w_a w_b / n
    (Chan, Golub & LeVeque 1979, eq. 2.1). Groups empty in both stay empty.

    Parameters
    ----------
    a, b : Moments
        Of the same kind, number of groups and features.

    Returns
    -------
    merged : Moments

    Raises
    ------
    ValueError
        When the two are of different kinds or shapes.
    """
    if a.kind != b.kind or a.mean.shape != b.mean.shape:
        raise ValueError(
            f"cannot merge moments of kind {a.kind!r} {a.mean.shape} with "
            f"{b.kind!r} {b.mean.shape}"
        )
    weight = a.weight + b.weight
    safe = np.where(weight > 0, weight, 1)
    frac_b = (b.weight / safe)[:, np.newaxis]
    delta = b.mean - a.mean
    mean = a.mean + delta * frac_b
    if a.kind == "mean":
        return Moments(weight, mean, None, a.kind)
    coef = a.weight * b.weight / safe
    if a.kind == "full":
        scatter = a.scatter + b.scatter
        scatter += coef[:, np.newaxis, np.newaxis] * (
            delta[:, :, np.newaxis] * delta[:, np.newaxis, :]
        )
    elif a.kind == "tied":
        scatter = a.scatter + b.scatter + (delta.T * coef) @ delta
    else:
        scatter = a.scatter + b.scatter + coef[:, np.newaxis] * delta**2
    return Moments(weight, mean, scatter, a.kind)


def tree_reduce(parts, merge):
    """Combine any number of parts pairwise, as a balanced binary tree.

    Partial results are combined like the digits of a binary counter, so that
    each part passes through O(log n_parts) merges and rounding grows with the
    depth of the tree, not the number of parts; one pass, O(log n) partial
    results held at once. The order of the parts is kept (merge(a, b) with a
    before b), so a chunked reduction sees its chunks in row order.

    Parameters
    ----------
    parts : iterable
        At least one part.
    merge : callable
        ``merge(a, b)`` returns the combination of two parts.

    Returns
    -------
    merged : object

    Raises
    ------
    ValueError
        When ``parts`` is empty.
    """
    stack = []  # (level, part): a binary counter of merged parts
    for part in parts:
        level = 0
        while stack and stack[-1][0] == level:
            part = merge(stack.pop()[1], part)
            level += 1
        stack.append((level, part))
    if not stack:
        raise ValueError("tree_reduce needs at least one part")
    merged = stack.pop()[1]
    while stack:
        merged = merge(stack.pop()[1], merged)
    return merged


def reduce_moments(parts):
    """Merge any number of Moments pairwise, as a balanced tree (:func:`tree_reduce`).

    Parameters
    ----------
    parts : iterable of Moments
        At least one, all of the same kind and shape.

    Returns
    -------
    merged : Moments

    Raises
    ------
    ValueError
        When ``parts`` is empty, or on mismatched parts.
    """
    return tree_reduce(parts, merge_moments)


def moments(X, resp=None, kind="full", block_bytes=8 * 2**20):
    """Weighted moments of all of ``X``, block by block, merged by Chan's rule.

    The in-memory twin of a distributed reduction: the same
    :func:`block_moments` per block of rows and the same
    :func:`reduce_moments` over the blocks.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    resp : ndarray of shape (n_samples, n_groups) or None, default=None
        As in :func:`block_moments`.
    kind : {'full', 'tied', 'diag', 'mean'}, default='full'
    block_bytes : int, default=8 MiB
        Budget for one block's temporaries.

    Returns
    -------
    moments : Moments
    """
    n_samples, n_features = X.shape
    n_groups = 1 if resp is None else resp.shape[1]
    width = {"full": n_groups, "tied": 2, "diag": 1, "mean": 0}.get(kind, 1)
    per_row = (width + 1) * n_features * X.dtype.itemsize
    return reduce_moments(
        block_moments(X[rows], None if resp is None else resp[rows], kind)
        for rows in row_chunks(n_samples, per_row, block_bytes)
    )
