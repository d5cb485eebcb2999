"""Gradient descent on KL(P || Q) for t-SNE: one routine for fit and transform.

:func:`gradient_descent` moves the rows of Y against a reference embedding:
Y itself while fitting (Q among the embedded points, each row's own pair
excluded), the frozen training embedding when placing new points (each row's Q
over the training points only, openTSNE's ``PartialTSNEEmbedding``). The
repulsion is the method's (exact, Barnes-Hut, FFT interpolation) or, for new
points, the conditional one of :class:`ConditionalRepulsion`.

References: van der Maaten & Hinton (2008), sec. 3.4 (momentum, gains, early
exaggeration); van der Maaten (2014), "Accelerating t-SNE using tree-based
algorithms", JMLR 15 (Barnes-Hut); Linderman et al. (2019), "Fast
interpolation-based t-SNE for improved visualization of single-cell RNA-seq
data", Nature Methods 16 (FFT); Policar et al. (2024), openTSNE.
"""

from time import perf_counter

import numpy as np
import scipy.sparse as sp

from ..utils._numba import single_threaded_blas
from ._tsne_fft import FFTRepulsion
from ._tsne_gradients import (attractive_forces, bh_repulsive, bh_repulsive_conditional,
                              build_tree, exact_repulsive, gradient_step)

__all__ = ["gradient_descent", "kl_divergence", "Repulsion", "ConditionalRepulsion",
           "WorkingOrder"]

# FFT grid: at least 50 boxes per dimension (openTSNE), 25 while exaggerated.
# Boxes stay at most 1 unit wide either way; the small early embedding gets a
# grid a quarter the size. Unexaggerated, its gradient would be less accurate
# (1000 points of spread 3: 1.4% vs 0.16% relative error), but with the
# attraction times 12 the whole gradient's error is 0.07% (vs 0.007%); the
# final embedding is unchanged (10000 blobs: exact KL 2.7485 vs 2.7499).
FFT_MIN_BOXES = 50
FFT_MIN_BOXES_EXAGGERATED = 25
# From this many points the optimisation works on the points sorted along a
# Morton (Z-order) curve of the embedding, re-sorted at each phase's start, so
# that each point's neighbours in P sit near it in memory. Measured, attractive
# sum over 1,000,000 points: 0.42 s per call in random order, 0.07 s sorted (a
# 16 MB embedding does not stay in cache); 70000 points: no difference.
REORDER_ABOVE = 100_000
MAX_STEP_NORM = 5.0
MIN_GAIN = 0.01
REPORT_EVERY = 50


def _tree(Y):
    """Barnes-Hut tree over Y, growing the node budget until it fits."""
    capacity = max(64, 4 * (1 << Y.shape[1]) * Y.shape[0])
    while True:
        n_nodes, centre, half, com, count, child, _ = build_tree(Y, capacity)
        if n_nodes > 0:
            return centre, half, com, count, child
        capacity *= 2


class Repulsion:
    """R_i and Z of an embedding by the chosen method (fit)."""

    def __init__(self, method, dof, angle, n_threads, exaggerated=False):
        self.method = method
        self.dof = float(dof)
        self.angle = float(angle)
        # The exact sums run on skgen's thread pool: the attraction goes there too.
        self.pooled = method == "exact"
        self.fft = None
        if method == "fft":
            boxes = FFT_MIN_BOXES_EXAGGERATED if exaggerated else FFT_MIN_BOXES
            self.fft = FFTRepulsion(dof, min_num_intervals=boxes, n_threads=n_threads)

    def __call__(self, Y, out):
        """R_i into ``out``; returns Z = sum_{i != j} w_ij."""
        if self.method == "fft":
            return self.fft(Y, out)
        row_z = np.empty(Y.shape[0])
        if self.method == "exact":
            exact_repulsive(Y, Y, True, self.dof, out, row_z)
        else:
            bh_repulsive(Y, *_tree(Y), self.dof, self.angle, out, row_z)
        return row_z.sum()


def _morton_order(Y):
    """Rows of Y (n, d <= 3) in the order of a Morton (Z-order) curve."""
    n, d = Y.shape
    if d == 1:
        return np.argsort(Y[:, 0], kind="stable")
    bits = 21 if d == 2 else 10  # codes fit in 42 / 30 bits
    lo = Y.min(axis=0)
    span = float(np.max(Y.max(axis=0) - lo))
    scale = (2 ** bits - 1) / span if span > 0 else 0.0
    q = ((Y - lo) * scale).astype(np.uint64)
    code = np.zeros(n, dtype=np.uint64)
    for b in range(bits):
        for c in range(d):
            code |= ((q[:, c] >> np.uint64(b)) & np.uint64(1)) << np.uint64(d * b + c)
    return np.argsort(code, kind="stable")


class WorkingOrder:
    """The points' order during the optimisation, and P in that order.

    Above ``REORDER_ABOVE`` points, :meth:`sort` puts the points (and P's rows
    and columns) along a Morton curve of the current embedding; ``perm[p]`` is
    the original index of the point at position p. Below, the order stays.
    """

    def __init__(self, P):
        self.n = P.shape[0]
        self.csr = (P.indptr, P.indices, P.data)
        self.perm = None

    def sort(self, Y, *others):
        """Reorder Y (by its own Morton order), ``others`` and P, in place."""
        if self.n < REORDER_ABOVE or Y.shape[1] > 3:
            return
        order = _morton_order(Y)
        inverse = np.empty_like(order)
        inverse[order] = np.arange(self.n)
        indptr, indices, data = self.csr
        rows = sp.csr_matrix((data, indices, indptr), shape=(self.n, self.n),
                             copy=False)[order]
        # Same index dtype as before: another dtype would be another numba type.
        self.csr = (rows.indptr, inverse[rows.indices].astype(indices.dtype), rows.data)
        for a in (Y, *others):
            a[:] = a[order]
        self.perm = order if self.perm is None else self.perm[order]

    def original(self, Y):
        """Y (in the working order) in the original order of the points."""
        if self.perm is None:
            return Y
        out = np.empty_like(Y)
        out[self.perm] = Y
        return out


class ConditionalRepulsion:
    """R_i and Z_i of new points against a frozen reference embedding (transform):
    each row's own normaliser. Barnes-Hut sums for up to 3 dimensions; exact
    sums above, and against a reference of fewer than ``exact_below`` points
    (fit's own rule: there at most exact_below pairs per new point and
    iteration, and a small model's first transform does not compile the tree
    kernels, about 4 s on the digits)."""

    def __init__(self, reference, dof, angle, exact_below=0):
        self.reference, self.dof, self.angle = reference, float(dof), float(angle)
        exact = reference.shape[1] > 3 or reference.shape[0] < exact_below
        self.tree = None if exact else _tree(reference)
        # The exact sums run on skgen's thread pool: the attraction goes there too.
        self.pooled = exact

    def __call__(self, Y, out):
        """R_i into ``out``; returns the column of Z_i, shape (n, 1)."""
        row_z = np.empty(Y.shape[0])
        if self.tree is not None:
            bh_repulsive_conditional(Y, *self.tree, self.dof, self.angle, out, row_z)
        else:
            exact_repulsive(Y, self.reference, False, self.dof, out, row_z)
        return row_z[:, None]


def gradient_descent(Y, P, repulsion, n_iter, update, gains, *, dof, exaggeration,
                     momentum, learning_rate, reference=None, max_step_norm=MAX_STEP_NORM,
                     max_grad_norm=None, centre=True, start=0, report=None, timings=None,
                     bar=None):
    """``n_iter`` steps of gradient descent with momentum and gains on Y, in place.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_components), float64, C order
        The rows moved.
    P : tuple (indptr, indices, data)
        CSR affinities of Y's rows to the reference's rows, shape (n_samples,
        n_reference): the joint P while fitting, the conditionals of new points.
    repulsion : callable
        ``repulsion(Y, out)`` writes R_i and returns Z (a float: the sum over
        all pairs, fit) or Z_i (shape (n_samples, 1), new points).
        Its ``pooled`` attribute (False if absent) puts the attractive sums
        on skgen's thread pool, where the repulsion runs (exact sums).
    n_iter : int
    update, gains : ndarrays like Y
        The momentum term and the gains, carried between calls (updated in place).
    dof : float
        Degrees of freedom of the Student-t kernel.
    exaggeration, momentum, learning_rate : float
    reference : ndarray of shape (n_reference, n_components) or None
        The embedding P's columns are at (None: Y itself).
    max_step_norm : float, default=5.0
        Largest update norm per point (<= 0: none).
    max_grad_norm : float or None
        Clip each row's gradient to this norm (openTSNE's transform), or not.
    centre : bool, default=True
        Re-centre Y after each step (fit; new points are not).
    start : int, default=0
        Iteration count before this call (reports fall on multiples of 50).
    report : callable or None
        ``report(it, sum_p_log_w, Z, grad)`` every 50 iterations (it > 0),
        before the step: a true result stops the descent and is returned.
    timings : dict or None
        Seconds added to its 'attractive', 'repulsive' and 'update' entries.
    bar : progress bar or None
        Advanced once per step.

    Returns
    -------
    it : int
        ``start`` plus the steps taken.
    outcome : object
        What ``report`` returned when it stopped the descent, else None.
    """
    indptr, indices, data = P
    reference = Y if reference is None else reference
    pooled = getattr(repulsion, "pooled", False)
    attract = np.empty_like(Y)
    repel = np.empty_like(Y)
    timings = {} if timings is None else timings
    for key in ("attractive", "repulsive", "update"):
        timings.setdefault(key, 0.0)
    it = start
    # One BLAS thread: nothing in a step gains from more (its one BLAS call is
    # the reports' gradient norm), and OpenBLAS's threads spin after a threaded
    # call, taking the cores of the parfors that follow (10,000 points, four
    # fresh-process pairs: fit median ~4.97 -> ~4.5 s).
    with single_threaded_blas():
        for _ in range(n_iter):
            # The KL comes with the forces at Y, before the step: report (and call
            # back) with the embedding it belongs to.
            reporting = report is not None and it > 0 and it % REPORT_EVERY == 0
            tic = perf_counter()
            sum_p_log_w = attractive_forces(indptr, indices, data, Y, reference, dof,
                                            exaggeration, attract, reporting, pooled)
            toc = perf_counter()
            timings["attractive"] += toc - tic
            z = repulsion(Y, repel)
            tic = perf_counter()
            timings["repulsive"] += tic - toc
            grad = attract - repel / z
            if max_grad_norm is not None:
                norm = np.linalg.norm(grad, axis=1, keepdims=True)
                grad *= np.minimum(1.0, max_grad_norm / (norm + 1e-12))
            if reporting:
                outcome = report(it, sum_p_log_w, z, grad)
                if outcome:
                    return it, outcome
            gradient_step(Y, grad, update, gains, momentum, learning_rate, MIN_GAIN,
                          max_step_norm, centre)
            timings["update"] += perf_counter() - tic
            it += 1
            if bar is not None:
                bar.update(1)
    return it, None


def kl_divergence(P, Y, dof=1.0):
    """Exact KL(P || Q) of an embedding, nats, O(N^2) time and O(N) memory.

    Parameters
    ----------
    P : sparse matrix of shape (n_samples, n_samples)
        Joint probabilities (summing to 1).
    Y : ndarray of shape (n_samples, n_components)
        Embedding.
    dof : float, default=1.0
        Degrees of freedom of the Student-t kernel.

    Returns
    -------
    kl : float
        sum_ij p_ij log(p_ij / q_ij), q_ij = w_ij / sum_{k != l} w_kl
        (van der Maaten & Hinton 2008, eq. 2 with the Student-t q of eq. 4).
    """
    P = sp.csr_matrix(P)
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    forces = np.empty_like(Y)
    row_z = np.empty(Y.shape[0])
    sum_p_log_w = attractive_forces(P.indptr, P.indices, P.data, Y, Y, float(dof), 1.0,
                                    forces, True, pooled=True)
    exact_repulsive(Y, Y, True, float(dof), forces, row_z)
    p = P.data[P.data > 0]
    return float(np.sum(p * np.log(p)) - sum_p_log_w + np.log(row_z.sum()))
