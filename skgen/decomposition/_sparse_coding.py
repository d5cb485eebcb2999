"""Sparse coding estimators: what SparseCoder and DictionaryLearning share
(transform, inverse_transform, score, sample), and SparseCoder.

The coding itself is :func:`skgen.decomposition.sparse_encode`
(``_sparse_encode.py``); learning the dictionary is ``_dict_learning.py``.
"""

import numbers

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils import check_positive_int, check_X
from ..utils._rows import mean_score, row_source
from ._sparse_encode import (
    ALGORITHMS,
    _check_encode_params,
    _check_width,
    check_dictionary,
    objective_rows,
    sparse_encode,
)

__all__ = ["SparseCoder"]


def _generative_sums(estimator, dictionary, X, weights):
    """sum_i |z_i| (per atom), sum_i ||x_i - z_i D||^2 and the row count of rows X."""
    code = estimator._generative_encode(X, dictionary)
    return _residual_sums(X, code, dictionary)


def _residual_sums(X, code, dictionary):
    R = X - code @ dictionary.astype(code.dtype, copy=False)
    return (
        np.abs(code).sum(axis=0, dtype=np.float64),
        float(np.einsum("ij,ij->", R, R, dtype=np.float64)),
        X.shape[0],
    )


def _add_sums(a, b):
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


class _BaseSparseCoding(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """transform / inverse_transform / score / sample shared by both estimators."""

    def _transform_alpha(self):
        alpha = self.transform_alpha
        # ``alpha`` is the lasso penalty of learning: it stands in for a missing
        # transform_alpha only where that is a penalty too. For 'omp' it would be
        # a residual target overriding transform_n_nonzero_coefs (scikit-learn
        # ignores it there).
        if (alpha is None and hasattr(self, "alpha")
                and self.transform_algorithm not in ("omp", "lars")):
            alpha = self.alpha
        return alpha

    def _check_transform_params(self, n_atoms, n_features):
        """In ``fit``: the transform parameters that ``transform`` would refuse."""
        _check_encode_params(self.transform_algorithm, self.transform_n_nonzero_coefs,
                             self.positive_code, n_atoms, n_features, prefix="transform_")

    def _encode(self, X, dictionary):
        return sparse_encode(
            X, dictionary.astype(X.dtype, copy=False),
            algorithm=self.transform_algorithm,
            n_nonzero_coefs=self.transform_n_nonzero_coefs,
            alpha=self._transform_alpha(),
            max_iter=self.transform_max_iter,
            positive=self.positive_code,
            n_jobs=self.n_jobs,
            check_input=False,
        )

    def _generative_encode(self, X, dictionary):
        """The codes behind ``code_scale_`` and ``noise_variance_``."""
        return self._encode(X, dictionary)

    def _split(self, code):
        if not self.split_sign:
            return code
        return np.hstack([np.maximum(code, 0), -np.minimum(code, 0)])

    def transform(self, X):
        """Sparse codes of ``X``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Signals.

        Returns
        -------
        code : ndarray of shape (n_samples, n_atoms), or (n_samples, 2 n_atoms)
            with ``split_sign`` (positive parts, then negative parts). A lazy
            dask array, chunk-aligned, for a dask X.

        Raises
        ------
        ValueError
            On NaN/inf, a feature count different from the dictionary's, or
            ``transform_n_nonzero_coefs`` larger than the number of atoms.
        """
        D = self._get_dictionary()
        rows = self._rows(X, D, reset=False)
        return rows.map(self._transform_rows, D, n_columns=self._n_features_out,
                        dtype=rows.dtype)

    def _transform_rows(self, D, X):
        return self._split(self._encode(X, D))

    def _rows(self, X, D, reset):
        """The row source of signals X, checked against the dictionary's width."""
        rows = row_source(self, X, reset=reset,
                          check=lambda X: check_X(self, X, reset=reset))
        _check_width(rows.X, D)
        return rows

    def inverse_transform(self, X):
        """Signals from codes: ``code @ dictionary``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_atoms) or (n_samples, 2 n_atoms)
            Codes, as returned by ``transform``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Reconstructed signals.

        Raises
        ------
        ValueError
            On NaN/inf or a column count that does not match the dictionary.
        """
        D = self._get_dictionary()
        width = D.shape[0] * (2 if self.split_sign else 1)
        # Codes are not signals: validated as codes, not against n_features_in_.
        rows = row_source(None, X, reset=False, magnitude=False,
                          check=lambda code: check_array(code, dtype=[np.float64, np.float32]))
        if rows.n_features != width:
            raise ValueError(f"X has {rows.n_features} columns; expected {width} codes")
        return rows.map(self._inverse_rows, D, n_columns=D.shape[1], dtype=D.dtype)

    def _inverse_rows(self, D, code):
        if self.split_sign:
            code = code[:, : D.shape[0]] - code[:, D.shape[0]:]
        return code @ D.astype(code.dtype, copy=False)

    def _penalty(self):
        if self.transform_algorithm in ("lasso_lars", "lasso_cd", "threshold"):
            alpha = self._transform_alpha()
            return 1.0 if alpha is None else float(alpha)
        return 0.0

    def score_samples(self, X):
        """Minus the sparse-coding objective of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Signals.

        Returns
        -------
        score : ndarray of shape (n_samples,)
            -(1/2 ||x - z D||^2 + lambda ||z||_1) at the codes z of ``transform``,
            with lambda the transform penalty for 'lasso_lars', 'lasso_cd' and
            'threshold', and 0 for 'omp' and 'lars' (whose sparsity is a
            constraint). Squared units of X; higher is better.
        """
        D = self._get_dictionary()
        return self._rows(X, D, reset=False).map(self._score_rows, D, dtype=np.float64)

    def _score_rows(self, D, X):
        return -objective_rows(X, self._encode(X, D), D, self._penalty())

    def score(self, X, y=None):
        """Minus the mean sparse-coding objective per sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Signals.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean of ``score_samples(X)``.
        """
        return mean_score(self.score_samples(X))

    def _fit_generative(self, rows, D, code=None):
        """Laplace scales of the codes and the residual variance (for sample).

        ``code`` None: the codes are computed (block by block on a lazy source).
        """
        if code is None:
            sums = rows.reduce(_generative_sums, _add_sums, self, D)
        else:
            sums = _residual_sums(rows.X, code, D)
        self._set_generative(*sums, D.shape[1])

    def _set_generative(self, abs_code, squares, n, n_features):
        self.code_scale_ = abs_code / n
        self.noise_variance_ = squares / (n * n_features)

    def sample(self, n_samples=1, random_state=None):
        """Signals drawn from the sparse generative model fitted in ``fit``.

        Codes z_j ~ Laplace(0, b_j) independently, with b_j = ``code_scale_[j]``
        the maximum-likelihood scale of atom j's codes on the training data
        (the mean absolute code); x = z D + e with e ~ N(0, ``noise_variance_`` I), the
        mean squared training residual.

        Parameters
        ----------
        n_samples : int >= 1, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Samples.

        Raises
        ------
        ValueError
            If ``n_samples`` is not a positive integer.
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        """
        check_is_fitted(self, "code_scale_")
        check_positive_int(n_samples)
        rng = check_random_state(random_state)
        D = self._get_dictionary()
        z = rng.laplace(0.0, 1.0, size=(n_samples, D.shape[0])) * self.code_scale_
        X = z @ D
        X += np.sqrt(self.noise_variance_) * rng.standard_normal(X.shape)
        return X.astype(D.dtype, copy=False)

    @property
    def _n_features_out(self):
        return self._get_dictionary().shape[0] * (2 if self.split_sign else 1)


_TRANSFORM_CONSTRAINTS = {
    "transform_algorithm": [StrOptions(set(ALGORITHMS))],
    "transform_n_nonzero_coefs": [Interval(numbers.Integral, 1, None, closed="left"),
                                  None],
    "transform_alpha": [Interval(numbers.Real, 0, None, closed="left"), None],
    "split_sign": ["boolean"],
    "n_jobs": [numbers.Integral, None],
    "positive_code": ["boolean"],
    "transform_max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
}


class SparseCoder(_BaseSparseCoding, BaseEstimator):
    """Sparse coding against a fixed dictionary, with numba kernels.

    Each signal x gets the code z minimising 1/2 ||x - z D||^2 + alpha ||z||_1
    ('lasso_lars', 'lasso_cd'), or the approximation with a given number of
    non-zeros ('omp', 'lars'), or a soft-thresholded correlation ('threshold').
    The kernels (Batch-OMP, Rubinstein et al. 2008; LAR and LARS-lasso, Efron et
    al. 2004; coordinate descent, Friedman et al. 2010) run in numba over the
    Gram matrix D D^T, parallel over signals.

    Parameters
    ----------
    dictionary : array-like of shape (n_atoms, n_features)
        Atoms as rows; finite, none all-zero. 'omp' and 'lars' behave best
        with unit-norm atoms.
    transform_algorithm : {'omp', 'lasso_lars', 'lars', 'lasso_cd', \
            'threshold'}, default='omp'
        Coding algorithm.
    transform_n_nonzero_coefs : int or None, default=None
        Non-zeros for 'omp' and 'lars'; None: max(n_features / 10, 1).
    transform_alpha : float or None, default=None
        Penalty of the lasso algorithms and threshold of 'threshold' (None: 1.0);
        for 'omp', the target squared residual norm, overriding
        ``transform_n_nonzero_coefs``.
    split_sign : bool, default=False
        Return [max(z, 0), max(-z, 0)] side by side.
    n_jobs : int or None, default=None
        numba threads; None uses the cores other processes leave idle, -1 all
        of them (scikit-learn's None means 1).
    positive_code : bool, default=False
        Non-negative codes (not with 'omp' or 'lars').
    transform_max_iter : int, default=1000
        Most LARS steps or coordinate-descent sweeps per signal.

    Attributes
    ----------
    n_components_ : int
        Number of atoms.
    n_features_in_ : int
        Features seen in ``fit``.
    code_scale_ : ndarray of shape (n_atoms,)
        Laplace scale of each atom's codes on the data seen by ``fit``.
    noise_variance_ : float
        Mean squared residual per feature on the data seen by ``fit``.

    See Also
    --------
    sklearn.decomposition.SparseCoder : The same estimator, coding one signal
        at a time in Python.
    DictionaryLearning : Learns the dictionary.

    Examples
    --------
    >>> import numpy as np
    >>> from skgen import SparseCoder
    >>> rng = np.random.RandomState(0)
    >>> D = rng.randn(30, 8)
    >>> D /= np.linalg.norm(D, axis=1, keepdims=True)
    >>> X = rng.randn(5, 8)
    >>> coder = SparseCoder(D, transform_algorithm="omp", transform_n_nonzero_coefs=2)
    >>> (coder.transform(X) != 0).sum(axis=1)
    array([2, 2, 2, 2, 2])
    """

    _parameter_constraints = {"dictionary": ["array-like"], **_TRANSFORM_CONSTRAINTS}

    def __init__(
        self,
        dictionary,
        *,
        transform_algorithm="omp",
        transform_n_nonzero_coefs=None,
        transform_alpha=None,
        split_sign=False,
        n_jobs=None,
        positive_code=False,
        transform_max_iter=1000,
    ):
        self.dictionary = dictionary
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.split_sign = split_sign
        self.n_jobs = n_jobs
        self.positive_code = positive_code
        self.transform_max_iter = transform_max_iter

    def _get_dictionary(self):
        return check_dictionary(self.dictionary)

    @property
    def n_components_(self):
        return np.shape(self.dictionary)[0]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate, and fit the generative model used by ``sample``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Signals whose codes set ``code_scale_`` and ``noise_variance_``
            (a dask array is coded chunk by chunk, never loaded whole).
        y : None
            Ignored.

        Returns
        -------
        self : SparseCoder
            The fitted estimator.

        Raises
        ------
        ValueError
            On NaN/inf in X or the dictionary, a zero atom, a feature count that
            differs from the dictionary's, or invalid parameters.
        """
        D = self._get_dictionary()
        rows = self._rows(X, D, reset=True)
        self._check_transform_params(D.shape[0], rows.n_features)
        self._fit_generative(rows, D.astype(rows.dtype, copy=False))
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
