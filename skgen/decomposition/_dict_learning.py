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
from sklearn.utils import check_array, check_random_state, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import randomized_svd, svd_flip
from sklearn.utils.validation import check_is_fitted

from ..utils import check_X, progress_bar
from ..utils._dask import (
    check_dask_X,
    check_sampled_rows,
    chunk_infos,
    is_dask_array,
    load_chunk,
    magnitude_limits,
    prefetched,
    take_rows,
)
from ._sparse_coding import _TRANSFORM_CONSTRAINTS, _BaseSparseCoding
from ._sparse_encode import _objective, check_dictionary, sparse_encode

__all__ = ["DictionaryLearning"]


# Rows sampled from a dask array for the initial (randomized SVD) dictionary.
_DASK_INIT_ROWS = 10_000


class _BatchStream:
    """Mini-batches for online learning, epoch after epoch.

    In memory: the rows shuffled once (as scikit-learn's
    MiniBatchDictionaryLearning), then the same consecutive batches every epoch.
    A dask array: every epoch visits the row chunks (in a new random order when
    ``shuffle``), shuffles the rows of each chunk and cuts it into batches; the
    next chunk is read in a background thread while the current one trains,
    so that at most two chunks are in memory and the learner waits only for
    the first.
    """

    def __init__(self, X, batch_size, shuffle, rng):
        self.X, self.batch_size, self.shuffle, self.rng = X, batch_size, shuffle, rng
        self.dask = is_dask_array(X)
        if not self.dask:
            self.rows = X.copy() if shuffle else X
            if shuffle:
                rng.shuffle(self.rows)
        else:
            self.limits = magnitude_limits(X.shape, X.dtype)
            self.infos = chunk_infos(X.chunks[0])

    def epoch(self):
        """Yield this epoch's batches (ndarrays of at most ``batch_size`` rows)."""
        if not self.dask:
            for batch in gen_batches(self.rows.shape[0], self.batch_size):
                yield self.rows[batch]
            return
        n_chunks = len(self.X.chunks[0])
        order = self.rng.permutation(n_chunks) if self.shuffle else np.arange(n_chunks)
        for block in prefetched(
                lambda i: load_chunk(self.X, i, self.infos, self.limits), order):
            if self.shuffle:
                block = block[self.rng.permutation(block.shape[0])]
            for batch in gen_batches(block.shape[0], self.batch_size):
                yield block[batch]


_UNUSED_ATOM = 1e-6  # A_jj at or below this: no code uses the atom (SPAMS' value)
_ATOM_BLOCK = 16


def _update_dict(dictionary, X, code, A, B, positive, random_state):
    """One block-coordinate-descent sweep over the atoms, in place.

    Mairal et al. (2010), algorithm 2: with A = sum z z^T and B = sum x z^T,
    atom j in turn becomes d_j + (b_j - D a_j) / A_jj (D a_j with the atoms
    before j already updated), projected onto ||d_j|| <= 1 (and onto d_j >= 0
    when ``positive``). The sweep is exact but blocked: for a block of 16 atoms
    the products a_j^T D are taken by one matrix product, and inside the block
    only the changes of the block's earlier atoms are added, so the O(n_atoms^2
    n_features) work is matrix-matrix rather than one matrix-vector product per
    atom. An atom no code uses (A_jj <= 1e-6) is replaced by a random signal
    plus 1% noise, as SPAMS and scikit-learn do.

    Parameters
    ----------
    dictionary : ndarray of shape (n_atoms, n_features)
        Updated in place.
    X : ndarray of shape (n_samples, n_features)
        Signals (only read when an atom is replaced).
    code : ndarray of shape (n_samples, n_atoms)
        Codes; the column of a replaced atom is zeroed.
    A : ndarray of shape (n_atoms, n_atoms)
        Code second moments.
    B : ndarray of shape (n_features, n_atoms)
        Signal-code cross moments.
    positive : bool
        Project atoms onto the non-negative orthant.
    random_state : RandomState
        Source of replacement signals.

    Returns
    -------
    n_replaced : int
        Atoms replaced.
    """
    K = dictionary.shape[0]
    n_replaced = 0
    for start in range(0, K, _ATOM_BLOCK):
        block = range(start, min(start + _ATOM_BLOCK, K))
        P = A[start:block.stop] @ dictionary  # a_j^T D before the block changes
        delta = np.empty((len(block), dictionary.shape[1]), dtype=dictionary.dtype)
        for t, j in enumerate(block):
            old = dictionary[j].copy()
            if A[j, j] > _UNUSED_ATOM:
                grad = B[:, j] - P[t]
                if t:
                    grad -= A[j, start:j] @ delta[:t]
                new = old + grad / A[j, j]
            else:
                atom = X[random_state.choice(X.shape[0])]
                noise = random_state.normal(0, 0.01 * (atom.std() or 1), size=atom.shape)
                new = atom + noise
                code[:, j] = 0
                n_replaced += 1
            if positive:
                np.clip(new, 0, None, out=new)
            new /= max(np.sqrt(new @ new), 1)
            dictionary[j] = new
            delta[t] = new - old
    return n_replaced


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
        (Frobenius norm of the change per atom) in a step.
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

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The learned atoms, ||d_j|| <= 1.
    error_ : ndarray of shape (n_iter,)
        Objective after each iteration: for batch learning the full objective
        (squared units of X); for online learning the sum over the epoch of the
        mini-batch objectives at the codes computed during the epoch.
    n_iter_ : int
        Iterations run (epochs for online learning).
    n_steps_ : int
        Mini-batch steps (online learning; equals ``n_iter_`` for batch).
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

    def _get_dictionary(self):
        check_is_fitted(self)
        return self.components_

    def _learning_encode(self, X, D, init=None):
        return sparse_encode(
            X, D, algorithm="lasso_lars" if self.fit_algorithm == "lars" else "lasso_cd",
            alpha=self.alpha, max_iter=self.transform_max_iter,
            positive=self.positive_code, init=init, n_jobs=self.n_jobs,
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
            the wrong shape or with a zero atom.

        Warns
        -----
        ConvergenceWarning
            When batch learning ends at ``max_iter`` without meeting ``tol``.
        """
        dask_input = is_dask_array(X)
        if dask_input:
            X = check_dask_X(self, X, reset=True, ensure_min_samples=2)
            if self.batch_size is None:
                raise ValueError(
                    "Batch dictionary learning keeps every code in memory; for a dask "
                    "array set batch_size (online learning streams the chunks)."
                )
        else:
            X = check_X(self, X, reset=True, ensure_min_samples=2)
        k = X.shape[1] if self.n_components is None else self.n_components
        self._check_transform_params(k, X.shape[1])
        rng = check_random_state(self.random_state)
        if self.batch_size is None:
            D, code = self._fit_batch(X, k, rng)
        else:
            D, code = self._fit_online(X, k, rng)
        self.components_ = D
        if code is None and not dask_input:
            code = self._learning_encode(X, D)
        self._fit_generative(X, D, code)
        return self

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
                _update_dict(D, X, code, A, B, self.positive_dict, rng)
                errors.append(_objective(X, code, D, self.alpha))
                bar.update(1)
                bar.set_postfix(objective=f"{errors[-1]:.6g}")
                if it > 0 and errors[-2] - errors[-1] < self.tol * errors[-1]:
                    converged = True
                    break
        if self.max_iter > 1 and not converged:
            warnings.warn(
                f"DictionaryLearning did not converge in max_iter={self.max_iter} "
                f"iterations (tol={self.tol})", ConvergenceWarning,
            )
        self.error_ = np.asarray(errors)
        self.n_iter_ = len(errors)
        self.n_steps_ = len(errors)
        return D, code

    def _fit_online(self, X, k, rng):
        n, d = X.shape
        if is_dask_array(X):
            size = min(n, max(10 * k, _DASK_INIT_ROWS))
            indices = np.sort(rng.choice(n, size=size, replace=False))
            sample = take_rows(X, indices)
            check_sampled_rows(sample, indices, X, magnitude_limits(X.shape, X.dtype))
            D, _ = self._initial_dictionary(sample, k, rng, exact=False)
        else:
            D, _ = self._initial_dictionary(X, k, rng, exact=False)
        batch_size = min(self.batch_size, n)
        A = np.zeros((k, k), dtype=X.dtype)
        B = np.zeros((d, k), dtype=X.dtype)
        batches = _BatchStream(X, batch_size, self.shuffle, rng)
        errors = []
        step = 0
        stop = False
        bar = progress_bar(total=self.max_iter, desc="online dictionary learning",
                           disable=not self.verbose)
        with bar:
            for epoch in range(self.max_iter):
                total = 0.0
                for Xb in batches.epoch():
                    code = self._learning_encode(Xb, D)
                    total += _objective(Xb, code, D, self.alpha)
                    # Mairal et al. (2010) section 3.4.3 weights, as scikit-learn
                    # computes them (with this batch's own size).
                    m = len(Xb)
                    if step < m - 1:
                        theta = (step + 1) * m
                    else:
                        theta = m**2 + step + 1 - m
                    beta = (theta + 1 - m) / (theta + 1)
                    A *= beta
                    A += code.T @ code / m
                    B *= beta
                    B += Xb.T @ code / m
                    old = D.copy() if self.tol > 0 else None
                    _update_dict(D, Xb, code, A, B, self.positive_dict, rng)
                    step += 1
                    if self.tol > 0 and linalg.norm(D - old) / k <= self.tol:
                        stop = True
                        break
                errors.append(total)
                bar.update(1)
                bar.set_postfix(objective=f"{total:.6g}")
                if stop:
                    break
        self.error_ = np.asarray(errors)
        self.n_iter_ = len(errors)
        self.n_steps_ = step
        return D, None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
