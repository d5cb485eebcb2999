"""Locally linear embedding: standard, modified, Hessian and LTSA.

Roweis & Saul (2000), "Nonlinear dimensionality reduction by locally linear
embedding", Science 290: reconstruct each point from its neighbours with
weights summing to one (eqs. 1-2), then find the low-dimensional points that
the same weights reconstruct best: the bottom eigenvectors of
M = (I - W)^T (I - W) (eq. 3), skipping the constant one. The other methods
change only the local terms of M (see ``_lle_kernels``).

M is assembled sparse from per-point blocks (never a dense N x N unless the
dense solver is asked for); its bottom eigenvectors come from ``_lle_eigen``.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._numba import numba_threads, single_threaded_blas
from ..utils._validation import check_X
from ._barycenter import barycenter_weights
from ._base import EmbeddingMixin, barycentric_map
from ._lle_eigen import graph_components, null_space
from ._lle_kernels import (hessian_blocks, local_spectra, ltsa_blocks,
                           modified_blocks, standard_blocks)

__all__ = ["LLE", "locally_linear_embedding"]

METHODS = ("standard", "modified", "hessian", "ltsa")
EIGEN_SOLVERS = ("auto", "arpack", "dense", "lobpcg")


def assemble(indices, blocks):
    """Sum per-point blocks into the sparse alignment matrix M.

    Parameters
    ----------
    indices : ndarray of shape (n_samples, k)
        Each point's neighbours (not the point itself).
    blocks : ndarray of shape (n_samples, k + 1, k + 1)
        Block of point i on the index set (i, indices[i]).

    Returns
    -------
    M : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        Symmetric; duplicate entries summed.
    """
    n, k = indices.shape
    idx = np.empty((n, k + 1), dtype=np.int64)
    idx[:, 0] = np.arange(n)
    idx[:, 1:] = indices
    rows = np.repeat(idx, k + 1, axis=1).ravel()
    cols = np.tile(idx, (1, k + 1)).ravel()
    M = sp.coo_matrix((blocks.ravel(), (rows, cols)), shape=(n, n)).tocsr()
    M.sum_duplicates()
    return M


class LLE(EmbeddingMixin, TransformerMixin, BaseEstimator):
    """Locally linear embedding, with numba local fits and a sparse eigen solve.

    Parameters follow scikit-learn's ``LocallyLinearEmbedding``.

    Parameters
    ----------
    n_neighbors : int, default=5
        Neighbours of each point (the point itself not counted).
    n_components : int, default=2
        Dimension of the embedding.
    reg : float, default=1e-3
        Regularisation of the local Gram matrices, as a fraction of their trace
        (Roweis & Saul 2000, note 7). Also used by modified LLE's weights (where
        scikit-learn fixes 1e-3) and by transform / inverse_transform.
    eigen_solver : {'auto', 'arpack', 'dense', 'lobpcg'}, default='auto'
        See :func:`null_space`. 'dense' builds an N x N array.
    tol : float, default=1e-6
        Tolerance of 'arpack' / 'lobpcg'.
    max_iter : int, default=100
        Iterations of 'arpack' / 'lobpcg'.
    method : {'standard', 'modified', 'hessian', 'ltsa'}, default='standard'
        Local model: barycentric weights (Roweis & Saul 2000); multiple weights
        (Zhang & Wang 2007); Hessian eigenmaps (Donoho & Grimes 2003), needs
        n_neighbors > n_components (n_components + 3) / 2; local tangent space
        alignment (Zhang & Zha 2004). 'hessian' differs from scikit-learn's on
        purpose: it keeps the d (d + 1) / 2 Hessian-estimator columns of each
        neighbourhood, as the paper's algorithm (sec. 3, step 4) has it, where
        scikit-learn keeps all k - d - 1 columns orthogonal to the tangent
        space, which spans the same space as LTSA's local term, so that its
        'hessian' embedding equals its 'ltsa' one (500 digits, 12 neighbours:
        absolute correlation 1 - 1e-15 there, 0.974 between ours;
        tests/manifold/test_lle.py shows both).
    hessian_tol : float, default=1e-4
        Hessian method: columns of the local estimator with a smaller sum are
        not normalised.
    modified_tol : float, default=1e-12
        Modified method: a shorter Householder vector counts as zero.
    neighbors_algorithm : {'auto', 'brute', 'kd_tree', 'ball_tree'}, default='auto'
        Passed to ``sklearn.neighbors.NearestNeighbors``.
    random_state : int, RandomState instance or None, default=None
        Start vectors of the iterative eigen solvers.
    n_jobs : int or None, default=None
        Threads of the neighbour search and the numba kernels (None: the cores
        other processes leave idle for the numba kernels; -1: all).

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        Embedding of the training data (unit-norm columns).
    reconstruction_error_ : float
        Sum of the eigenvalues of M kept, i.e. the cost sum_i ||y_i - sum_j
        w_ij y_j||^2 of the embedding (standard method).
    nbrs_ : sklearn.neighbors.NearestNeighbors
        Neighbour index of the training data.
    n_iter_ : int
        Iterations of the eigen solver (see :func:`null_space`).
    n_features_in_ : int
        Number of features seen in fit.

    Raises
    ------
    ValueError
        In fit: n_neighbors >= n_samples, n_components > n_features, too few
        neighbours for the hessian (n_components (n_components + 3) / 2) or
        modified (n_components) methods, NaN/inf.

    Warns
    -----
    UserWarning
        When the neighbourhood graph is disconnected (see
        :func:`graph_components`).

    See Also
    --------
    skgen.TSNE : t-SNE, the other embedding.

    Notes
    -----
    ``transform`` writes each new point as the barycentric combination of its
    training neighbours and applies the weights to their embedding
    (scikit-learn's out-of-sample map); ``inverse_transform`` does the same in
    the other direction; ``sample`` maps draws of a Gaussian KDE over the
    embedding back; ``score`` is the trustworthiness of ``transform(X)``.

    Duplicate points are allowed: a neighbourhood with zero spread gets equal
    weights (the regularisation becomes an absolute amount).

    References
    ----------
    Roweis & Saul (2000), Science 290, 2323-2326. Zhang & Wang (2007), NIPS 19.
    Donoho & Grimes (2003), PNAS 100, 5591-5596. Zhang & Zha (2004), SIAM J. Sci.
    Comput. 26, 313-338.

    Examples
    --------
    >>> from sklearn.datasets import make_swiss_roll
    >>> from skgen import LLE
    >>> X, t = make_swiss_roll(1000, random_state=0)
    >>> lle = LLE(n_neighbors=12, random_state=0).fit(X)
    >>> lle.embedding_.shape
    (1000, 2)
    """

    _parameter_constraints = {
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "reg": [Interval(numbers.Real, 0, None, closed="left")],
        "eigen_solver": [StrOptions(set(EIGEN_SOLVERS))],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "method": [StrOptions(set(METHODS))],
        "hessian_tol": [Interval(numbers.Real, 0, None, closed="left")],
        "modified_tol": [Interval(numbers.Real, 0, None, closed="left")],
        "neighbors_algorithm": [StrOptions({"auto", "brute", "kd_tree", "ball_tree"})],
        "random_state": ["random_state"],
        "n_jobs": [None, numbers.Integral],
    }

    def __init__(self, *, n_neighbors=5, n_components=2, reg=1e-3,
                 eigen_solver="auto", tol=1e-6, max_iter=100, method="standard",
                 hessian_tol=1e-4, modified_tol=1e-12, neighbors_algorithm="auto",
                 random_state=None, n_jobs=None):
        self.n_neighbors = n_neighbors
        self.n_components = n_components
        self.reg = reg
        self.eigen_solver = eigen_solver
        self.tol = tol
        self.max_iter = max_iter
        self.method = method
        self.hessian_tol = hessian_tol
        self.modified_tol = modified_tol
        self.neighbors_algorithm = neighbors_algorithm
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check_sizes(self, n_samples, n_features):
        k, d = self.n_neighbors, self.n_components
        if k >= n_samples:
            raise ValueError(
                f"Expected n_neighbors < n_samples, but n_neighbors = {k}, "
                f"n_samples = {n_samples}"
            )
        if d > n_features:
            raise ValueError(
                f"n_components = {d} must be <= n_features = {n_features}"
            )
        if d + 1 >= n_samples:
            raise ValueError(
                f"Expected n_components + 1 < n_samples, but n_components = {d}, "
                f"n_samples = {n_samples}"
            )
        if self.method == "hessian" and k <= d * (d + 3) // 2:
            raise ValueError(
                f"method='hessian' needs n_neighbors > n_components * "
                f"(n_components + 3) / 2 = {d * (d + 3) // 2}, got n_neighbors = {k}"
            )
        if self.method == "modified" and k < d:
            raise ValueError(
                f"method='modified' needs n_neighbors >= n_components, got "
                f"n_neighbors = {k}, n_components = {d}"
            )

    def _blocks(self, X, indices):
        n, k = indices.shape
        blocks = np.empty((n, k + 1, k + 1))
        if self.method == "standard":
            weights = np.empty((n, k))
            barycenter_weights(X, X, indices, float(self.reg), weights)
            standard_blocks(weights, blocks)
        elif self.method == "hessian":
            hessian_blocks(X, indices, self.n_components, float(self.hessian_tol),
                           blocks)
        elif self.method == "ltsa":
            ltsa_blocks(X, indices, self.n_components, blocks)
        else:
            nev = min(k, X.shape[1])
            evals = np.empty((n, k))
            evecs = np.empty((n, k, k))
            local_spectra(X, indices, nev, evals, evecs)
            s_range = _modified_set_sizes(evals[:, :nev], k, self.n_components)
            modified_blocks(evals, evecs, nev, s_range, float(self.reg),
                            float(self.modified_tol), blocks)
        return blocks

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute the embedding of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (dense).
        y : ignored

        Returns
        -------
        self : LLE
            Fitted estimator.

        Raises
        ------
        ValueError
            See the class's Raises section.
        """
        X = check_X(self, X, reset=True, magnitude_dtype=np.float64)
        # Writable C float64: a read-only array is another numba type (a recompile).
        X = np.require(X, dtype=np.float64, requirements=["C", "W"])
        n, n_features = X.shape
        self._check_sizes(n, n_features)
        self.nbrs_ = NearestNeighbors(n_neighbors=self.n_neighbors,
                                      algorithm=self.neighbors_algorithm,
                                      n_jobs=self.n_jobs).fit(X)
        indices = self.nbrs_.kneighbors(return_distance=False).astype(np.int64)
        n_parts, labels = graph_components(indices, f"n_neighbors={self.n_neighbors}")
        with numba_threads(self.n_jobs):
            blocks = self._blocks(X, indices)
        M = assemble(indices, blocks)
        del blocks
        # One BLAS thread: a second made the eigen solve no faster (100000 points:
        # 3.27 vs 3.31 s) and slower on the digits (0.059 vs 0.049 s a fit), and
        # OpenBLAS's idle threads spin after it, which made the next fit's
        # OpenMP neighbour search 2x slower in median (up to 10x) on 2 cores.
        with single_threaded_blas():
            self.embedding_, self.reconstruction_error_, self.n_iter_ = null_space(
                M, self.n_components, eigen_solver=self.eigen_solver, tol=self.tol,
                max_iter=self.max_iter, random_state=self.random_state,
                labels=labels if n_parts > 1 else None)
        self._fit_X = X
        self._embedding_nbrs = None
        return self

    def transform(self, X):
        """Embed new points by barycentric weights of their training neighbours.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            sum_j w_ij e_j over the n_neighbors nearest training points j, e_j
            their rows of ``embedding_``, w_i the weights that best rebuild
            X[i] from them.

        Raises
        ------
        ValueError
            Before fit (NotFittedError), on NaN/inf or a wrong number of
            features.
        """
        check_is_fitted(self)
        X = check_X(self, X, reset=False, magnitude_dtype=np.float64)
        indices = self.nbrs_.kneighbors(X, return_distance=False)
        return barycentric_map(X, self._fit_X, self.embedding_, indices, self.reg,
                               self.n_jobs)

    def _map_neighbors(self):
        return self.n_neighbors

    def _map_reg(self):
        return self.reg

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


def locally_linear_embedding(X, *, n_neighbors, n_components, reg=1e-3,
                             eigen_solver="auto", tol=1e-6, max_iter=100,
                             method="standard", hessian_tol=1e-4, modified_tol=1e-12,
                             random_state=None, n_jobs=None):
    """Locally linear embedding of X, as scikit-learn's function of that name.

    Fits :class:`LLE` with these parameters (see it for their meaning and
    sources) and returns its embedding.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training data.
    n_neighbors : int
        Neighbours of each point.
    n_components : int
        Dimension of the embedding.
    reg, eigen_solver, tol, max_iter, method, hessian_tol, modified_tol, \
random_state, n_jobs
        As :class:`LLE`.

    Returns
    -------
    Y : ndarray of shape (n_samples, n_components)
        The embedding.
    squared_error : float
        The reconstruction error of the embedding (``reconstruction_error_``).

    Raises
    ------
    ValueError
        As :meth:`LLE.fit`.
    """
    model = LLE(n_neighbors=n_neighbors, n_components=n_components, reg=reg,
                eigen_solver=eigen_solver, tol=tol, max_iter=max_iter, method=method,
                hessian_tol=hessian_tol, modified_tol=modified_tol,
                random_state=random_state, n_jobs=n_jobs)
    model.fit(X)
    return model.embedding_, model.reconstruction_error_


def _modified_set_sizes(evals, k, n_components):
    """Zhang & Wang's s_i: how many smallest local directions count as null.

    eta is the median over points of the ratio of the local spectrum's tail
    (past n_components) to its head; s_i is the largest size whose tail ratio
    stays below eta, plus the exactly null directions (k - n_features when
    k > n_features). Clamped to [1, k - 1].
    """
    tiny = np.finfo(np.float64).tiny
    head = np.maximum(evals[:, :n_components].sum(1), tiny)
    eta = np.median(evals[:, n_components:].sum(1) / head)
    cumsum = np.maximum(np.cumsum(evals, 1), tiny)
    eta_range = cumsum[:, -1:] / cumsum[:, :-1] - 1
    # eta_range falls along each row: the count below eta is searchsorted's
    # position in the reversed row.
    s = np.sum(eta_range < eta, axis=1)
    s += k - evals.shape[1]
    return np.clip(s, 1, k - 1).astype(np.int64)
