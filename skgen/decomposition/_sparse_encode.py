"""Sparse coding of signals against a dictionary: validation, the dispatch to the
numba kernels, and the objective.

Sparse coding solves, for each signal x (n_features,) and dictionary D
(n_atoms, n_features),

    min_z 1/2 ||x - z D||^2 + alpha ||z||_1        ('lasso_lars', 'lasso_cd')
    min_z 1/2 ||x - z D||^2  s.t. ||z||_0 <= s      ('omp', approximately;
                                                     'lars': s steps of LAR)

with the numba kernels of _omp.py, _lars.py and _cd.py, all working on the Gram
matrix G = D D^T and the correlations X D^T computed once by BLAS.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array

from ..utils._numba import resolve_n_threads, run_in_blocks, single_threaded_blas
from ..utils._validation import internal_scale
from ._cd import lasso_cd_gram
from ._lars import lars_gram
from ._omp import omp_gram

__all__ = ["sparse_encode", "objective_rows", "check_dictionary", "ALGORITHMS"]

ALGORITHMS = ("omp", "lasso_lars", "lars", "lasso_cd", "threshold")
_CD_TOL = 1e-8
# Below this many signal-atom pairs a batch is coded in the calling thread: a
# parallel region (and the BLAS/OpenMP threads it wakes) costs more than the work.
_SERIAL_BELOW = 16384

# The coding's row blocks: at most _MAX_BLOCKS of at least _MIN_BLOCK_ROWS rows,
# a partition fixed by the number of rows alone (not by the threads): each
# block's correlations X_b D^T are one product, and BLAS rounds a row's product
# differently in products of other shapes. Per block: a product, a dispatch
# and the kernel's work arrays (64-row blocks cost 5 ms on 4000 signals).
_MIN_BLOCK_ROWS = 256
_MAX_BLOCKS = 16


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
    gram=None,
    cov=None,
    algorithm="lasso_lars",
    n_nonzero_coefs=None,
    alpha=None,
    copy_cov=True,
    init=None,
    max_iter=1000,
    n_jobs=None,
    check_input=True,
    verbose=0,
    positive=False,
):
    """Sparse codes of the rows of ``X`` against ``dictionary``.

    The signature is scikit-learn's ``sklearn.decomposition.sparse_encode``
    (same names, order and defaults); the codes equal its codes.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Signals. With ``check_input`` (the default) any finite array-like;
        integers become float64 and float32 stays float32.
    dictionary : array-like of shape (n_atoms, n_features)
        Atoms as rows, no zero atom; cast to the dtype of ``X``.
    gram : ndarray of shape (n_atoms, n_atoms) or None, default=None
        Precomputed ``dictionary @ dictionary.T``.
    cov : ndarray of shape (n_atoms, n_samples) or None, default=None
        Precomputed ``dictionary @ X.T`` (scikit-learn's orientation).
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
    copy_cov : bool, default=True
        Accepted for scikit-learn compatibility: ``cov`` is never overwritten
        here, so no copy is ever needed.
    init : ndarray of shape (n_samples, n_atoms) or None, default=None
        Warm start for 'lasso_cd'.
    max_iter : int, default=1000
        Most LARS steps or coordinate-descent sweeps per signal.
    n_jobs : int or None, default=None
        numba threads; None uses the cores other processes leave idle
        (:func:`skgen.utils._numba.idle_cores`), -1 all of them (scikit-learn's
        None means one).
    check_input : bool, default=True
        Validate ``X`` and ``dictionary`` (2-D, finite, float, matching widths,
        no zero atom). False: the caller guarantees C-ordered float arrays of
        one dtype.
    verbose : int, default=0
        Accepted for scikit-learn compatibility; the kernels print nothing.
    positive : bool, default=False
        Non-negative codes ('lasso_lars', 'lasso_cd', 'threshold').

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
        If ``n_nonzero_coefs`` exceeds the number of atoms, ``positive`` is
        requested for 'omp' or 'lars', and (with ``check_input``) on NaN/inf,
        a zero atom, widths that differ, or ``gram`` / ``cov`` of the wrong
        shape.
    """
    if check_input:
        X = check_array(X, dtype=[np.float64, np.float32], order="C")
        dictionary = check_dictionary(dictionary, dtype=X.dtype)
        _check_width(X, dictionary)
    # Signals far from unit scale are coded as X * 2^k (exact) with the penalty
    # scaled alike: the kernels' tolerances are absolute (scikit-learn's too, and
    # its lasso codes are all zero at 2^-60), the problem is scale-equivariant.
    scale = internal_scale(X)
    if scale != 1.0:
        f = X.dtype.type(scale)
        if alpha is not None:
            alpha = float(alpha) * scale * (scale if algorithm == "omp" else 1.0)
        code = sparse_encode(
            X * f, dictionary, gram=gram, cov=None if cov is None else cov * f,
            algorithm=algorithm, n_nonzero_coefs=n_nonzero_coefs, alpha=alpha,
            init=None if init is None else init * f, max_iter=max_iter,
            n_jobs=n_jobs, check_input=False, positive=positive)
        return code / f
    n_samples, n_features = X.shape
    n_atoms = dictionary.shape[0]
    n_nonzero_coefs = _check_encode_params(algorithm, n_nonzero_coefs, positive,
                                           n_atoms, n_features)
    if algorithm == "threshold":
        a = 1.0 if alpha is None else float(alpha)
        _, cov = _check_precomputed(None, cov, n_atoms, n_samples)
        with np.errstate(over="ignore", invalid="ignore"):
            cov = X @ dictionary.T if cov is None else cov.T.astype(X.dtype)
        _check_products_finite(X, cov)
        code = np.sign(cov) * np.maximum(np.abs(cov) - a, 0)
        if positive:
            np.clip(code, 0, None, out=code)
        return code
    if n_samples == 0:
        return np.zeros((0, n_atoms), dtype=X.dtype)
    n_threads = resolve_n_threads(n_jobs)
    gram, cov = _check_precomputed(gram, cov, n_atoms, n_samples)
    if n_samples * n_atoms < _SERIAL_BELOW:
        n_threads = 1
    if gram is None:
        # One BLAS thread even for this product: OpenBLAS's workers keep
        # spinning after a threaded call and slow the parallel coding.
        with single_threaded_blas(), np.errstate(over="ignore", invalid="ignore"):
            gram = dictionary @ dictionary.T
    gram = np.ascontiguousarray(gram, dtype=X.dtype)
    _check_products_finite(X, gram)
    code = np.zeros((n_samples, n_atoms), dtype=X.dtype)
    status = np.zeros(n_samples, dtype=np.int8)
    with_norms = algorithm != "lars" and algorithm != "lasso_lars"
    if algorithm == "omp":
        if alpha is None:
            max_atoms, tol = int(n_nonzero_coefs), -1.0
        else:
            max_atoms, tol = min(n_atoms, n_features), float(alpha)
        # Dependence within a few hundred ulps of the data's precision.
        dep_tol = 100 * float(np.finfo(X.dtype).eps)
        kernel, params = omp_gram, (max_atoms, tol, dep_tol)
    elif algorithm in ("lars", "lasso_lars"):
        lasso = algorithm == "lasso_lars"
        a = (1.0 if alpha is None else float(alpha)) if lasso else 0.0
        # LAR adds one atom per step; the lasso path also removes atoms, so
        # only max_iter bounds its steps.
        steps = int(max_iter) if lasso else int(n_nonzero_coefs)
        # scikit-learn's lars_path equality tolerance (float32 eps on alpha /
        # n_features), in the unscaled objective.
        tol_eq = n_features * float(np.finfo(np.float32).eps)
        kernel, params = lars_gram, (a, tol_eq, lasso, bool(positive), steps,
                                     int(max_iter))
    else:  # lasso_cd
        if init is not None:
            code[:] = init
        a = 1.0 if alpha is None else float(alpha)
        # float32 cannot certify a gap below its own rounding of ||x||^2.
        tol = max(_CD_TOL, 10 * float(np.finfo(X.dtype).eps))
        kernel, params = lasso_cd_gram, (a, bool(positive), int(max_iter), tol)

    def code_block(start, stop):
        # Each block's correlations X_b D^T in its own thread: the product is
        # parallel with the coding, on one BLAS thread per block.
        Xb = X[start:stop]
        with np.errstate(over="ignore", invalid="ignore"):
            cov_b = np.ascontiguousarray(
                Xb @ dictionary.T if cov is None else cov[:, start:stop].T,
                dtype=X.dtype)
        _check_products_finite(X, cov_b)
        norms = (np.einsum("ij,ij->i", Xb, Xb),) if with_norms else ()
        kernel(gram, cov_b, *norms, *params, code[start:stop], status[start:stop],
               0, stop - start)

    # A partition that followed the idle cores made the codes depend on the
    # machine's load (by 1e-15): the blocks are fixed, the threads share them.
    block_rows = max(_MIN_BLOCK_ROWS, -(-n_samples // _MAX_BLOCKS))

    def code_blocks(first, last):
        for b in range(first, last):
            code_block(b * block_rows, min((b + 1) * block_rows, n_samples))

    # Overflow is checked in each block, with a message that names it.
    with single_threaded_blas():
        run_in_blocks(code_blocks, -(-n_samples // block_rows), n_threads)
    if algorithm in ("lasso_lars", "lasso_cd") and np.any(status == 2):
        warnings.warn(
            f"{algorithm} stopped at max_iter={max_iter} before converging on "
            f"{int(np.sum(status == 2))} of {n_samples} signals",
            ConvergenceWarning,
        )
    return code


def _check_precomputed(gram, cov, n_atoms, n_samples):
    """``gram`` (n_atoms, n_atoms) and ``cov`` (n_atoms, n_samples) as arrays."""
    if gram is not None:
        gram = np.asarray(gram)
        if gram.shape != (n_atoms, n_atoms):
            raise ValueError(
                f"gram has shape {gram.shape}; expected (n_atoms, n_atoms) = "
                f"{(n_atoms, n_atoms)}"
            )
    if cov is not None:
        cov = np.asarray(cov)
        if cov.shape != (n_atoms, n_samples):
            raise ValueError(
                f"cov has shape {cov.shape}; expected (n_atoms, n_samples) = "
                f"{(n_atoms, n_samples)} (dictionary @ X.T)"
            )
    return gram, cov


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
