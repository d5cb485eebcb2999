"""t-distributed stochastic neighbour embedding with numba gradients.

van der Maaten & Hinton (2008), "Visualizing data using t-SNE", JMLR 9: input
affinities from perplexity-calibrated Gaussians (``_tsne_affinity``), output
affinities from a Student-t kernel, and gradient descent on KL(P || Q) with
momentum, gains and early exaggeration (sec. 3.4). The gradients
(``_tsne_gradients``) are exact, Barnes-Hut (van der Maaten 2014) or FFT
interpolation (Linderman et al. 2019). Defaults follow openTSNE (Policar et
al. 2024, "openTSNE: a modular Python library for t-SNE dimensionality
reduction and embedding", JSS 109): PCA initialisation scaled to standard
deviation 1e-4, exaggeration 12 for 250 iterations then 500 more, learning
rate N / exaggeration (Belkina et al. 2019), update norms clipped at 5.
"""

import numbers
import warnings
from time import perf_counter

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.metrics import pairwise_distances
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._numba import numba_threads
from ..utils._progress import progress_bar
from ..utils._validation import check_array_param, check_X, power_of_two_scale
from ._base import EmbeddingMixin
from ._tsne_affinity import conditional_probabilities, joint_probabilities
from ._tsne_fft import FFTRepulsion
from ._tsne_gradients import (attractive_forces, bh_repulsive,
                              bh_repulsive_conditional, build_tree,
                              exact_repulsive, gradient_step)

__all__ = ["TSNE", "kl_divergence"]

METHODS = ("auto", "exact", "barnes_hut", "fft")
# Below this many points 'auto' uses the exact gradient; from FFT_ABOVE on, FFT
# interpolation (1-D, 2-D), else Barnes-Hut. openTSNE switches at 10000; ours
# crosses over lower (measured, 2 cores: 5000 blobs, FFT 4.5 s vs BH 5.9 s;
# digits 1797, BH 1.6 s vs FFT 12 s, whose grid costs the same at any N).
EXACT_BELOW = 1000
FFT_ABOVE = 5000
# Exact neighbours up to this many points, approximate (pynndescent) above.
# Measured on MNIST 70000 x 50, 2 cores: exact (scikit-learn, brute force) 10.1 s;
# pynndescent 13.7 s, 35.6 s on its first call in a process (its compilation).
APPROX_NEIGHBORS_ABOVE = 100_000
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
# openTSNE's momentum in both phases. van der Maaten's 0.5 during early
# exaggeration expanded the embedding more slowly (mean KL of 2 seeds after 50
# iterations, digits: 3.126 with 0.5, 2.616 with 0.8; after 750: 0.7491, 0.7477).
EARLY_MOMENTUM = 0.8
REPORT_EVERY = 50
# transform: openTSNE's defaults for placing new points.
TRANSFORM_PERPLEXITY = 5.0
TRANSFORM_ITER = 250
TRANSFORM_LEARNING_RATE = 0.1
TRANSFORM_EXAGGERATION = 1.5
TRANSFORM_MOMENTUM = 0.8
TRANSFORM_MAX_GRAD_NORM = 0.25


def _tree(Y):
    """Barnes-Hut tree over Y, growing the node budget until it fits."""
    capacity = max(64, 4 * (1 << Y.shape[1]) * Y.shape[0])
    while True:
        n_nodes, centre, half, com, count, child, _ = build_tree(Y, capacity)
        if n_nodes > 0:
            return centre, half, com, count, child
        capacity *= 2


def _effective_perplexity(perplexity, n_samples):
    """``perplexity`` where scikit-learn accepts it (below n_samples), else lowered.

    scikit-learn's TSNE takes any perplexity below n_samples, with min(n - 1,
    3 perplexity + 1) neighbours. Only where it would refuse (perplexity >=
    n_samples) is the value lowered, with a warning, to max((n_samples - 1) /
    3, 1) (openTSNE's rule: three perplexities' worth of neighbours), so that
    the default instance fits the smallest data.
    """
    if perplexity >= n_samples:
        bound = max((n_samples - 1) / 3.0, 1.0)
        warnings.warn(
            f"perplexity={perplexity:g} must be less than n_samples={n_samples}; "
            f"using perplexity={bound:.4g} = max((n_samples - 1) / 3, 1) instead.",
            UserWarning,
        )
        return bound
    return float(perplexity)


def _n_neighbors(perplexity, n_samples):
    """scikit-learn's neighbour count: min(n_samples - 1, 3 perplexity + 1)."""
    return min(n_samples - 1, int(3.0 * perplexity + 1))


class _Repulsion:
    """R_i and Z of an embedding by the chosen method (fit)."""

    def __init__(self, method, dof, angle, n_threads, exaggerated=False):
        self.method = method
        self.dof = float(dof)
        self.angle = float(angle)
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


class _WorkingOrder:
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


def _classical_mds(D, d):
    """Classical MDS (Torgerson 1952): the top d axes of -1/2 J D^2 J.

    For Euclidean distances this is the PCA projection of the points.
    """
    B = -0.5 * np.asarray(D, dtype=np.float64) ** 2
    B -= B.mean(axis=0)
    B -= B.mean(axis=1)[:, None]
    n = B.shape[0]
    w, v = scipy.linalg.eigh(B, subset_by_index=(max(n - d, 0), n - 1))
    w, v = w[::-1], v[:, ::-1]
    Y = v * np.sqrt(np.maximum(w, 0))
    if Y.shape[1] < d:
        Y = np.hstack([Y, np.zeros((n, d - Y.shape[1]))])
    return Y


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
                                    forces, True)
    exact_repulsive(Y, Y, True, float(dof), forces, row_z)
    p = P.data[P.data > 0]
    return float(np.sum(p * np.log(p)) - sum_p_log_w + np.log(row_z.sum()))


class TSNE(EmbeddingMixin, TransformerMixin, BaseEstimator):
    """t-SNE with numba gradients: exact, Barnes-Hut or FFT interpolation.

    Parameters
    ----------
    n_components : int, default=2
        Dimension of the embedding. 'fft' supports 1 and 2, 'barnes_hut' 1 to 3,
        'exact' any.
    perplexity : float, default=30.0
        Effective number of neighbours of the input affinities (van der Maaten
        & Hinton 2008, eq. 3). Uses the min(n_samples - 1, 3 perplexity + 1)
        nearest neighbours, as scikit-learn. A perplexity of n_samples or more,
        which scikit-learn refuses, is lowered to max((n_samples - 1) / 3, 1)
        with a warning (openTSNE's rule); ``perplexity_`` holds the value
        used. The calibration starts from each point's own distance scale, so
        X and c X give the same affinities.
    early_exaggeration : float, default=12.0
        Factor on P during the first ``early_exaggeration_iter`` iterations.
    early_exaggeration_iter : int, default=250
        Iterations of early exaggeration (momentum 0.8 throughout, as
        openTSNE).
    max_iter : int, default=750
        Iterations in all, early exaggeration included (openTSNE's 250 + 500;
        scikit-learn's default is 1000, which works the same way here).
    n_iter_without_progress : int, default=300
        Stop when the KL divergence (evaluated every 50 iterations) has not
        reached a new minimum for more than this many iterations, as
        scikit-learn; checked after early exaggeration only (while
        exaggerated, a small embedding barely moves although the phase is
        needed).
    min_grad_norm : float, default=1e-7
        Stop when the gradient's norm, evaluated every 50 iterations after
        early exaggeration, is at most this (in scikit-learn's units: 2 (dof +
        1) / dof times the gradient used here).
    learning_rate : 'auto' or float, default='auto'
        Step size. 'auto': N / exaggeration in each phase (N / 12, then N;
        Belkina et al. 2019, openTSNE's rule). Our gradient omits the factor 4
        of the KL gradient (as openTSNE), so a learning rate of eta here equals
        eta / 4 in scikit-learn's TSNE, and scikit-learn's 'auto' (max(N / 12
        / 4, 50)) is N / 12 here for N >= 2400.
    init : {'pca', 'random'} or ndarray of shape (n_samples, n_components), default='pca'
        'pca': the first principal components scaled so that the first has
        standard deviation 1e-4 (sparse X too, by ARPACK; with
        metric='precomputed', classical MDS of the distances, which is PCA for
        Euclidean ones, or 'random' with a warning for a sparse distance
        matrix); 'random': N(0, 1e-8); an array is used as given.
    metric : str, default='euclidean'
        Input distance (any metric of ``sklearn.neighbors.NearestNeighbors``,
        and of pynndescent for approximate neighbours); affinities use its
        square (scikit-learn squares only 'euclidean'). 'precomputed': X is a
        square matrix of distances (dense, or sparse with at least the needed
        neighbours stored per row); ``transform`` then takes the distances
        from new points to the training points, and ``inverse_transform`` and
        ``sample`` (which need the input space) raise.
    metric_params : dict or None, default=None
        Keyword arguments of the metric (scikit-learn's ``metric_params``,
        pynndescent's ``metric_kwds``).
    dof : float, default=1.0
        Degrees of freedom alpha of the Student-t kernel (1 + d^2 / alpha)^-alpha;
        smaller is heavier-tailed (Kobak et al. 2019).
    angle : float, default=0.5
        Barnes-Hut opening angle: cells of width w at distance d with w / d <
        angle are summarised by their centre of mass.
    method : {'auto', 'exact', 'barnes_hut', 'fft'}, default='auto'
        Gradient. 'auto': exact below 1000 points; FFT interpolation from 5000
        points when n_components <= 2; Barnes-Hut otherwise.
    neighbors : {'auto', 'exact', 'approx'}, default='auto'
        Neighbour search for the affinities: exact (scikit-learn), or
        approximate (pynndescent, Dong et al. 2011); 'auto' is approximate above
        100000 points (below, brute force is the faster on a few cores). The exact gradient always uses all pairs.
    random_state : int, RandomState instance or None, default=None
        Seeds the random initialisation and pynndescent.
    n_jobs : int or None, default=None
        Threads of the numba kernels, the neighbour search and the FFTs (None:
        the cores other processes leave idle for the numba kernels; -1: all).
    verbose : bool, default=False
        Progress bar with the KL divergence (every 50 iterations).
    callbacks : callable or list of callables, default=None
        Each is called every 50 iterations and after the last as
        ``callback(iteration, kl_divergence, embedding)``: the embedding after
        ``iteration`` steps and its KL divergence (nats). A true return value
        stops the optimisation there, and that embedding is the result. Each
        must be callable (checked in ``fit``, before any work).

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        The embedding.
    kl_divergence_ : float
        KL(P || Q) of the final embedding, nats, with Z from the gradient's own
        method (exact for 'exact').
    n_iter_ : int
        Iterations run.
    learning_rate_ : float
        Learning rate of the last phase.
    method_ : {'exact', 'barnes_hut', 'fft'}
        The gradient used (what ``method='auto'`` chose).
    perplexity_ : float
        The perplexity used (``perplexity``, or less on small data).
    affinities_ : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        The joint probabilities P.
    timings_ : dict of str to float
        Seconds (wall clock) of each phase of the fit: 'initialization' (PCA
        or random start), 'neighbors' (the neighbour search, or all pairwise
        distances for 'exact'), 'affinities' (perplexity calibration and
        symmetrisation of P), and, summed over iterations, 'attractive' (the
        sum over P), 'repulsive' (exact, Barnes-Hut or FFT) and 'update'
        (gradient, gains, momentum step; from 100000 points also the
        re-sorting of the points along a Morton curve of the embedding at each
        phase's start, which keeps each point's neighbours near it in memory).
        The final KL evaluation is not included.
    n_features_in_ : int

    Raises
    ------
    ValueError
        In fit: method='fft' with n_components > 2,
        method='barnes_hut' with n_components > 3, an init array of the wrong
        shape, NaN/inf, fewer than 2 samples.

    Notes
    -----
    ``transform`` places new points by optimising each one's own KL divergence
    against the frozen embedding (openTSNE's ``transform``: perplexity 5,
    initialised at the median of its neighbours' positions, 250 iterations of
    step 0.1 with exaggeration 1.5): each point's result does not depend on
    the other new points. ``inverse_transform``, ``sample`` and ``score`` are
    those of LLE (barycentric map back, KDE draws, trustworthiness).

    Same ``random_state`` and ``n_jobs``: same embedding.

    References
    ----------
    van der Maaten & Hinton (2008), JMLR 9, 2579-2605. van der Maaten (2014),
    JMLR 15, 3221-3245. Linderman et al. (2019), Nature Methods 16, 243-245.
    Belkina et al. (2019), Nature Communications 10, 5415. Policar et al.
    (2024), JSS 109.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgen import TSNE
    >>> X = load_digits().data[:500]
    >>> emb = TSNE(random_state=0).fit_transform(X)
    >>> emb.shape
    (500, 2)
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "perplexity": [Interval(numbers.Real, 0, None, closed="neither")],
        "early_exaggeration": [Interval(numbers.Real, 1, None, closed="left")],
        "early_exaggeration_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"auto"}),
                          Interval(numbers.Real, 0, None, closed="neither")],
        "init": [StrOptions({"pca", "random"}), np.ndarray],
        "metric": [str, callable],
        "metric_params": [dict, None],
        "n_iter_without_progress": [Interval(numbers.Integral, -1, None, closed="left")],
        "min_grad_norm": [Interval(numbers.Real, 0, None, closed="left")],
        "dof": [Interval(numbers.Real, 0, None, closed="neither")],
        "angle": [Interval(numbers.Real, 0, 1, closed="both")],
        "method": [StrOptions(set(METHODS))],
        "neighbors": [StrOptions({"auto", "exact", "approx"})],
        "random_state": ["random_state"],
        "n_jobs": [None, numbers.Integral],
        "verbose": ["verbose"],
        "callbacks": [None, callable, list, tuple],
    }

    def __init__(self, n_components=2, *, perplexity=30.0, early_exaggeration=12.0,
                 early_exaggeration_iter=250, learning_rate="auto", max_iter=750,
                 n_iter_without_progress=300, min_grad_norm=1e-7, metric="euclidean",
                 metric_params=None, init="pca", dof=1.0, angle=0.5, method="auto",
                 neighbors="auto", random_state=None, n_jobs=None, verbose=False,
                 callbacks=None):
        self.n_components = n_components
        self.perplexity = perplexity
        self.early_exaggeration = early_exaggeration
        self.early_exaggeration_iter = early_exaggeration_iter
        self.max_iter = max_iter
        self.n_iter_without_progress = n_iter_without_progress
        self.min_grad_norm = min_grad_norm
        self.learning_rate = learning_rate
        self.init = init
        self.metric = metric
        self.metric_params = metric_params
        self.dof = dof
        self.angle = angle
        self.method = method
        self.neighbors = neighbors
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.callbacks = callbacks

    # --- set-up ---------------------------------------------------------------

    def _resolve_method(self, n):
        d = self.n_components
        method = self.method
        if method == "auto":
            if n < EXACT_BELOW:
                method = "exact"
            elif n >= FFT_ABOVE and d <= 2:
                method = "fft"
            elif d <= 3:
                method = "barnes_hut"
            else:
                method = "exact"
        if method == "fft" and d > 2:
            raise ValueError(
                f"method='fft' interpolates in 1 or 2 dimensions, got n_components="
                f"{d}; use method='barnes_hut' for 3"
            )
        if method == "barnes_hut" and d > 3:
            raise ValueError(
                f"method='barnes_hut' supports n_components <= 3, got {d}; use "
                "method='exact'"
            )
        return method

    def _neighbours(self, X, k, rng):
        """k nearest neighbours (self excluded) and squared distances."""
        n = X.shape[0]
        approx = self.metric != "precomputed" and (self.neighbors == "approx" or (
            self.neighbors == "auto" and n > APPROX_NEIGHBORS_ABOVE))
        if approx:
            from pynndescent import NNDescent

            index = NNDescent(X, n_neighbors=k + 1, metric=self.metric,
                              metric_kwds=self.metric_params,
                              random_state=rng.randint(np.iinfo(np.int32).max),
                              n_jobs=self.n_jobs, compressed=True)
            ind, dist = index.neighbor_graph
            # Drop each row's own index (not always first with duplicates).
            own = ind == np.arange(n)[:, None]
            keep = ~own
            keep[own.sum(1) == 0, -1] = False
            ind = ind[keep].reshape(n, k)
            dist = dist[keep].reshape(n, k)
        else:
            index = NearestNeighbors(n_neighbors=k, metric=self.metric,
                                     metric_params=self.metric_params,
                                     n_jobs=self.n_jobs).fit(X)
            dist, ind = index.kneighbors()
        return ind.astype(np.int64), np.asarray(dist, dtype=np.float64) ** 2

    def _affinities(self, X, method, rng, perplexity, timings):
        n = X.shape[0]
        tic = perf_counter()
        if method == "exact" and not (self.metric == "precomputed" and sp.issparse(X)):
            if self.metric == "precomputed":
                D = X
            else:
                D = pairwise_distances(X, metric=self.metric, n_jobs=self.n_jobs,
                                       **(self.metric_params or {}))
            D = np.asarray(D, dtype=np.float64) ** 2
            ind = np.empty((n, n - 1), dtype=np.int64)
            for i in range(n):
                ind[i, :i] = np.arange(i)
                ind[i, i:] = np.arange(i + 1, n)
            sq = np.take_along_axis(D, ind, axis=1)
        else:
            ind, sq = self._neighbours(X, _n_neighbors(perplexity, n), rng)
        timings["neighbors"] = perf_counter() - tic
        tic = perf_counter()
        P, _ = joint_probabilities(ind, sq, perplexity)
        timings["affinities"] = perf_counter() - tic
        return P

    def _initial_embedding(self, X, rng):
        n, d = X.shape[0], self.n_components
        if isinstance(self.init, np.ndarray):
            return check_array_param(self.init, "init", (n, d), np.float64).copy()
        if self.init == "pca" and self.metric == "precomputed":
            if sp.issparse(X):
                warnings.warn(
                    "init='pca' needs every distance; with a sparse precomputed "
                    "distance matrix the embedding starts at random (init='random')",
                    UserWarning,
                )
            else:
                Y = _classical_mds(X, d)
                std = np.std(Y[:, 0])
                if std > 0 and np.all(np.isfinite(Y)):
                    return Y / std * 1e-4
        elif self.init == "pca" and d < min(X.shape) + (not sp.issparse(X)):
            from ..decomposition import PCA

            # "default": a global transform_output="pandas" must not reach inside.
            # Sparse X: ARPACK (centred implicitly), seeded for a reproducible fit.
            solver = {"svd_solver": "arpack", "random_state": 0} if sp.issparse(X) else {}
            pca = PCA(n_components=d, **solver).set_output(transform="default")
            Y = pca.fit_transform(X).astype(np.float64)
            std = np.std(Y[:, 0])
            if std > 0 and np.all(np.isfinite(Y)):
                return Y / std * 1e-4
        return rng.normal(0.0, 1e-4, size=(n, d))

    # --- optimisation ------------------------------------------------------------

    def _callbacks(self):
        """``callbacks`` as a list, each checked callable (ValueError otherwise)."""
        callbacks = self.callbacks
        if callbacks is None:
            return []
        if not isinstance(callbacks, (list, tuple)):
            callbacks = [callbacks]
        for cb in callbacks:
            if not callable(cb):
                raise ValueError(
                    f"callbacks must be callables or a list of them, got {cb!r} in "
                    f"{self.callbacks!r}"
                )
        return list(callbacks)

    def _optimise(self, P, Y, method, n_threads, callbacks):
        n = Y.shape[0]
        p = P.data[P.data > 0]
        sum_p_log_p = float(np.sum(p * np.log(p)))
        attract = np.empty_like(Y)
        repel = np.empty_like(Y)
        update = np.zeros_like(Y)
        gains = np.ones_like(Y)
        n_early = min(self.early_exaggeration_iter, self.max_iter)
        # (exaggeration, iterations, momentum) of each phase.
        phases = [(float(self.early_exaggeration), n_early, EARLY_MOMENTUM),
                  (1.0, self.max_iter - n_early, 0.8)]
        it = 0
        stop = False
        timings = dict.fromkeys(("attractive", "repulsive", "update"), 0.0)
        order = _WorkingOrder(P)
        indptr, indices, data = order.csr
        bar = progress_bar(total=self.max_iter, desc="TSNE", disable=not self.verbose)
        # scikit-learn's gradient is 2 (dof + 1) / dof times ours (factor 4 at dof=1).
        grad_scale = 2.0 * (self.dof + 1.0) / self.dof
        try:
            for exaggeration, n_steps, momentum in phases:
                best_kl, best_it, phase_start = np.inf, it, it
                if n_steps:
                    tic = perf_counter()
                    order.sort(Y, update, gains)
                    indptr, indices, data = order.csr
                    timings["update"] += perf_counter() - tic
                repulsion = _Repulsion(method, self.dof, self.angle, n_threads,
                                       exaggerated=exaggeration > 1.0)
                if self.learning_rate == "auto":
                    lr = max(n / exaggeration, 1.0)
                else:
                    lr = float(self.learning_rate)
                for _ in range(n_steps):
                    # The KL comes with the forces at Y, before the step: report
                    # (and call back) with the embedding it belongs to.
                    report = it > 0 and it % REPORT_EVERY == 0
                    tic = perf_counter()
                    sum_p_log_w = attractive_forces(indptr, indices, data, Y, Y,
                                                    float(self.dof), exaggeration,
                                                    attract, report)
                    toc = perf_counter()
                    timings["attractive"] += toc - tic
                    z = repulsion(Y, repel)
                    tic = perf_counter()
                    timings["repulsive"] += tic - toc
                    grad = attract - repel / z
                    if report:
                        kl = sum_p_log_p - sum_p_log_w + np.log(z)
                        bar.set_postfix(kl=f"{kl:.4f}")
                        if callbacks and any(bool(cb(it, kl, order.original(Y)))
                                             for cb in callbacks):
                            stop = True
                            break
                        # scikit-learn's two stopping rules, at its check points,
                        # in the last phase only: while exaggerated, a small
                        # embedding's gradient is tiny although the phase is
                        # needed (200 digits: norm < 1e-8 at iteration 100).
                        if exaggeration == 1.0 and it > phase_start:
                            if kl < best_kl:
                                best_kl, best_it = kl, it
                            elif it - best_it > self.n_iter_without_progress:
                                break
                            if grad_scale * np.linalg.norm(grad) <= self.min_grad_norm:
                                break
                    gradient_step(Y, grad, update, gains, momentum, lr, MIN_GAIN,
                                  MAX_STEP_NORM, True)
                    timings["update"] += perf_counter() - tic
                    it += 1
                    bar.update(1)
                if stop:
                    break
        finally:
            bar.close()
        if not np.all(np.isfinite(Y)):
            raise ValueError(
                "The t-SNE optimisation diverged (non-finite embedding); lower "
                "learning_rate"
            )
        # KL of the returned embedding.
        repulsion = _Repulsion(method, self.dof, self.angle, n_threads)
        sum_p_log_w = attractive_forces(indptr, indices, data, Y, Y, float(self.dof),
                                        1.0, attract, True)
        kl = float(sum_p_log_p - sum_p_log_w + np.log(repulsion(Y, repel)))
        Y = order.original(Y)
        if callbacks and not stop:
            for cb in callbacks:
                cb(it, kl, Y)
        return Y, kl, it, lr, timings

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Compute the embedding of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, at least 2 rows.
        y : ignored

        Returns
        -------
        self : TSNE
            Fitted estimator.

        Raises
        ------
        ValueError
            See the class's Raises section.
        """
        X = self._check_input(X, reset=True)
        # The optimisation runs on X rescaled by a power of two (exact), so that
        # X and 2^k X give the same embedding bit for bit; _fit_X keeps X.
        X_fit, scale = X, power_of_two_scale(X)
        if scale != 1.0:
            X = X * scale
        n = X.shape[0]
        callbacks = self._callbacks()
        self.perplexity_ = _effective_perplexity(self.perplexity, n)
        method = self._resolve_method(n)
        rng = check_random_state(self.random_state)
        tic = perf_counter()
        Y = self._initial_embedding(X, rng)
        timings = {"initialization": perf_counter() - tic}
        with numba_threads(self.n_jobs) as n_threads:
            P = self._affinities(X, method, rng, self.perplexity_, timings)
            Y, kl, n_iter, lr, phases = self._optimise(
                P, np.ascontiguousarray(Y), method, n_threads, callbacks)
        timings.update(phases)
        self.timings_ = timings
        self.embedding_ = Y
        self.kl_divergence_ = kl
        self.n_iter_ = n_iter
        self.learning_rate_ = lr
        self.affinities_ = P
        X = X_fit
        self._fit_X = X
        self.method_ = method
        self._method = method
        self._embedding_nbrs = None
        self._input_nbrs = NearestNeighbors(metric=self.metric,
                                            metric_params=self.metric_params,
                                            n_jobs=self.n_jobs).fit(X)
        return self

    def _check_input(self, X, reset):
        """X as float64 (C, writable) or CSR; a precomputed matrix checked too."""
        X = check_X(self, X, reset=reset, accept_sparse=["csr", "csc", "coo"],
                    ensure_min_samples=2 if reset else 1, magnitude_dtype=np.float64)
        if sp.issparse(X):
            X = sp.csr_matrix(X, dtype=np.float64)
            X.sort_indices()
        else:
            # Writable C float64: a read-only array is another numba type.
            X = np.require(X, dtype=np.float64, requirements=["C", "W"])
        if self.metric == "precomputed":
            values = X.data if sp.issparse(X) else X
            if reset and X.shape[0] != X.shape[1]:
                raise ValueError(
                    f"metric='precomputed' needs a square distance matrix in fit, got "
                    f"X of shape {X.shape}"
                )
            if np.any(values < 0):
                raise ValueError(
                    "metric='precomputed': X holds negative distances (minimum "
                    f"{float(values.min()):.3g}); distances are non-negative"
                )
        return X

    def _input_space(self, what):
        if self.metric == "precomputed":
            raise ValueError(
                f"{what} maps back to the input space, which metric='precomputed' "
                "does not have (the model saw only distances)"
            )

    def transform(self, X):
        """Place new points in the frozen embedding.

        Each new point y minimises its own KL(p || q) with the training points:
        p_j are Gaussian conditionals of perplexity 5 (or less, with few
        training points) over its 15 nearest training points, q_j = w(y, y_j) /
        sum_l w(y, y_l) over every embedded training point (Barnes-Hut sums for
        n_components <= 3, exact above). Start: the median of its neighbours'
        positions; 250 iterations of gradient descent (step 0.1, exaggeration
        1.5, momentum 0.8, gradient norm clipped at 0.25; openTSNE's
        ``transform`` defaults). A row equal to a training row is placed at
        that row's embedding, so ``fit(X).transform(X)`` equals
        ``fit_transform(X)``; each other row is placed independently of the
        rest of X.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            New points; with metric='precomputed', their distances to the
            training points, shape (n_samples, n_training_samples).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)

        Raises
        ------
        ValueError
            Before fit (NotFittedError), on NaN/inf or a wrong number of
            features.
        """
        check_is_fitted(self)
        X = self._check_input(X, reset=False)
        ref = self.embedding_
        n_ref, d = ref.shape
        k = min(n_ref, int(3 * TRANSFORM_PERPLEXITY))
        perplexity = min(TRANSFORM_PERPLEXITY, max(k - 1, 1) * 0.5)
        dist, ind = self._input_nbrs.kneighbors(X, k)
        ind = ind.astype(np.int64)
        cond = np.empty(ind.shape)
        betas = np.empty(X.shape[0])
        with numba_threads(self.n_jobs):
            conditional_probabilities(np.ascontiguousarray(dist ** 2),
                                      float(np.log(perplexity)), 1e-8, 200, cond,
                                      betas)
            P = sp.csr_matrix((cond.ravel(), ind.ravel(),
                               np.arange(0, ind.size + 1, k)),
                              shape=(X.shape[0], n_ref))
            Y = np.ascontiguousarray(np.median(ref[ind], axis=1))
            tree = _tree(ref) if d <= 3 else None
            attract = np.empty_like(Y)
            repel = np.empty_like(Y)
            row_z = np.empty(Y.shape[0])
            update = np.zeros_like(Y)
            gains = np.ones_like(Y)
            dof = float(self.dof)
            for _ in range(TRANSFORM_ITER):
                attractive_forces(P.indptr, P.indices, P.data, Y, ref, dof,
                                  TRANSFORM_EXAGGERATION, attract, False)
                if tree is not None:
                    bh_repulsive_conditional(Y, *tree, dof, float(self.angle),
                                             repel, row_z)
                else:
                    exact_repulsive(Y, ref, False, dof, repel, row_z)
                grad = attract - repel / row_z[:, None]
                norm = np.linalg.norm(grad, axis=1, keepdims=True)
                grad *= np.minimum(1.0, TRANSFORM_MAX_GRAD_NORM / (norm + 1e-12))
                gradient_step(Y, grad, update, gains, TRANSFORM_MOMENTUM,
                              TRANSFORM_LEARNING_RATE, MIN_GAIN, -1.0, False)
        # A row equal to a training row already has its place: fit(X).transform(X)
        # is fit_transform(X), as scikit-learn's transformer contract wants.
        same = dist[:, 0] == 0
        Y[same] = ref[ind[same, 0]]
        return Y

    def inverse_transform(self, X):
        self._input_space("inverse_transform")
        return super().inverse_transform(X)

    inverse_transform.__doc__ = EmbeddingMixin.inverse_transform.__doc__

    def sample(self, n_samples=1, random_state=None):
        self._input_space("sample")
        return super().sample(n_samples, random_state)

    sample.__doc__ = EmbeddingMixin.sample.__doc__

    def score(self, X, y=None):
        if self.metric == "precomputed":
            raise ValueError(
                "score needs the distances among the rows of X (trustworthiness), "
                "but with metric='precomputed' transform takes distances to the "
                "training points; score the embedding with "
                "sklearn.manifold.trustworthiness(D, embedding, metric='precomputed')"
            )
        return super().score(X, y)

    score.__doc__ = EmbeddingMixin.score.__doc__

    def _map_neighbors(self):
        return 10

    def _map_reg(self):
        return 1e-3

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        tags.non_deterministic = False
        tags.input_tags.sparse = True
        tags.input_tags.pairwise = self.metric == "precomputed"
        return tags
