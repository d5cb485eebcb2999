"""t-SNE gradients in numba: exact and Barnes-Hut (FFT interpolation: _tsne_fft.py).

The output kernel is a Student-t with ``dof`` = alpha degrees of freedom,
w_ij = (1 + d_ij^2 / alpha)^(-alpha) (alpha = 1: van der Maaten & Hinton 2008,
eq. 4; general alpha: Kobak et al. 2019, "Heavy-tailed kernels reveal a finer
cluster structure in t-SNE visualisations"), q_ij = w_ij / Z, Z = sum_{k!=l}
w_kl. With r_ij = (1 + d_ij^2 / alpha)^(-1), the gradient of
KL(P || Q) is (eq. 5 for alpha = 1)

    dKL/dy_i = 4 [ sum_j p_ij r_ij (y_i - y_j) - (1/Z) sum_j w_ij r_ij (y_i - y_j) ].

Every function here returns the bracket (no factor 4), as openTSNE does; the
learning rates follow that convention. The attractive sum runs over the sparse
P; the repulsive sums R_i = sum_j w_ij r_ij (y_i - y_j) and Z_i = sum_j w_ij
are computed exactly (O(N^2)), by a Barnes-Hut tree (van der Maaten 2014,
"Accelerating t-SNE using tree-based algorithms", JMLR 15, sec. 4.2), or by
interpolation on an equispaced grid with FFT convolutions (Linderman et al.
2019, "Fast interpolation-based t-SNE for improved visualization of single-cell
RNA-seq data", Nature Methods 16, sec. "Online methods").

Kernels are parallel over points. No scikit-learn imports here.
"""

import numba
import numpy as np
from numba import prange

from ..utils._numba import jit, run_in_blocks

__all__ = [
    "attractive_forces",
    "exact_repulsive",
    "gradient_step",
    "build_tree",
    "bh_repulsive",
    "bh_repulsive_conditional",
]


def attractive_forces(indptr, indices, data, Y, reference, dof, exaggeration, out,
                      with_kl=True, pooled=False):
    """Attractive part sum_j p_ij r_ij (y_i - y_j), over a CSR matrix P.

    Parameters
    ----------
    indptr, indices, data : ndarrays
        CSR arrays of P (n_samples x n_reference).
    Y : ndarray of shape (n_samples, n_components)
        Embedding of the rows.
    reference : ndarray of shape (n_reference, n_components)
        Embedding of the columns (Y itself in fit).
    dof : float
        Degrees of freedom alpha.
    exaggeration : float
        Factor on P.
    out : ndarray of shape (n_samples, n_components)
        Output, overwritten.
    with_kl : bool, default=True
        Also sum p_ij log w_ij (a logarithm per pair: half the kernel's time,
        so the optimiser asks only when it reports).
    pooled : bool, default=False
        Run the row blocks on skgen's thread pool (``utils._numba.run_in_blocks``)
        instead of a parfor: when the repulsion runs there too (the exact sums),
        so that one kind of thread runs a step. Mixed, each waited on the
        other's spinning threads: 2.65 ms a step against 1.72 ms for the two
        kernels apart (600 digits, 2 cores).

    Returns
    -------
    sum_p_log_w : float
        sum_ij p_ij log w_ij (unexaggerated), for the KL divergence; 0 when
        not ``with_kl``.

    Notes
    -----
    Dispatches in Python to a 2-D kernel (coordinates in registers) or a
    general one, so that a fit compiles only the one it uses. The rows' sums
    are one serial kernel of a row range; the parfor (each costs about a
    second of compilation on first use) only splits the rows.
    """
    rows = _attractive_rows_2d if Y.shape[1] == 2 else _attractive_rows_nd
    args = (indptr, indices, data, Y, reference, float(dof), float(exaggeration), out,
            bool(with_kl))
    if pooled:
        parts = run_in_blocks(rows, Y.shape[0], numba.get_num_threads(), *args,
                              blocks_per_thread=1)
        return -float(dof) * sum(parts)
    kernel = _attractive_2d if Y.shape[1] == 2 else _attractive_nd
    return kernel(*args)


@jit(parallel=True)
def _attractive_nd(indptr, indices, data, Y, reference, dof, exaggeration, out,
                   with_kl):
    """attractive_forces for any number of components, as a parfor."""
    n = Y.shape[0]
    total = 0.0
    for i in prange(n):
        total += _attractive_rows_nd(indptr, indices, data, Y, reference, dof,
                                     exaggeration, out, with_kl, i, i + 1)
    return -dof * total


@jit(parallel=True)
def _attractive_2d(indptr, indices, data, Y, reference, dof, exaggeration, out,
                   with_kl):
    """attractive_forces for 2-D embeddings, as a parfor."""
    n = Y.shape[0]
    total = 0.0
    for i in prange(n):
        total += _attractive_rows_2d(indptr, indices, data, Y, reference, dof,
                                     exaggeration, out, with_kl, i, i + 1)
    return -dof * total


@jit(inline="always")
def _attractive_rows_nd(indptr, indices, data, Y, reference, dof, exaggeration, out,
                        with_kl, start, stop):
    """Rows ``start:stop`` of attractive_forces, any number of components;
    returns their sum_j p_ij log q_ij (the caller multiplies by -dof)."""
    dim = Y.shape[1]
    # A product per pair instead of a division (-35% kernel time; exact at dof=1).
    inv_dof = 1.0 / dof
    total = 0.0
    for i in range(start, stop):
        acc = 0.0
        for c in range(dim):
            out[i, c] = 0.0
        for ptr in range(indptr[i], indptr[i + 1]):
            # Unsigned: no negative-index wraparound test per pair (-25% time).
            j = np.uint64(indices[ptr])
            d2 = 0.0
            for c in range(dim):
                diff = Y[i, c] - reference[j, c]
                d2 += diff * diff
            q = 1.0 + d2 * inv_dof
            p = data[ptr]
            f = exaggeration * p / q
            for c in range(dim):
                out[i, c] += f * (Y[i, c] - reference[j, c])
            if with_kl:
                acc += p * np.log(q)
        total += acc
    return total


@jit(inline="always")
def _attractive_rows_2d(indptr, indices, data, Y, reference, dof, exaggeration, out,
                        with_kl, start, stop):
    """Rows ``start:stop`` of attractive_forces for 2-D embeddings, the
    coordinates held in registers; returns their sum_j p_ij log q_ij."""
    # A product per pair instead of a division: the kernel's two divisions
    # bounded it (-35% time on 10,000 points; exact at dof=1).
    inv_dof = 1.0 / dof
    total = 0.0
    for i in range(start, stop):
        acc = 0.0
        fx = 0.0
        fy = 0.0
        yx = Y[i, 0]
        yy = Y[i, 1]
        for ptr in range(indptr[i], indptr[i + 1]):
            # Unsigned: no negative-index wraparound test per pair (-25% time).
            j = np.uint64(indices[ptr])
            dx = yx - reference[j, 0]
            dy = yy - reference[j, 1]
            q = 1.0 + (dx * dx + dy * dy) * inv_dof
            p = data[ptr]
            f = p / q
            fx += f * dx
            fy += f * dy
            if with_kl:
                acc += p * np.log(q)
        out[i, 0] = exaggeration * fx
        out[i, 1] = exaggeration * fy
        total += acc
    return total


def exact_repulsive(Y, reference, exclude_self, dof, out, row_z):
    """Exact repulsive sums R_i and Z_i = sum_j w_ij against reference points.

    Blocks of points on numba's current number of threads
    (``utils._numba.run_in_blocks``: no parfor to compile); each row's sums
    do not depend on the blocks.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_components)
    reference : ndarray of shape (n_reference, n_components)
        Y itself (with ``exclude_self``) in fit; the frozen embedding in
        transform.
    exclude_self : bool
        Skip j == i (Y is ``reference``).
    dof : float
    out : ndarray of shape (n_samples, n_components)
        Output: R_i.
    row_z : ndarray of shape (n_samples,)
        Output: Z_i.
    """
    run_in_blocks(_exact_block, Y.shape[0], numba.get_num_threads(), Y, reference,
                  bool(exclude_self), float(dof), out, row_z, blocks_per_thread=1)


@jit
def _exact_block(Y, reference, exclude_self, dof, out, row_z, start, stop):
    dim = Y.shape[1]
    m = reference.shape[0]
    inv_dof = 1.0 / dof  # a product per pair, not a division (exact at dof=1)
    for i in range(start, stop):
        for c in range(dim):
            out[i, c] = 0.0
        z = 0.0
        for j in range(m):
            if exclude_self and j == i:
                continue
            d2 = 0.0
            for c in range(dim):
                diff = Y[i, c] - reference[j, c]
                d2 += diff * diff
            r = 1.0 / (1.0 + d2 * inv_dof)
            w = r if dof == 1.0 else r ** dof
            z += w
            for c in range(dim):
                out[i, c] += w * r * (Y[i, c] - reference[j, c])
        row_z[i] = z


@jit
def gradient_step(Y, grad, update, gains, momentum, learning_rate, min_gain,
                  max_step_norm, centre):
    """One step of gradient descent with momentum and gains, in place.

    Jacobs (1988) delta-bar-delta gains as in van der Maaten's and openTSNE's
    t-SNE: a gain grows by 0.2 where the gradient's sign differs from the last
    update's and shrinks by 0.8 where it agrees (never below ``min_gain``);
    update = momentum update - learning_rate gains grad, its norm per point
    clipped to ``max_step_norm`` (<= 0: no clipping); then the embedding is
    re-centred when ``centre``. Serial: a step takes 0.12 ms at 10,000 points
    and 17 ms at 1,000,000 (a few percent of an iteration's gradients there),
    where a parfor would cost about 2 s of compilation on a user's first fit.

    Parameters
    ----------
    Y, grad, update, gains : ndarrays of shape (n_samples, n_components)
        Embedding, gradient, previous update, gains; Y, update and gains are
        updated in place.
    momentum, learning_rate, min_gain, max_step_norm : float
    centre : bool
    """
    n, dim = Y.shape
    for i in range(n):
        norm2 = 0.0
        for c in range(dim):
            g = grad[i, c]
            u = update[i, c]
            # sign(g) != sign(u) as a select, not a branch: the signs agree
            # about half the time, unpredictably.
            differ = ((g > 0.0) != (u > 0.0)) | ((g < 0.0) != (u < 0.0))
            gain = gains[i, c]
            gain = gain + 0.2 if differ else max(gain * 0.8, min_gain)
            gains[i, c] = gain
            u = momentum * u - learning_rate * gain * g
            update[i, c] = u
            norm2 += u * u
        if max_step_norm > 0 and norm2 > max_step_norm * max_step_norm:
            f = max_step_norm / np.sqrt(norm2)
            for c in range(dim):
                update[i, c] *= f
        for c in range(dim):
            Y[i, c] += update[i, c]
    if centre:
        for c in range(dim):
            total = 0.0
            for i in range(n):
                total += Y[i, c]
            mean = total / n
            for i in range(n):
                Y[i, c] -= mean


# --- Barnes-Hut -------------------------------------------------------------------

_MAX_DEPTH = 48


def build_tree(Y, capacity):
    """Space-partitioning tree (binary / quad / octree) over the rows of Y.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, dim), dim in {1, 2, 3}
    capacity : int
        Nodes to allocate.

    Returns
    -------
    n_nodes : int
        Nodes used, or -1 when ``capacity`` was too small (call again with
        more).
    centre, half, com, count, child, point : ndarrays
        Per node: cell centre (capacity, dim), half-width (capacity,), centre
        of mass (capacity, dim), number of points (capacity,), index of the
        first of 2^dim children or -1 for a leaf (capacity,), one point of a
        leaf or -1 (capacity,). Coincident points share a leaf (so do points
        closer than 2^-48 of the root's width).
    """
    dim = Y.shape[1]
    # The arrays come from NumPy: numba's allocation overloads (np.zeros,
    # np.full) cost about half a second of a first compile.
    centre = np.zeros((capacity, dim))
    half = np.zeros(capacity)
    com = np.zeros((capacity, dim))
    count = np.zeros(capacity, dtype=np.int64)
    child = np.full(capacity, -1, dtype=np.int64)
    point = np.full(capacity, -1, dtype=np.int64)
    n_nodes = _build_tree(Y, centre, half, com, count, child, point,
                          np.zeros(capacity, dtype=np.int64))
    return n_nodes, centre, half, com, count, child, point


@jit
def _build_tree(Y, centre, half, com, count, child, point, depth):
    """build_tree's insertions into its zeroed arrays; returns n_nodes or -1."""
    capacity = half.shape[0]
    n, dim = Y.shape
    n_child = 1 << dim
    width = 0.0
    for c in range(dim):
        # Loops, not .min()/.max(): numba's reductions over a strided column
        # cost about a second of compilation together.
        lo = Y[0, c]
        hi = Y[0, c]
        for p in range(1, n):
            lo = min(lo, Y[p, c])
            hi = max(hi, Y[p, c])
        centre[0, c] = 0.5 * (lo + hi)
        width = max(width, hi - lo)
    half[0] = 0.5 * width * (1.0 + 1e-9) + 1e-12
    n_nodes = 1
    for p in range(n):
        node = 0
        while True:
            if child[node] >= 0:
                cnt = count[node]
                for c in range(dim):
                    com[node, c] = (com[node, c] * cnt + Y[p, c]) / (cnt + 1)
                count[node] = cnt + 1
                octant = 0
                for c in range(dim):
                    if Y[p, c] > centre[node, c]:
                        octant |= 1 << c
                node = child[node] + octant
                continue
            if count[node] == 0:
                point[node] = p
                count[node] = 1
                for c in range(dim):
                    com[node, c] = Y[p, c]
                break
            q = point[node]
            same = True
            for c in range(dim):
                if Y[p, c] != Y[q, c]:
                    same = False
            if same or depth[node] >= _MAX_DEPTH:
                cnt = count[node]
                for c in range(dim):
                    com[node, c] = (com[node, c] * cnt + Y[p, c]) / (cnt + 1)
                count[node] = cnt + 1
                break
            if n_nodes + n_child > capacity:
                return -1
            first = n_nodes
            n_nodes += n_child
            h = 0.5 * half[node]
            for o in range(n_child):
                nd = first + o
                half[nd] = h
                depth[nd] = depth[node] + 1
                for c in range(dim):
                    centre[nd, c] = centre[node, c] + (h if (o >> c) & 1 else -h)
            # Move the resident point(s) down into their child.
            octant = 0
            for c in range(dim):
                if com[node, c] > centre[node, c]:
                    octant |= 1 << c
            nd = first + octant
            point[nd] = q
            count[nd] = count[node]
            for c in range(dim):
                com[nd, c] = com[node, c]
            point[node] = -1
            child[node] = first
    return n_nodes


def bh_repulsive(Y, centre, half, com, count, child, dof, theta, out, row_z):
    """Barnes-Hut repulsive sums R_i and Z_i of the tree's own points.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, dim)
        The points the tree was built on.
    centre, half, com, count, child : ndarrays
        From :func:`build_tree`.
    dof : float
    theta : float
        Opening angle: a cell of width w at distance d is summarised by its
        centre of mass when w / d < theta.
    out : ndarray of shape (n_samples, dim)
        Output: R_i.
    row_z : ndarray of shape (n_samples,)
        Output: Z_i (the point itself excluded).
    """
    _bh_sums(Y, True, centre, half, com, count, child, float(dof), float(theta), out, row_z)


def bh_repulsive_conditional(Y_new, centre, half, com, count, child, dof, theta,
                             out, row_z):
    """Barnes-Hut sums of new points against a tree of reference points.

    As :func:`bh_repulsive`, for points that are not in the tree (TSNE's
    transform): nothing is excluded.
    """
    _bh_sums(Y_new, False, centre, half, com, count, child, float(dof), float(theta), out,
             row_z)


@jit(parallel=True)
def _bh_sums(Y, exclude_self, centre, half, com, count, child, dof, theta, out, row_z):
    """Barnes-Hut sums of every point of Y: Z_i into row_z[i], R_i into out[i];
    a depth-first walk of the tree per point (van der Maaten 2014, sec. 4.2).
    ``exclude_self``: the points are the tree's own. One parfor for fit and
    transform: it runs every iteration, where a Python thread pool's hand-off
    after the attractive parfor cost 1.3 ms per iteration on 1797 points (the
    parfor's threads still spin then)."""
    n, dim = Y.shape
    theta2 = theta * theta
    inv_dof = 1.0 / dof  # a product per interaction, not a division (exact at dof=1)
    for i in prange(n):
        stack = np.empty(_MAX_DEPTH * (1 << dim) + 8, dtype=np.int64)
        for c in range(dim):
            out[i, c] = 0.0
        z = 0.0
        top = 0
        stack[0] = 0
        while top >= 0:
            node = stack[top]
            top -= 1
            cnt = count[node]
            if cnt == 0:
                continue
            d2 = 0.0
            for c in range(dim):
                diff = Y[i, c] - com[node, c]
                d2 += diff * diff
            leaf = child[node] < 0
            if leaf and d2 == 0.0:
                # The point's own leaf: coincident points (duplicates) only.
                if exclude_self:
                    z += cnt - 1
                else:
                    z += cnt
                continue
            width = 2.0 * half[node]
            if leaf or width * width < theta2 * d2:
                r = 1.0 / (1.0 + d2 * inv_dof)
                w = r if dof == 1.0 else r ** dof
                z += cnt * w
                f = cnt * w * r
                for c in range(dim):
                    out[i, c] += f * (Y[i, c] - com[node, c])
            else:
                first = child[node]
                for o in range(1 << dim):
                    top += 1
                    stack[top] = first + o
        row_z[i] = z


# --- FFT-accelerated interpolation --------------------------------------------------
