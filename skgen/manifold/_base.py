"""What LLE and TSNE share: the maps between X and the embedding, KDE samples, score.

Both estimators keep the training data and its embedding; new points go into the
embedding by their own method (``transform``), and embedding points come back to
X by barycentric weights of their nearest embedded training points (Roweis & Saul
2000, eq. 1, applied in the embedding): the contract table of the README
(transform, inverse_transform, score, sample) for the two embeddings.
"""

import numpy as np
import scipy.sparse as sp
from scipy.stats import gaussian_kde
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.manifold import trustworthiness
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from ..utils._numba import numba_threads
from ..utils._validation import check_magnitude, check_positive_int
from ._barycenter import barycenter_weights, combine_rows

__all__ = ["EmbeddingMixin", "barycentric_map", "SCORE_NEIGHBORS"]

# Neighbours for trustworthiness in ``score``: scikit-learn's default, fixed so
# that scores of models with different n_neighbors are comparable.
SCORE_NEIGHBORS = 5


def barycentric_map(X, reference, target, indices, reg, n_jobs=None):
    """Map rows of X through barycentric weights of their neighbours.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_dims)
        Points to map, in the space of ``reference``.
    reference : ndarray of shape (n_reference, n_dims)
        Points whose affine combinations reconstruct X.
    target : ndarray or sparse matrix of shape (n_reference, n_out)
        The images of ``reference``; the result applies the weights to them.
    indices : ndarray of shape (n_samples, n_neighbors)
        Rows of ``reference`` used for each row of X.
    reg : float
        Regularisation of the local Gram matrices (fraction of their trace).
    n_jobs : int or None, default=None
        numba threads.

    Returns
    -------
    mapped : ndarray of shape (n_samples, n_out), float64
        sum_j w_ij target[j], with w_i the weights that best rebuild X[i] from
        its neighbours (summing to one).
    """
    # Writable C arrays: a read-only one is another numba type (a recompile).
    X, reference = (np.require(a, dtype=np.float64, requirements=["C", "W"])
                    for a in (X, reference))
    indices = np.require(indices, dtype=np.int64, requirements=["C", "W"])
    weights = np.empty(indices.shape)
    with numba_threads(n_jobs):
        barycenter_weights(X, reference, indices, float(reg), weights)
        if sp.issparse(target):
            # Sparse training rows (TSNE on CSR): the weights as a sparse matrix.
            n, k = indices.shape
            W = sp.csr_matrix((weights.ravel(), indices.ravel(),
                               np.arange(0, n * k + 1, k)),
                              shape=(n, target.shape[0]))
            return np.asarray((W @ target).toarray(), dtype=np.float64)
        target = np.require(target, dtype=np.float64, requirements=["C", "W"])
        out = np.empty((X.shape[0], target.shape[1]))
        combine_rows(weights, indices, target, out)
    return out


class EmbeddingMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """inverse_transform, sample and score for an embedding of training data.

    A TransformerMixin itself, so that scikit-learn's set_output wraps the
    ``fit_transform`` defined here (it wraps only methods that a
    _SetOutputMixin subclass defines in its own body).

    A subclass sets ``embedding_`` (n_samples, n_components) and ``_fit_X`` (the
    training data, float64) in ``fit``, and defines ``transform``,
    ``_map_neighbors`` (neighbours used by the barycentric map back) and
    ``_map_reg`` (regularisation of that map).
    """

    def fit_transform(self, X, y=None):
        """Fit and return ``embedding_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : ignored

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_components)
            The fitted embedding (not ``transform(X)``, which places the rows
            anew).
        """
        return self.fit(X).embedding_

    @property
    def _n_features_out(self):
        """Number of output columns; undefined (AttributeError) before ``fit``."""
        return self.embedding_.shape[1]

    def _embedding_index(self):
        index = getattr(self, "_embedding_nbrs", None)
        if index is None:
            index = NearestNeighbors().fit(self.embedding_)
            self._embedding_nbrs = index
        return index

    def inverse_transform(self, X):
        """Map points of the embedding back to the input space.

        Each point is written as the affine combination of its nearest embedded
        training points that best reconstructs it (barycentric weights, Roweis &
        Saul 2000, eqs. 1-2, computed in the embedding), and the same weights
        are applied to those points' training rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Points in the embedding.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Their images in the input space, float64.

        Raises
        ------
        ValueError
            Before fit (NotFittedError), on NaN/inf, magnitudes whose squares
            overflow float64, or when X does not have ``n_components`` columns.
        """
        check_is_fitted(self)
        Y = check_array(X, dtype=np.float64)
        check_magnitude(Y, np.float64)
        n_components = self.embedding_.shape[1]
        if Y.shape[1] != n_components:
            raise ValueError(
                f"X has {Y.shape[1]} features, but inverse_transform expects "
                f"{n_components} (n_components)"
            )
        k = min(self._map_neighbors(), self.embedding_.shape[0])
        indices = self._embedding_index().kneighbors(Y, k, return_distance=False)
        return barycentric_map(Y, self.embedding_, self._fit_X, indices,
                               self._map_reg(), self.n_jobs)

    def sample(self, n_samples=1, random_state=None):
        """Draw points from a Gaussian KDE over the embedding, mapped back to X.

        The KDE is scipy's ``gaussian_kde`` over ``embedding_`` (Scott's rule
        bandwidth); its draws go through :meth:`inverse_transform`.

        Parameters
        ----------
        n_samples : int >= 1, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Samples in the input space, float64.

        Raises
        ------
        ValueError
            If ``n_samples`` is not a positive integer, or the embedding has
            fewer points than dimensions plus one (its covariance is singular).
        """
        check_is_fitted(self)
        check_positive_int(n_samples)
        rng = check_random_state(random_state)
        n, d = self.embedding_.shape
        if n <= d:
            raise ValueError(
                f"sample needs more embedded points than dimensions; got {n} "
                f"points in {d} dimensions"
            )
        try:
            kde = gaussian_kde(self.embedding_.T)
        except np.linalg.LinAlgError as exc:
            raise ValueError(
                "sample: the embedding's covariance is singular (all points on a "
                "line or at one place), so no KDE can be fitted"
            ) from exc
        Z = kde.resample(int(n_samples), seed=rng).T
        return self.inverse_transform(Z)

    def score(self, X, y=None):
        """Trustworthiness of the embedding of X (higher is better, at most 1).

        ``sklearn.manifold.trustworthiness`` (Venna & Kaski 2001) between X and
        ``transform(X)`` with 5 neighbours (fewer when X has fewer than 11 rows),
        the same for every model so that scores compare across ``n_neighbors``
        or ``perplexity`` in a grid search.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            At least 3 rows.
        y : ignored

        Returns
        -------
        score : float
            Trustworthiness in [0, 1].

        Raises
        ------
        ValueError
            As ``transform``, and when X has fewer than 3 rows.
        """
        check_is_fitted(self)
        X = check_array(X, dtype=np.float64, accept_sparse="csr")
        n = X.shape[0]
        if n < 3:
            raise ValueError(f"score needs at least 3 samples, got {n}")
        k = min(SCORE_NEIGHBORS, (n - 1) // 2)
        return float(trustworthiness(X, self.transform(X), n_neighbors=k))
