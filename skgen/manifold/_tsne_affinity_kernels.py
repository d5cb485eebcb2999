"""t-SNE input affinities: perplexity calibration in numba, symmetric P.

van der Maaten & Hinton (2008), "Visualizing data using t-SNE", JMLR 9, sec. 2:
p_{j|i} = exp(-beta_i d_ij^2) / sum_k exp(-beta_i d_ik^2), with beta_i = 1 /
(2 sigma_i^2) found by binary search so that the entropy of p_{.|i} equals
log(perplexity) (nats); then p_ij = (p_{j|i} + p_{i|j}) / (2N) (eq. 9 ff.).
Neighbours: the k = min(N - 1, 3 perplexity) nearest (van der Maaten 2014,
"Accelerating t-SNE using tree-based algorithms", sec. 4.1).

No scikit-learn imports here.
"""

import numba
import numpy as np
import scipy.sparse as sp

from ..utils._numba import jit, run_in_blocks

__all__ = ["conditional_probabilities", "joint_probabilities"]


def conditional_probabilities(sq_distances, target_entropy, tol, max_iter, out, betas):
    """Row-wise Gaussian conditionals with a given entropy, by binary search.

    Parameters
    ----------
    sq_distances : ndarray of shape (n_samples, k)
        Squared distances from each point to its k neighbours.
    target_entropy : float
        log(perplexity), nats.
    tol : float
        Stop when |H(p_{.|i}) - target| < tol (nats).
    max_iter : int
        Bisection steps at most.
    out : ndarray of shape (n_samples, k)
        Output: p_{j|i}, each row summing to 1.
    betas : ndarray of shape (n_samples,)
        Output: the precisions beta_i = 1 / (2 sigma_i^2) found.

    Notes
    -----
    Blocks of rows on numba's current number of threads
    (``numba.get_num_threads``, set by ``utils._numba.numba_threads``).
    Distances are shifted by each row's minimum before exponentiating (the
    normalisation cancels the shift), so no row underflows to all zeros. The
    search starts at beta = 1 / (mean shifted squared distance), so scaling
    the data scales every iterate and the result is scale-free. A row whose
    distances are all equal cannot reach an entropy below log k and stays
    uniform.
    """
    run_in_blocks(_conditional_block, sq_distances.shape[0], numba.get_num_threads(),
                  sq_distances, target_entropy, tol, max_iter, out, betas)


@jit
def _conditional_block(sq_distances, target_entropy, tol, max_iter, out, betas, start,
                       stop):
    k = sq_distances.shape[1]
    for i in range(start, stop):
        d = sq_distances[i]
        # A loop, not d.min(): numba's min costs 0.4 s of compilation.
        dmin = d[0]
        for j in range(1, k):
            dmin = min(dmin, d[j])
        # Start at the row's own scale (1 / mean shifted distance), not at 1:
        # the search is then the same for X and c X (masses in kg, 1e-50 units).
        spread = 0.0
        for j in range(k):
            spread += d[j] - dmin
        beta = k / spread if spread > 0 else 1.0
        lo = 0.0
        hi = np.inf
        p = out[i]
        for _ in range(max_iter):
            s = 0.0
            sd = 0.0
            for j in range(k):
                shifted = d[j] - dmin
                e = np.exp(-beta * shifted)
                p[j] = e
                s += e
                sd += e * shifted
            entropy = np.log(s) + beta * sd / s
            diff = entropy - target_entropy
            if abs(diff) < tol:
                break
            if diff > 0:  # too flat: sharpen
                lo = beta
                beta = beta * 2.0 if hi == np.inf else 0.5 * (beta + hi)
            else:
                hi = beta
                beta = 0.5 * (beta + lo)
        s = 0.0
        for j in range(k):
            s += p[j]
        for j in range(k):
            p[j] /= s
        betas[i] = beta


def joint_probabilities(indices, sq_distances, perplexity, *, tol=1e-8, max_iter=200):
    """Symmetric joint probabilities P from neighbour lists.

    Parameters
    ----------
    indices : ndarray of shape (n_samples, k)
        Each point's neighbours (not the point itself).
    sq_distances : ndarray of shape (n_samples, k)
        Squared distances to them.
    perplexity : float
        Target perplexity, below k.
    tol : float, default=1e-8
        Entropy tolerance of the calibration, nats.
    max_iter : int, default=200
        Bisection steps.

    Returns
    -------
    P : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        p_ij = (p_{j|i} + p_{i|j}) / (2 N): symmetric, summing to 1, sorted
        indices.
    conditional : ndarray of shape (n_samples, k)
        p_{j|i}.
    """
    n, k = indices.shape
    sq_distances = np.ascontiguousarray(sq_distances, dtype=np.float64)
    conditional = np.empty((n, k))
    betas = np.empty(n)
    conditional_probabilities(sq_distances, float(np.log(perplexity)), float(tol),
                              int(max_iter), conditional, betas)
    P = sp.csr_matrix((conditional.ravel(), indices.ravel(),
                       np.arange(0, n * k + 1, k)), shape=(n, n))
    P = (P + P.T).tocsr()
    P.sum_duplicates()
    P.sort_indices()
    P.data /= 2.0 * n
    return P, conditional
