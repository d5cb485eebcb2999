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
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._numba import numba_threads
from ..utils._progress import progress_bar
from ..utils._validation import check_array_param, check_X, power_of_two_scale
from ._base import EmbeddingMixin
from ._tsne_affinity import Affinities, effective_perplexity
from ._tsne_gradients import attractive_forces
from ._tsne_optimise import ConditionalRepulsion, Repulsion, WorkingOrder, gradient_descent

__all__ = ["TSNE"]

METHODS = ("auto", "exact", "barnes_hut", "fft")
# Below this many points 'auto' uses the exact gradient; from FFT_ABOVE on, FFT
# interpolation (1-D, 2-D), else Barnes-Hut. openTSNE switches at 10000; ours
# crosses over lower (measured, 2 cores: 5000 blobs, FFT 4.5 s vs BH 5.9 s;
# digits 1797, BH 1.6 s vs FFT 12 s, whose grid costs the same at any N).
EXACT_BELOW = 1000
FFT_ABOVE = 5000
# openTSNE's momentum in both phases. van der Maaten's 0.5 during early
# exaggeration expanded the embedding more slowly (mean KL of 2 seeds after 50
# iterations, digits: 3.126 with 0.5, 2.616 with 0.8; after 750: 0.7491, 0.7477).
EARLY_MOMENTUM = 0.8
# transform: openTSNE's defaults for placing new points.
TRANSFORM_ITER = 250
TRANSFORM_LEARNING_RATE = 0.1
TRANSFORM_EXAGGERATION = 1.5
TRANSFORM_MOMENTUM = 0.8
TRANSFORM_MAX_GRAD_NORM = 0.25


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
        """Fit's two phases of :func:`gradient_descent` from Y; returns the
        embedding, its KL (nats), the iterations, the last learning rate and
        the seconds of each stage."""
        n = Y.shape[0]
        p = P.data[P.data > 0]
        sum_p_log_p = float(np.sum(p * np.log(p)))
        update = np.zeros_like(Y)
        gains = np.ones_like(Y)
        n_early = min(self.early_exaggeration_iter, self.max_iter)
        # (exaggeration, iterations, momentum) of each phase.
        phases = [(float(self.early_exaggeration), n_early, EARLY_MOMENTUM),
                  (1.0, self.max_iter - n_early, 0.8)]
        it = 0
        stop = False
        timings = dict.fromkeys(("attractive", "repulsive", "update"), 0.0)
        order = WorkingOrder(P)
        bar = progress_bar(total=self.max_iter, desc="TSNE", disable=not self.verbose)
        # scikit-learn's gradient is 2 (dof + 1) / dof times ours (factor 4 at dof=1).
        grad_scale = 2.0 * (self.dof + 1.0) / self.dof
        try:
            for exaggeration, n_steps, momentum in phases:
                progress = {"best_kl": np.inf, "best_it": it}
                phase_start = it
                if n_steps:
                    tic = perf_counter()
                    order.sort(Y, update, gains)
                    timings["update"] += perf_counter() - tic

                def report(it, sum_p_log_w, z, grad, exaggeration=exaggeration,
                           progress=progress, phase_start=phase_start):
                    kl = sum_p_log_p - sum_p_log_w + np.log(z)
                    bar.set_postfix(kl=f"{kl:.4f}")
                    if callbacks and any(bool(cb(it, kl, order.original(Y)))
                                         for cb in callbacks):
                        return "stopped by a callback"
                    # scikit-learn's two stopping rules, at its check points, in
                    # the last phase only: while exaggerated, a small embedding's
                    # gradient is tiny although the phase is needed (200
                    # digits: norm < 1e-8 at iteration 100).
                    if exaggeration == 1.0 and it > phase_start:
                        if kl < progress["best_kl"]:
                            progress["best_kl"], progress["best_it"] = kl, it
                        elif it - progress["best_it"] > self.n_iter_without_progress:
                            return "no progress"
                        if grad_scale * np.linalg.norm(grad) <= self.min_grad_norm:
                            return "small gradient"
                    return None

                repulsion = Repulsion(method, self.dof, self.angle, n_threads,
                                      exaggerated=exaggeration > 1.0)
                if self.learning_rate == "auto":
                    lr = max(n / exaggeration, 1.0)
                else:
                    lr = float(self.learning_rate)
                it, outcome = gradient_descent(
                    Y, order.csr, repulsion, n_steps, update, gains, dof=float(self.dof),
                    exaggeration=exaggeration, momentum=momentum, learning_rate=lr,
                    start=it, report=report, timings=timings, bar=bar)
                if outcome == "stopped by a callback":
                    stop = True
                    break
        finally:
            bar.close()
        if not np.all(np.isfinite(Y)):
            raise ValueError(
                "The t-SNE optimisation diverged (non-finite embedding); lower "
                "learning_rate"
            )
        # KL of the returned embedding.
        indptr, indices, data = order.csr
        repulsion = Repulsion(method, self.dof, self.angle, n_threads)
        sum_p_log_w = attractive_forces(indptr, indices, data, Y, Y, float(self.dof),
                                        1.0, np.empty_like(Y), True, repulsion.pooled)
        kl = float(sum_p_log_p - sum_p_log_w + np.log(repulsion(Y, np.empty_like(Y))))
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
        self.perplexity_ = effective_perplexity(self.perplexity, n)
        method = self._resolve_method(n)
        rng = check_random_state(self.random_state)
        tic = perf_counter()
        Y = self._initial_embedding(X, rng)
        timings = {"initialization": perf_counter() - tic}
        affinities = Affinities(self.metric, self.metric_params, self.n_jobs, self.neighbors)
        with numba_threads(self.n_jobs) as n_threads:
            P = affinities.fit(X, method, rng, self.perplexity_, timings)
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
        self._affinity_model = affinities.set_reference(X)
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
        sum_l w(y, y_l) over every embedded training point (exact sums with
        fewer than 1000 training points or more than 3 components, as in fit;
        Barnes-Hut sums otherwise). Start: the median of its neighbours'
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
        P, ind, dist = self._affinity_model.to_new(X)
        Y = np.ascontiguousarray(np.median(ref[ind], axis=1))
        with numba_threads(self.n_jobs):
            gradient_descent(
                Y, (P.indptr, P.indices, P.data),
                ConditionalRepulsion(ref, self.dof, self.angle, exact_below=EXACT_BELOW),
                TRANSFORM_ITER, np.zeros_like(Y), np.ones_like(Y), reference=ref,
                dof=float(self.dof), exaggeration=TRANSFORM_EXAGGERATION,
                momentum=TRANSFORM_MOMENTUM, learning_rate=TRANSFORM_LEARNING_RATE,
                max_step_norm=-1.0, max_grad_norm=TRANSFORM_MAX_GRAD_NORM, centre=False)
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
