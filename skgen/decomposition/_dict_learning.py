"""Dictionary learning, batch or online, with the numba sparse coding.

Dictionary learning alternates sparse coding with block-coordinate descent on the
atoms under ||d_j|| <= 1 (Mairal, Bach, Ponce & Sapiro 2010, "Online learning for
matrix factorization and sparse coding", JMLR 11, algorithms 1-2).
"""

import numbers
import warnings

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import randomized_svd, svd_flip
from sklearn.utils.validation import check_is_fitted

from ..utils import check_X, progress_bar
from ..utils._rows import row_source
from ._sparse_coding import (
    _TRANSFORM_CONSTRAINTS,
    _add_sums,
    _BaseSparseCoding,
    _residual_sums,
)
from ._dict_online import BatchStream, MiniBatchStopping
from ._dict_update import update_dict
from ._sparse_encode import _objective, check_dictionary, sparse_encode

__all__ = ["DictionaryLearning"]


# Rows sampled from a lazy source for the initial (randomized SVD) dictionary.
_LAZY_INIT_ROWS = 10_000


class DictionaryLearning(_BaseSparseCoding, BaseEstimator):
    """Dictionary learning, batch or online, with numba sparse coding.

    Finds D (n_components, n_features) and codes Z minimising
    1/2 ||X - Z D||_F^2 + alpha ||Z||_1,1 subject to ||d_j|| <= 1, alternating
    sparse coding (LARS-lasso or coordinate descent, numba, parallel over
    signals) with a block-coordinate-descent sweep over the atoms (Mairal et
    al. 2010, algorithm 2). With ``batch_size`` set, learning is online on
    mini-batches with the running statistics A, B of Mairal et al. (2010),
    algorithm 1 (the forgetting schedule of their section 3.4.3 as
    scikit-learn's MiniBatchDictionaryLearning implements it).

    Parameters
    ----------
    n_components : int or None, default=None
        Atoms; None: n_features.
    alpha : float > 0, default=1.0
        Sparsity penalty of the learning objective.
    max_iter : int, default=1000
        Batch: alternations. Online: epochs over the data.
    tol : float, default=1e-8
        Batch: stop when the objective decreases by less than ``tol`` times
        itself. Online: stop when the dictionary moves by less than ``tol``
        (Frobenius norm of the change divided by the number of atoms) in a
        step, after the first min(100, n_samples / batch_size) steps, as
        scikit-learn's MiniBatchDictionaryLearning (whose default is 1e-3, see
        :class:`MiniBatchDictionaryLearning`).
    fit_algorithm : {'lars', 'cd'}, default='lars'
        Lasso solver used while learning ('lasso_lars' or 'lasso_cd').
    transform_algorithm, transform_n_nonzero_coefs, transform_alpha, \
split_sign, positive_code, transform_max_iter
        As :class:`SparseCoder`; ``transform_alpha=None`` uses ``alpha``.
    n_jobs : int or None, default=None
        numba threads; None uses the cores other processes leave idle, -1 all
        of them.
    code_init : ndarray of shape (n_samples, n_components) or None, default=None
        Initial codes (batch, with ``dict_init``).
    dict_init : ndarray of shape (n_components, n_features) or None, default=None
        Initial dictionary; None: the top right singular vectors of X scaled by
        their singular values, as scikit-learn does: LAPACK SVD for batch
        learning (as DictionaryLearning), randomized SVD with the same draws for
        online learning (as MiniBatchDictionaryLearning), so that from the same
        ``random_state`` both follow scikit-learn's iterates.
    verbose : bool, default=False
        Progress bar (tqdm, on stderr) with the objective.
    random_state : int, RandomState instance or None, default=None
        Seeds the online start, the shuffling and the replacement of unused
        atoms, in scikit-learn's order.
    positive_dict : bool, default=False
        Non-negative atoms.
    batch_size : int or None, default=None
        None: batch learning; an int: online learning on mini-batches of this
        size.
    shuffle : bool, default=True
        Online learning: shuffle the samples before cycling over them.
    callback : callable or None, default=None
        Called as ``callback(locals())`` after each batch iteration, or after
        each mini-batch step in online learning (scikit-learn's convention).
    max_no_improvement : int or None, default=10
        Online learning: stop after this many consecutive mini-batch steps
        without a new minimum of the exponentially weighted average of the
        mean batch cost (weight batch_size / (n_samples + 1), the first
        min(100, n_samples / batch_size) steps ignored): scikit-learn's
        MiniBatchDictionaryLearning rule, so that the same arguments stop at
        the same step. None: no such stop. Unused by batch learning.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The learned atoms, ||d_j|| <= 1.
    error_ : ndarray of shape (n_iter,)
        Objective after each iteration: for batch learning the full objective
        (squared units of X); for online learning the sum over the epoch of the
        mini-batch objectives at the codes computed during the epoch.
    n_iter_ : int
        Iterations run (online learning: epochs begun,
        ``ceil(n_steps_ / steps per epoch)``, as scikit-learn).
    n_steps_ : int
        Mini-batch steps (online learning and ``partial_fit``; equals
        ``n_iter_`` for batch).
    code_scale_ : ndarray of shape (n_components,)
        Laplace scale of each atom's codes on the training data (for ``sample``).
    noise_variance_ : float
        Mean squared training residual per feature (for ``sample``).
    n_features_in_ : int
        Features seen in ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names, when ``X`` had string column names.

    See Also
    --------
    sklearn.decomposition.DictionaryLearning,
    sklearn.decomposition.MiniBatchDictionaryLearning : The references.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgen import DictionaryLearning
    >>> X = load_digits().data[:200] / 16
    >>> dl = DictionaryLearning(n_components=16, alpha=0.5, max_iter=10,
    ...                         random_state=0).fit(X)
    >>> dl.components_.shape
    (16, 64)
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "alpha": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "fit_algorithm": [StrOptions({"lars", "cd"})],
        **_TRANSFORM_CONSTRAINTS,
        "code_init": [np.ndarray, None],
        "dict_init": [np.ndarray, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "positive_dict": ["boolean"],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "shuffle": ["boolean"],
        "callback": [None, callable],
        "max_no_improvement": [Interval(numbers.Integral, 0, None, closed="left"), None],
    }

    def __init__(
        self,
        n_components=None,
        *,
        alpha=1.0,
        max_iter=1000,
        tol=1e-8,
        fit_algorithm="lars",
        transform_algorithm="omp",
        transform_n_nonzero_coefs=None,
        transform_alpha=None,
        n_jobs=None,
        code_init=None,
        dict_init=None,
        verbose=False,
        split_sign=False,
        random_state=None,
        positive_code=False,
        positive_dict=False,
        transform_max_iter=1000,
        batch_size=None,
        shuffle=True,
        callback=None,
        max_no_improvement=10,
    ):
        self.n_components = n_components
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.fit_algorithm = fit_algorithm
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.n_jobs = n_jobs
        self.code_init = code_init
        self.dict_init = dict_init
        self.verbose = verbose
        self.split_sign = split_sign
        self.random_state = random_state
        self.positive_code = positive_code
        self.positive_dict = positive_dict
        self.transform_max_iter = transform_max_iter
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.callback = callback
        self.max_no_improvement = max_no_improvement

    def _get_dictionary(self):
        check_is_fitted(self)
        return self.components_

    def _learning_encode(self, X, D, init=None):
        return sparse_encode(
            X, D, algorithm="lasso_lars" if self.fit_algorithm == "lars" else "lasso_cd",
            alpha=self.alpha, max_iter=self.transform_max_iter,
            positive=self.positive_code, init=init, n_jobs=self.n_jobs,
            check_input=False,
        )

    def _initial_dictionary(self, X, k, rng, exact):
        n, d = X.shape
        code = None
        if self.dict_init is not None:
            D = check_dictionary(self.dict_init, dtype=X.dtype, name="dict_init")
            if D.shape != (k, d):
                raise ValueError(
                    f"dict_init has shape {D.shape}; expected {(k, d)}"
                )
            if self.code_init is not None:
                code = check_array(self.code_init, dtype=X.dtype, input_name="code_init")
                if code.shape != (n, k):
                    raise ValueError(
                        f"code_init has shape {code.shape}; expected {(n, k)}"
                    )
            return np.array(D, order="C"), code
        if exact:
            U, S, Vt = linalg.svd(X, full_matrices=False, check_finite=False)
            U, Vt = svd_flip(U, Vt)
        else:
            # scikit-learn's MiniBatchDictionaryLearning start, same draws.
            _, S, Vt = randomized_svd(X, k, random_state=rng)
        D = S[:, None] * Vt
        if k <= D.shape[0]:
            D = D[:k]
        else:
            D = np.vstack([D, np.zeros((k - D.shape[0], d), dtype=D.dtype)])
        return np.ascontiguousarray(D, dtype=X.dtype), None

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the dictionary from ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training signals; float32 stays float32.
        y : None
            Ignored.

        Returns
        -------
        self : DictionaryLearning
            The fitted estimator.

        Raises
        ------
        ValueError
            On NaN/inf, invalid parameters, or ``dict_init`` / ``code_init`` of
            the wrong shape or with a zero atom. The transform parameters
            (e.g. ``positive_code`` with 'omp') are checked by ``transform``,
            as scikit-learn does.

        Warns
        -----
        ConvergenceWarning
            When batch learning ends at ``max_iter`` without meeting ``tol``.
        """
        rows = row_source(self, X, reset=True, ensure_min_samples=2,
                          check=lambda X: check_X(self, X, reset=True, ensure_min_samples=2))
        if rows.lazy and self.batch_size is None:
            raise ValueError(
                "Batch dictionary learning keeps every code in memory; for a dask "
                "array set batch_size (online learning streams the chunks)."
            )
        k = rows.n_features if self.n_components is None else self.n_components
        rng = check_random_state(self.random_state)
        if self.batch_size is None:
            D, code = self._fit_batch(rows.X, k, rng)
        else:
            D, code = self._fit_online(rows, k, rng)
        self.components_ = D
        if code is None and not rows.lazy:
            # In memory the learning codes of all rows at once (one call).
            code = self._learning_encode(rows.X, D)
        self._fit_generative(rows, D, code)
        return self

    def _generative_encode(self, X, dictionary):
        # The learning codes: they exist for any transform option.
        return self._learning_encode(X, dictionary.astype(X.dtype, copy=False))

    def transform(self, X):
        """Sparse codes of ``X`` by the transform algorithm.

        See :meth:`SparseCoder.transform`.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Signals.

        Returns
        -------
        code : ndarray of shape (n_samples, n_components) or (n_samples, 2 n_components)
            Codes (lazy for a dask X).

        Raises
        ------
        ValueError
            As :meth:`SparseCoder.transform`, and when the transform options
            conflict (``positive_code`` with 'omp' or 'lars',
            ``transform_n_nonzero_coefs`` above ``n_components``).
        """
        D = self._get_dictionary()
        self._check_transform_params(D.shape[0], D.shape[1])
        return super().transform(X)

    def _fit_batch(self, X, k, rng):
        D, code = self._initial_dictionary(X, k, rng, exact=True)
        errors = []
        bar = progress_bar(total=self.max_iter, desc="dictionary learning",
                           disable=not self.verbose)
        converged = False
        with bar:
            for it in range(self.max_iter):
                code = self._learning_encode(X, D, init=code)
                A = code.T @ code
                B = X.T @ code
                update_dict(D, X, code, A, B, self.positive_dict, rng)
                errors.append(_objective(X, code, D, self.alpha))
                bar.update(1)
                bar.set_postfix(objective=f"{errors[-1]:.6g}")
                if it > 0 and errors[-2] - errors[-1] < self.tol * errors[-1]:
                    converged = True
                    break
                if self.callback is not None:
                    self.callback(locals())
        if self.max_iter > 1 and not converged:
            warnings.warn(
                f"DictionaryLearning did not converge in max_iter={self.max_iter} "
                f"iterations (tol={self.tol})", ConvergenceWarning,
            )
        self.error_ = np.asarray(errors)
        self.n_iter_ = len(errors)
        self.n_steps_ = len(errors)
        return D, code

    def _online_step(self, Xb, D, step, rng):
        """One mini-batch step on ``self._A``, ``self._B`` and D (in place).

        Returns the batch's summed objective at the codes computed before the
        update, and those codes.
        """
        code = self._learning_encode(Xb, D)
        cost = _objective(Xb, code, D, self.alpha)
        # Mairal et al. (2010) section 3.4.3 weights, as scikit-learn computes
        # them (with this batch's own size).
        m = len(Xb)
        if step < m - 1:
            theta = (step + 1) * m
        else:
            theta = m**2 + step + 1 - m
        beta = (theta + 1 - m) / (theta + 1)
        self._A *= beta
        self._A += code.T @ code / m
        self._B *= beta
        self._B += Xb.T @ code / m
        update_dict(D, Xb, code, self._A, self._B, self.positive_dict, rng)
        return cost, code

    def _fit_online(self, rows, k, rng):
        n, d = rows.shape
        # The start: a randomized SVD of all rows in memory, of a uniform
        # sample of a lazy source's.
        if rows.lazy:
            start, _, _ = rows.sample(max(10 * k, _LAZY_INIT_ROWS), rng)
        else:
            start = rows.X
        D, _ = self._initial_dictionary(start, k, rng, exact=False)
        batch_size = min(self.batch_size, n)
        self._A = np.zeros((k, k), dtype=rows.dtype)
        self._B = np.zeros((d, k), dtype=rows.dtype)
        self._random_state = rng
        batches = BatchStream(rows, batch_size, self.shuffle, rng)
        stopping = MiniBatchStopping(self.tol, self.max_no_improvement, n, k)
        errors = []
        step = 0
        stop = False
        bar = progress_bar(total=self.max_iter, desc="online dictionary learning",
                           disable=not self.verbose)
        with bar:
            for epoch in range(self.max_iter):
                total = 0.0
                for Xb in batches.epoch():
                    old = D.copy()
                    cost, code = self._online_step(Xb, D, step, rng)
                    total += cost
                    stop = stopping(len(Xb), cost / len(Xb), D, old, step)
                    step += 1
                    if stop:
                        break
                    if self.callback is not None:
                        self.callback(locals())
                errors.append(total)
                bar.update(1)
                bar.set_postfix(objective=f"{total:.6g}")
                if stop:
                    break
        self.error_ = np.asarray(errors)
        self.n_steps_ = step
        # Epochs begun: ceil(n_steps_ / steps per epoch) in memory, as scikit-learn.
        self.n_iter_ = len(errors)
        return D, None

    def partial_fit(self, X, y=None):
        """One online step on the mini-batch ``X``.

        The first call (on an unfitted estimator) starts the dictionary from
        ``dict_init`` or the batch's randomized SVD, as scikit-learn's
        MiniBatchDictionaryLearning.partial_fit does; each call then codes the
        batch, updates the running statistics A, B (Mairal et al. 2010,
        algorithm 1, section 3.4.3 weights) and sweeps the atoms once. A call
        after ``fit`` continues from the fitted dictionary (and, after an
        online ``fit``, its statistics). ``code_scale_`` and
        ``noise_variance_`` (for ``sample``) accumulate over the batches seen
        by ``partial_fit``, at the codes computed in each step.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A mini-batch of signals; the feature count (and names) must match
            the first batch's.
        y : None
            Ignored.

        Returns
        -------
        self : DictionaryLearning
            The updated estimator.

        Raises
        ------
        ValueError
            As ``fit``, and on a batch whose feature count differs from the
            first batch's.
        """
        first = not hasattr(self, "components_")
        if first:
            self._validate_params()
        X = check_X(self, X, reset=first)
        if first:
            k = X.shape[1] if self.n_components is None else self.n_components
            self._random_state = check_random_state(self.random_state)
            D, _ = self._initial_dictionary(X, k, self._random_state, exact=False)
            self.n_steps_ = 0
            self.n_iter_ = 0
            self.error_ = np.zeros(0)
            self._generative_sums = None
        else:
            D = np.array(self.components_, dtype=X.dtype, order="C")
            k = D.shape[0]
            if not hasattr(self, "_random_state"):
                self._random_state = check_random_state(self.random_state)
        if getattr(self, "_A", None) is None or self._A.dtype != X.dtype:
            self._A = np.zeros((k, k), dtype=X.dtype)
            self._B = np.zeros((X.shape[1], k), dtype=X.dtype)
        cost, code = self._online_step(X, D, self.n_steps_, self._random_state)
        self.components_ = D
        self.n_steps_ += 1
        self.n_iter_ = self.n_steps_
        self.error_ = np.append(self.error_, cost)
        sums = _residual_sums(X, code, D)
        previous = getattr(self, "_generative_sums", None)
        sums = sums if previous is None else _add_sums(previous, sums)
        self._generative_sums = sums
        self._set_generative(*sums, D.shape[1])
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
