"""Sparse coding against a dictionary, and dictionary learning.

Sparse coding solves, for each signal x (n_features,) and dictionary D
(n_atoms, n_features),

    min_z 1/2 ||x - z D||^2 + alpha ||z||_1        ('lasso_lars', 'lasso_cd')
    min_z 1/2 ||x - z D||^2  s.t. ||z||_0 <= s      ('omp', approximately;
                                                     'lars': s steps of LAR)

with the numba kernels of _omp.py, _lars.py and _cd.py, all working on the Gram
matrix G = D D^T and the correlations X D^T computed once by BLAS. Dictionary
learning alternates sparse coding with block-coordinate descent on the atoms
under ||d_j|| <= 1 (Mairal, Bach, Ponce & Sapiro 2010, "Online learning for
matrix factorization and sparse coding", JMLR 11, algorithms 1-2).
"""

import numbers
import warnings

import numba
import numpy as np
from scipy import linalg
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import randomized_svd, svd_flip
from sklearn.utils.validation import check_is_fitted

from ..utils import check_positive_int, check_X, progress_bar
from ..utils._numba import resolve_n_threads, single_threaded_blas
from ._cd import lasso_cd_gram, lasso_cd_gram_serial
from ._lars import lars_gram, lars_gram_serial
from ._omp import omp_gram, omp_gram_serial

ALGORITHMS = ("omp", "lasso_lars", "lars", "lasso_cd", "threshold")
_CD_TOL = 1e-8
# Below this many signal-atom pairs a batch is coded in the calling thread: a
# parallel region (and the BLAS/OpenMP threads it wakes) costs more than the work.
_SERIAL_BELOW = 16384


def check_dictionary(dictionary, dtype=None, name="dictionary"):
    """Validate a dictionary: 2-D, finite, float, no zero atom.

    Parameters
    ----------
    dictionary : array-like of shape (n_atoms, n_features)
        Atoms as rows.
    dtype : numpy dtype or None, default=None
        Cast to this dtype; None keeps float32/float64 (others become float64).
    name : str, default='dictionary'
        Name used in error messages.

    Returns
    -------
    dictionary : ndarray of shape (n_atoms, n_features), C order.

    Raises
    ------
    ValueError
        On NaN/inf, fewer than two dimensions, or an all-zero atom (the message
        lists the offending rows).
    """
    D = check_array(
        dictionary, dtype=[np.float64, np.float32] if dtype is None else dtype,
        order="C", input_name=name,
    )
    zero = np.flatnonzero(~np.any(D != 0, axis=1))
    if zero.size:
        raise ValueError(
            f"{name} has all-zero atoms (rows {zero[:10].tolist()}"
            f"{'...' if zero.size > 10 else ''}); every atom needs a non-zero norm"
        )
    return D


def _check_width(X, dictionary):
    if X.shape[1] != dictionary.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but the dictionary has "
            f"{dictionary.shape[1]} (dictionary.shape={dictionary.shape})"
        )


def _check_products_finite(X, *products):
    """Raise when finite inputs gave overflowed products (|x| near sqrt(max))."""
    if all(np.all(np.isfinite(p)) for p in products):
        return
    raise ValueError(
        f"sparse coding overflowed {X.dtype}: the products of X (max |x| = "
        f"{float(np.max(np.abs(X))):.3g}) with the dictionary are not finite; rescale "
        "X (e.g. divide by its largest absolute value)"
    )


def _check_encode_params(algorithm, n_nonzero_coefs, positive, n_atoms, n_features,
                         prefix=""):
    """Validate the coding parameters that depend on the dictionary's size.

    Returns
    -------
    n_nonzero_coefs : int or None
        For 'omp' and 'lars', the given value or max(n_features / 10, 1) (at most
        n_atoms); unchanged otherwise.

    Raises
    ------
    ValueError
        On an unknown algorithm, ``positive`` with 'omp' or 'lars', or
        ``n_nonzero_coefs`` above ``n_atoms``.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"{prefix}algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    if positive and algorithm in ("omp", "lars"):
        raise ValueError(
            f"positive codes are not supported by {prefix}algorithm={algorithm!r}; "
            "use 'lasso_lars', 'lasso_cd' or 'threshold'"
        )
    if algorithm in ("omp", "lars"):
        if n_nonzero_coefs is None:
            n_nonzero_coefs = int(min(max(n_features / 10, 1), n_atoms))
        if n_nonzero_coefs > n_atoms:
            raise ValueError(
                f"{prefix}n_nonzero_coefs={n_nonzero_coefs} is larger than the number of "
                f"atoms ({n_atoms})"
            )
    return n_nonzero_coefs


def sparse_encode(
    X,
    dictionary,
    *,
    algorithm="lasso_lars",
    n_nonzero_coefs=None,
    alpha=None,
    max_iter=1000,
    positive=False,
    init=None,
    n_jobs=None,
    gram=None,
):
    """Sparse codes of the rows of ``X`` against ``dictionary``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Signals, float32 or float64, finite (validated by the caller).
    dictionary : ndarray of shape (n_atoms, n_features)
        Atoms as rows, same dtype as ``X``, no zero atom.
    algorithm : {'lasso_lars', 'lasso_cd', 'lars', 'omp', 'threshold'}, \
            default='lasso_lars'
        'omp': Batch-OMP (Rubinstein et al. 2008). 'lars': ``n_nonzero_coefs``
        steps of LAR (Efron et al. 2004). 'lasso_lars': the lasso solution at
        ``alpha`` by LARS. 'lasso_cd': the same by coordinate descent (duality
        gap <= 1e-8 ||x||^2 in float64, 1.2e-6 ||x||^2 in float32). 'threshold': soft-thresholding of X D^T at
        ``alpha``.
    n_nonzero_coefs : int or None, default=None
        Non-zeros for 'omp' and 'lars'; None: max(n_features / 10, 1), at most
        n_atoms.
    alpha : float or None, default=None
        Penalty for 'lasso_lars', 'lasso_cd' and 'threshold' (default 1.0). For
        'omp', the target squared residual norm ||x - z D||^2, which overrides
        ``n_nonzero_coefs``.
    max_iter : int, default=1000
        Most LARS steps or coordinate-descent sweeps per signal.
    positive : bool, default=False
        Non-negative codes ('lasso_lars', 'lasso_cd', 'threshold').
    init : ndarray of shape (n_samples, n_atoms) or None, default=None
        Warm start for 'lasso_cd'.
    n_jobs : int or None, default=None
        numba threads; None uses the cores other processes leave idle
        (:func:`skgen.utils._numba.idle_cores`), -1 all of them.
    gram : ndarray of shape (n_atoms, n_atoms) or None, default=None
        Precomputed ``dictionary @ dictionary.T``.

    Returns
    -------
    code : ndarray of shape (n_samples, n_atoms)
        Codes in the dtype of ``X``.

    Warns
    -----
    ConvergenceWarning
        When 'lasso_lars' or 'lasso_cd' stopped at ``max_iter`` before
        converging on some signals.

    Raises
    ------
    ValueError
        If ``n_nonzero_coefs`` exceeds the number of atoms, or ``positive`` is
        requested for 'omp' or 'lars'.
    """
    n_samples, n_features = X.shape
    n_atoms = dictionary.shape[0]
    n_nonzero_coefs = _check_encode_params(algorithm, n_nonzero_coefs, positive,
                                           n_atoms, n_features)
    if algorithm == "threshold":
        a = 1.0 if alpha is None else float(alpha)
        with np.errstate(over="ignore", invalid="ignore"):
            cov = X @ dictionary.T
        _check_products_finite(X, cov)
        code = np.sign(cov) * np.maximum(np.abs(cov) - a, 0)
        if positive:
            np.clip(code, 0, None, out=code)
        return code
    if n_samples == 0:
        return np.zeros((0, n_atoms), dtype=X.dtype)
    n_threads = resolve_n_threads(n_jobs)
    if n_samples * n_atoms < _SERIAL_BELOW:
        n_threads = 1
    # One BLAS thread even before a serial kernel: OpenBLAS's workers keep
    # spinning after a threaded call and slow the next parallel kernel.
    # Overflow is checked just below, with a message that names it.
    with single_threaded_blas(), np.errstate(over="ignore", invalid="ignore"):
        cov = np.ascontiguousarray(X @ dictionary.T)
        if gram is None:
            gram = dictionary @ dictionary.T
    gram = np.ascontiguousarray(gram, dtype=X.dtype)
    _check_products_finite(X, cov, gram)
    n_blocks = min(n_samples, 8 * n_threads)
    code = np.zeros((n_samples, n_atoms), dtype=X.dtype)
    status = np.zeros(n_samples, dtype=np.int8)
    serial = n_threads == 1
    # Serial kernels need no thread count; changing the parallel team's size
    # between calls makes OpenMP rebuild it (measured: +30% on 10000 codes).
    previous = numba.get_num_threads()
    if not serial and n_threads != previous:
        numba.set_num_threads(n_threads)
    try:
        if algorithm == "omp":
            if alpha is None:
                max_atoms, tol = int(n_nonzero_coefs), -1.0
            else:
                max_atoms, tol = min(n_atoms, n_features), float(alpha)
            norms = np.einsum("ij,ij->i", X, X)
            # Dependence within a few hundred ulps of the data's precision.
            dep_tol = 100 * float(np.finfo(X.dtype).eps)
            if serial:
                omp_gram_serial(gram, cov, norms, max_atoms, tol, dep_tol, code, status)
            else:
                omp_gram(gram, cov, norms, max_atoms, tol, dep_tol, code, status,
                         n_blocks)
        elif algorithm in ("lars", "lasso_lars"):
            lasso = algorithm == "lasso_lars"
            a = (1.0 if alpha is None else float(alpha)) if lasso else 0.0
            # LAR adds one atom per step; the lasso path also removes atoms, so
            # only max_iter bounds its steps.
            steps = int(max_iter) if lasso else int(n_nonzero_coefs)
            # scikit-learn's lars_path equality tolerance (float32 eps on alpha /
            # n_features), in the unscaled objective.
            tol_eq = n_features * float(np.finfo(np.float32).eps)
            args = (gram, cov, a, tol_eq, lasso, bool(positive), steps,
                    int(max_iter), code, status)
            if serial:
                lars_gram_serial(*args)
            else:
                lars_gram(*args, n_blocks)
        else:  # lasso_cd
            if init is not None:
                code[:] = init
            a = 1.0 if alpha is None else float(alpha)
            norms = np.einsum("ij,ij->i", X, X)
            # float32 cannot certify a gap below its own rounding of ||x||^2.
            tol = max(_CD_TOL, 10 * float(np.finfo(X.dtype).eps))
            args = (gram, cov, norms, a, bool(positive), int(max_iter), tol, code,
                    status)
            if serial:
                lasso_cd_gram_serial(*args)
            else:
                lasso_cd_gram(*args, n_blocks)
    finally:
        if numba.get_num_threads() != previous:
            numba.set_num_threads(previous)
    if algorithm in ("lasso_lars", "lasso_cd") and np.any(status == 2):
        warnings.warn(
            f"{algorithm} stopped at max_iter={max_iter} before converging on "
            f"{int(np.sum(status == 2))} of {n_samples} signals",
            ConvergenceWarning,
        )
    return code


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


def objective_rows(X, code, dictionary, alpha):
    """1/2 ||x - z D||^2 + alpha ||z||_1 per row, in float64.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    code : ndarray of shape (n_samples, n_atoms)
    dictionary : ndarray of shape (n_atoms, n_features)
    alpha : float

    Returns
    -------
    objective : ndarray of shape (n_samples,)
        Squared units of X.
    """
    R = X - code @ dictionary.astype(code.dtype, copy=False)
    obj = 0.5 * np.einsum("ij,ij->i", R, R, dtype=np.float64)
    obj += alpha * np.abs(code).sum(axis=1, dtype=np.float64)
    return obj


def _objective(X, code, dictionary, alpha):
    """The learning objective summed over samples."""
    return float(objective_rows(X, code, dictionary, alpha).sum())


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
        )

    def _split(self, code):
        if not self.split_sign:
            return code
        return np.hstack([np.maximum(code, 0), -np.minimum(code, 0)])

    def transform(self, X):
        """Sparse codes of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Signals.

        Returns
        -------
        code : ndarray of shape (n_samples, n_atoms), or (n_samples, 2 n_atoms)
            with ``split_sign`` (positive parts, then negative parts).

        Raises
        ------
        ValueError
            On NaN/inf, a feature count different from the dictionary's, or
            ``transform_n_nonzero_coefs`` larger than the number of atoms.
        """
        D = self._get_dictionary()
        X = check_X(self, X, reset=False)
        _check_width(X, D)
        return self._split(self._encode(X, D))

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
        code = check_array(X, dtype=[np.float64, np.float32])
        width = D.shape[0] * (2 if self.split_sign else 1)
        if code.shape[1] != width:
            raise ValueError(f"X has {code.shape[1]} columns; expected {width} codes")
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
        X = check_X(self, X, reset=False)
        _check_width(X, D)
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
        return float(np.mean(self.score_samples(X)))

    def _fit_generative(self, X, code, D):
        """Laplace scales of the codes and the residual variance (for sample)."""
        self.code_scale_ = np.abs(code).mean(axis=0).astype(np.float64)
        R = X - code @ D
        self.noise_variance_ = float(np.einsum("ij,ij->", R, R)) / R.size

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
        X : array-like of shape (n_samples, n_features)
            Signals whose codes set ``code_scale_`` and ``noise_variance_``.
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
        X = check_X(self, X, reset=True)
        _check_width(X, D)
        self._check_transform_params(D.shape[0], X.shape[1])
        code = self._encode(X, D)
        self._fit_generative(X, code, D.astype(X.dtype, copy=False))
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


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
        X = check_X(self, X, reset=True, ensure_min_samples=2)
        k = X.shape[1] if self.n_components is None else self.n_components
        self._check_transform_params(k, X.shape[1])
        rng = check_random_state(self.random_state)
        if self.batch_size is None:
            D, code = self._fit_batch(X, k, rng)
        else:
            D, code = self._fit_online(X, k, rng)
        self.components_ = D
        if code is None:
            code = self._learning_encode(X, D)
        self._fit_generative(X, code, D)
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
        D, _ = self._initial_dictionary(X, k, rng, exact=False)
        X_train = X.copy() if self.shuffle else X
        if self.shuffle:
            rng.shuffle(X_train)
        batch_size = min(self.batch_size, n)
        A = np.zeros((k, k), dtype=X.dtype)
        B = np.zeros((d, k), dtype=X.dtype)
        batches = list(gen_batches(n, batch_size))
        errors = []
        step = 0
        stop = False
        bar = progress_bar(total=self.max_iter, desc="online dictionary learning",
                           disable=not self.verbose)
        with bar:
            for epoch in range(self.max_iter):
                total = 0.0
                for batch in batches:
                    Xb = X_train[batch]
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
