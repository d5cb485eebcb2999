"""Input validation shared by every skgen estimator.

scikit-learn's ``validate_data`` does the heavy lifting (dtype, finiteness, shape,
``n_features_in_``); this module adds the few checks that several skgen estimators
need and scikit-learn does not have.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

__all__ = [
    "check_X",
    "check_magnitude",
    "magnitude_limits",
    "power_of_two_scale",
    "internal_scale",
    "check_n_samples",
    "check_positive_int",
    "check_binary",
    "check_array_param",
    "row_chunks",
]

FLOAT_DTYPES = (np.float64, np.float32)


def check_X(estimator, X, *, reset, accept_sparse=False, ensure_min_samples=1,
            ensure_all_finite=True, magnitude_dtype=None):
    """Validate ``X`` for ``estimator`` and keep float32 as float32.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator that records ``n_features_in_`` (when ``reset``) or checks
        ``X`` against it (when not).
    X : array-like or sparse matrix of shape (n_samples, n_features)
        Input data. Integer and boolean input is converted to float64.
    reset : bool
        True in ``fit``; False in every method that uses a fitted estimator.
    accept_sparse : bool or list of str, default=False
        Sparse formats accepted; accepted sparse input is converted to CSR.
    ensure_min_samples : int, default=1
        Minimum number of rows.
    ensure_all_finite : bool, default=True
        Check for NaN/inf here. A caller that passes False must detect them
        itself (e.g. from a product it computes anyway, as PCA does from the
        diagonal of X^T X).
    magnitude_dtype : numpy dtype, False or None, default=None
        The dtype the estimator computes in, for :func:`check_magnitude`
        (None: X's own dtype); False skips that check (for estimators whose
        arithmetic does not square X, e.g. a thresholded Bernoulli mixture).

    Returns
    -------
    X : ndarray or scipy.sparse.csr_matrix of shape (n_samples, n_features)
        float64 or float32, finite.

    Raises
    ------
    ValueError
        On NaN or inf, on fewer than two dimensions, too few samples, a number
        of features that differs from the one seen in ``fit``, or magnitudes
        whose squares overflow or underflow (:func:`check_magnitude`).
    TypeError
        On sparse input when ``accept_sparse`` is False.
    """
    if accept_sparse is True:
        accept_sparse = ["csr", "csc", "coo"]
    try:
        X = validate_data(
            estimator,
            X,
            reset=reset,
            accept_sparse=accept_sparse,
            dtype=list(FLOAT_DTYPES),
            ensure_min_samples=ensure_min_samples,
            ensure_all_finite=ensure_all_finite,
        )
    except ValueError as error:
        if ensure_all_finite is True and "NaN" in str(error):
            raise ValueError(f"{error}\n{missing_values_hint(estimator)}") from None
        raise
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    if magnitude_dtype is not False:
        check_magnitude(X, X.dtype if magnitude_dtype is None else magnitude_dtype)
    return X


def check_observed_rows(X):
    """Refuse rows whose every entry is missing (NaN): nothing to marginalise to.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        A sparse row is refused when all its ``n_features`` entries are
        stored NaN (a row with any implicit zero observes that zero).

    Raises
    ------
    ValueError
        Naming the first such row and their number.
    """
    if X.shape[1] == 0:
        return
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        nan = np.isnan(X.data)
        if not nan.any():
            return
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))[nan]
        empty = np.bincount(rows, minlength=X.shape[0]) == X.shape[1]
    else:
        empty = np.isnan(X).all(axis=1)
    if empty.any():
        rows = np.flatnonzero(empty)
        raise ValueError(
            f"X has {rows.size} row(s) with no observed entry (every value NaN), "
            f"the first at row {rows[0]}: a row must observe at least one feature; "
            "drop such rows"
        )


def missing_values_hint(estimator):
    """What to do with NaN for an estimator that cannot marginalise them.

    Parameters
    ----------
    estimator : BaseEstimator

    Returns
    -------
    hint : str
        Names :class:`skgen.GenerativeImputer` and the models that take NaN.
    """
    name = type(estimator).__name__
    return (
        f"{name} cannot marginalise missing values (NaN). Fill them from a generative "
        f"model first: make_pipeline(skgen.GenerativeImputer(), {name}(...)) (one "
        "full-covariance Gaussian by default, or GenerativeImputer(GaussianMixtureEM(K))); "
        "skgen.GaussianMixtureEM, BernoulliMixture, PCA, VAE and DenoisingAE fit data "
        "with NaN directly."
    )


def check_magnitude(X, dtype=None):
    """Raise when the squares of X's entries overflow or underflow ``dtype``.

    Every skgen estimator forms squares or products of X's rows (squared
    norms, distances, Gram entries, squared losses). A finite row with entries
    above sqrt(max / n_features) makes its squared norm inf, and nonzero
    entries below sqrt(tiny) have subnormal squares (about 1.5e-154 in
    float64, 1.1e-19 in float32): both would give NaN or inf downstream, so
    they are refused here with a message that names the magnitude and the
    limit. The limits depend on the row width only, never on how many rows
    came in the call, so a row is accepted or refused whatever its batch.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Finite data (NaN/inf are left to the finiteness check).
    dtype : numpy dtype, default=None
        The dtype the computation runs in (None: X's).

    Returns
    -------
    peak : float
        max |X| (NaN ignored; 0.0 for empty X), for :func:`internal_scale`.

    Raises
    ------
    ValueError
        When max |X| is above the overflow limit, or nonzero and below the
        underflow limit.
    """
    peak = _peak(X)
    if not np.isfinite(peak) or peak == 0.0:
        return peak
    info = np.finfo(np.dtype(X.dtype if dtype is None else dtype))
    high, low = magnitude_limits(X.shape, info.dtype)
    if peak > high:
        raise ValueError(
            f"X holds values up to {peak:.3g} in absolute value: the squared norms "
            f"of its rows overflow {info.dtype} (limit {high:.3g} for rows of "
            f"{X.shape[1]} features). Rescale X, e.g. divide it by its largest "
            "absolute value or use sklearn.preprocessing.StandardScaler."
        )
    if peak < low:
        raise ValueError(
            f"X holds values no larger than {peak:.3g} in absolute value: their "
            f"squares underflow {info.dtype} (limit {low:.3g}). Rescale X, e.g. "
            "divide it by its largest absolute value."
        )
    return peak


def _peak(X):
    """max |X| (NaN ignored), 0.0 for empty X."""
    values = X.data if sp.issparse(X) else np.asarray(X)
    if values.size == 0:
        return 0.0
    with np.errstate(invalid="ignore"):
        return float(max(np.nanmax(values), -np.nanmin(values)))


def power_of_two_scale(X, peak=None):
    """The power of two that brings max |X| into [1, 2): an exact rescaling.

    Scale-equivariant estimators work on ``X * scale`` so that their results
    for X and for 2^k X are bit-identical (and within rounding for any c X),
    and report what depends on units in the user's units.

    Parameters
    ----------
    X : ndarray or sparse matrix
        Finite data.
    peak : float or None, default=None
        max |X| when the caller has it already (saves a pass over X).

    Returns
    -------
    scale : float
        2^-e with 2^e <= max |X| < 2^(e+1); 1.0 for empty or all-zero X.
    """
    peak = _peak(X) if peak is None else float(peak)
    if peak == 0.0 or not np.isfinite(peak):
        return 1.0
    _, exponent = np.frexp(peak)  # peak = m 2^exponent, m in [0.5, 1)
    return float(np.ldexp(1.0, 1 - int(exponent)))


# Data whose magnitude is within this factor of 1 is used as given.
_SAFE_SCALE = 2.0**20


def internal_scale(X, peak=None):
    """:func:`power_of_two_scale` for data far from unit scale, else 1.0.

    PCA, the Gaussian mixture and sparse coding rescale only X whose largest
    magnitude is outside [2^-20, 2^20] (float32 in SI units, 1e30 masses):
    results on ordinary data stay bit for bit what they were.

    Parameters
    ----------
    X : ndarray or sparse matrix
        Finite data.
    peak : float or None, default=None
        max |X| when the caller has it already.

    Returns
    -------
    scale : float
        A power of two, 1.0 unless max |X| is outside [2^-20, 2^20].
    """
    scale = power_of_two_scale(X, peak)
    return scale if not 1.0 / _SAFE_SCALE <= scale <= _SAFE_SCALE else 1.0


def magnitude_limits(shape, dtype):
    """The overflow and underflow limits of :func:`check_magnitude`.

    Parameters
    ----------
    shape : (int, int)
        (n_samples, n_features); only the row width matters (a limit is
        decided per row).
    dtype : numpy dtype
        The dtype the computation runs in.

    Returns
    -------
    high : float
        sqrt(max / n_features): larger |x| overflow a row's squared norm.
    low : float
        sqrt(tiny): smaller nonzero |x| have subnormal or zero squares.
    """
    info = np.finfo(np.dtype(dtype))
    high = float(np.sqrt(float(info.max) / max(shape[1], 1)))
    low = float(np.sqrt(float(info.tiny)))
    return high, low


def check_n_samples(n_samples, n_required, what="n_components"):
    """Raise unless there are at least ``n_required`` samples.

    Parameters
    ----------
    n_samples : int
        Rows in the data.
    n_required : int
        Rows the estimator needs, for instance its number of components.
    what : str, default="n_components"
        Name of the parameter that sets ``n_required``, used in the message.

    Raises
    ------
    ValueError
        When ``n_samples < n_required``; the message names both values.
    """
    if n_samples < n_required:
        raise ValueError(
            f"Expected n_samples >= {what} but got {what} = {n_required}, "
            f"n_samples = {n_samples}"
        )


def check_positive_int(value, name="n_samples"):
    """Raise unless ``value`` is an integer >= 1 (e.g. ``sample``'s ``n_samples``).

    Parameters
    ----------
    value : object
        The value passed by the user.
    name : str, default="n_samples"
        Parameter name, used in the message.

    Raises
    ------
    ValueError
        When ``value`` is not an integer or is below 1; the message names
        ``name`` and the value.
    """
    # bool is an Integral, but True is not a count.
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_binary(X, name="X", allow_nan=False):
    """Raise unless every entry of ``X`` is 0 or 1.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Data to check. For sparse input only the stored values are read.
    name : str, default="X"
        Name used in the message.
    allow_nan : bool, default=False
        NaN (a missing entry) passes too.

    Raises
    ------
    ValueError
        When an entry is neither 0 nor 1. The message gives up to five of the
        offending values and how many entries are affected.
    """
    values = X.data if sp.issparse(X) else np.asarray(X)
    bad = (values != 0) & (values != 1)
    if allow_nan:
        bad &= ~np.isnan(values)
    if np.any(bad):
        offending = np.unique(values[bad])
        shown = ", ".join(f"{v:g}" for v in offending[:5])
        more = "" if offending.size <= 5 else ", ..."
        raise ValueError(
            f"{name} must be binary (only 0 and 1) when binarize=None, but "
            f"{int(np.count_nonzero(bad))} entries hold other values: {shown}{more}. "
            "Set binarize to a threshold to binarize the data."
        )


def check_array_param(value, name, shape, dtype, *, lower=None, upper=None):
    """Validate a user-supplied initial parameter array.

    Parameters
    ----------
    value : array-like
        The value passed by the user, e.g. ``means_init``.
    name : str
        The parameter's name, used in messages.
    shape : tuple of int
        The required shape.
    dtype : numpy dtype
        The dtype to convert to (the dtype of the training data).
    lower, upper : float or None, default=None
        Open bounds on every entry, when given.

    Returns
    -------
    array : ndarray of shape ``shape`` and dtype ``dtype``

    Raises
    ------
    ValueError
        When the shape differs, an entry is not finite, or an entry is outside
        the bounds.
    """
    array = np.asarray(value, dtype=dtype)
    if array.shape != tuple(shape):
        raise ValueError(
            f"The parameter '{name}' should have the shape {tuple(shape)}, "
            f"but got {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"The parameter '{name}' contains NaN or inf.")
    if lower is not None and np.any(array <= lower):
        raise ValueError(
            f"The parameter '{name}' should be > {lower}, but its minimum is "
            f"{array.min():g}"
        )
    if upper is not None and np.any(array >= upper):
        raise ValueError(
            f"The parameter '{name}' should be < {upper}, but its maximum is "
            f"{array.max():g}"
        )
    return array


def row_chunks(n_rows, bytes_per_row, budget_bytes=8 * 2**20, min_rows=64):
    """Split ``range(n_rows)`` into slices whose temporaries fit a memory budget.

    Blocked kernels work on a few rows at a time so that their temporaries stay
    in cache and the peak memory stays a small, fixed amount beyond the input.

    Parameters
    ----------
    n_rows : int
        Rows to cover.
    bytes_per_row : int
        Bytes of temporaries that one row needs.
    budget_bytes : int, default=8 MiB
        Bytes of temporaries allowed at once.
    min_rows : int, default=64
        Smallest chunk, so that matrix products stay efficient.

    Yields
    ------
    chunk : slice
        Consecutive, non-overlapping slices covering ``range(n_rows)``.
    """
    if not isinstance(n_rows, numbers.Integral) or n_rows < 0:
        raise ValueError(f"n_rows must be a non-negative integer, got {n_rows!r}")
    step = max(int(min_rows), int(budget_bytes // max(int(bytes_per_row), 1)))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))
