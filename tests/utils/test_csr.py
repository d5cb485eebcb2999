"""The CSR row kernels against plain NumPy / scipy references."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from skgen.mixture import BernoulliMixture
from skgen.utils import _csr
from skgen.utils._csr import (
    csr_label_sums,
    csr_nearest,
    csr_product,
    csr_transposed_product,
    dense_to_csr,
)


def _binary(seed, n=60, d=9, density=0.3, nan=0.0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = (rng.uniform(size=(n, d)) < density).astype(dtype)
    X[rng.uniform(size=X.shape) < nan] = np.nan
    return X


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), density=st.floats(0, 1), nan=st.sampled_from([0, 0.1]),
       threshold=st.floats(-0.5, 1.5), dtype=st.sampled_from([np.float32, np.float64]))
def test_dense_to_csr_is_the_thresholded_matrix(seed, density, nan, threshold, dtype):
    X = np.random.RandomState(seed).uniform(size=(37, 11)).astype(dtype)
    X[np.random.RandomState(seed + 1).uniform(size=X.shape) < nan] = np.nan
    S = dense_to_csr(X, threshold=threshold, max_density=1.0, min_entries=0)
    expected = np.where(np.isnan(X), np.nan, X > threshold).astype(dtype)
    np.testing.assert_array_equal(S.toarray(), expected)
    assert S.dtype == dtype and S.has_canonical_format


def test_dense_to_csr_threaded_blocks_match_one_thread():
    X = _binary(0, n=3 * _csr._THREAD_ROWS, d=20, nan=0.01)
    one = dense_to_csr(X, max_density=1.0, min_entries=0, n_jobs=1)
    two = dense_to_csr(X, max_density=1.0, min_entries=0, n_jobs=2)
    np.testing.assert_array_equal(one.indptr, two.indptr)
    np.testing.assert_array_equal(one.indices, two.indices)
    np.testing.assert_array_equal(one.data, two.data)


def test_dense_to_csr_keeps_dense_rows_dense():
    X = _binary(1, density=0.9)
    assert dense_to_csr(X, min_entries=0) is None
    assert dense_to_csr(X, max_density=1.0, min_entries=0) is not None


def test_dense_to_csr_keeps_small_matrices_dense():
    """Below CSR_MIN_ENTRIES X stays dense and is not read (not even checked)."""
    from skgen.utils._csr import CSR_MIN_ENTRIES

    X = _binary(3, density=0.05)
    assert X.size < CSR_MIN_ENTRIES
    X[0, 0] = 0.5  # would be refused with exact=True
    assert dense_to_csr(X, exact=True) is None
    assert dense_to_csr(X, min_entries=X.size) is not None


def test_dense_to_csr_exact_refuses_non_binary_values():
    X = _binary(2)
    X[3, 4] = 0.5
    with pytest.raises(ValueError, match="must be binary.*0.5"):
        dense_to_csr(X, exact=True, max_density=1.0, min_entries=0)
    X[3, 4] = np.nan
    S = dense_to_csr(X, exact=True, max_density=1.0, min_entries=0)
    np.testing.assert_array_equal(S.toarray(), X)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_products_match_numpy(seed, dtype):
    X = _binary(seed, nan=0.1, dtype=dtype)
    X[0] = 0  # an empty row
    # Non-binary stored values too (the starts fill NaN with column means).
    X[1, :3] = [0.25, 2.0, np.nan]
    S = sp.csr_matrix(np.where(np.isnan(X), np.nan, X))
    S.eliminate_zeros()
    rng = np.random.RandomState(seed)
    W, Wm = rng.normal(size=(2, X.shape[1], 4)).astype(dtype)
    R = rng.uniform(size=(X.shape[0], 4)).astype(dtype)
    observed, missing = np.nan_to_num(X), np.isnan(X).astype(dtype)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(csr_product(S, W, W_missing=Wm), observed @ W - missing @ Wm,
                               **tol)
    np.testing.assert_allclose(csr_product(S, W), observed @ W, **tol)
    out = np.ones((X.shape[0], 4), dtype=dtype)
    np.testing.assert_allclose(csr_product(S, W, out=out), 1 + observed @ W, **tol)
    product, missing_sum = csr_transposed_product(S, R)
    assert product.dtype == np.float64
    np.testing.assert_allclose(product, observed.T.astype(np.float64) @ R, **tol)
    np.testing.assert_allclose(missing_sum, missing.T.astype(np.float64) @ R, **tol)
    assert csr_transposed_product(sp.csr_matrix(observed), R)[1] is None


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transposed_product_of_hard_responsibilities_matches_numpy(seed, dtype):
    """X.T R with hard (one-hot), two-component and empty rows of R among dense
    ones, as the starts of EM give it."""
    X = _binary(seed, n=90, d=13, nan=0.1, dtype=dtype)
    X[1, :3] = [0.25, 2.0, np.nan]
    S = sp.csr_matrix(np.where(np.isnan(X), np.nan, X))
    S.eliminate_zeros()
    rng = np.random.RandomState(seed)
    K = 8
    R = rng.uniform(size=(X.shape[0], K)).astype(dtype)
    R[::3] = np.eye(K, dtype=dtype)[rng.randint(K, size=R[::3].shape[0])]  # one-hot
    R[1::3, 2:] = 0  # two non-zeros: 4 * 2 <= K
    R[5] = 0  # no component at all
    observed, missing = np.nan_to_num(X).astype(np.float64), np.isnan(X).astype(np.float64)
    product, missing_sum = csr_transposed_product(S, R)
    np.testing.assert_allclose(product, observed.T @ R.astype(np.float64), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(missing_sum, missing.T @ R.astype(np.float64), rtol=1e-12,
                               atol=1e-12)


def _pass_reference(X, W, W_missing, base, weights, drop_below):
    """linear_csr_pass in NumPy: responsibilities of log p(x, k), and their
    weighted sums with the w_i r_ik <= drop_below left out of the counts."""
    observed, missing = np.nan_to_num(X), np.isnan(X).astype(np.float64)
    log_joint = base + observed @ W - missing @ W_missing
    log_norm = np.logaddexp.reduce(log_joint, axis=1)
    R = np.exp(log_joint - log_norm[:, None]) * weights[:, None]
    kept = np.where(R > drop_below, R, 0.0)
    return (weights @ log_norm, weights.sum(), R.sum(axis=0), observed.T @ kept,
            missing.T @ kept)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("nan", [0.0, 0.1])
def test_linear_csr_pass_matches_numpy_and_leaves_out_at_most_drop_below(seed, nan):
    """The fused pass against NumPy, with and without a drop threshold: the
    counts equal the reference's with the small w_i r_ik left out, which is at
    most n_samples * drop_below away from the full sums; nk is never cut."""
    from skgen.mixture._passes import linear_csr_pass

    X = _binary(seed, n=120, d=15, density=0.3, nan=nan)
    X[0] = 0
    S = sp.csr_matrix(np.where(np.isnan(X), np.nan, X))
    S.eliminate_zeros()
    rng = np.random.RandomState(seed)
    K = 12
    # Peaked: a few components take each row, the rest get ~1e-10 to 1e-30.
    W = rng.normal(scale=6.0, size=(X.shape[1], K))
    W_missing = rng.normal(size=(X.shape[1], K))
    base = rng.normal(size=K)
    weights = rng.uniform(0.5, 2.0, size=X.shape[0])
    for drop_below in (0.0, 1e-12):
        expected = _pass_reference(X, W, W_missing, base, weights, drop_below)
        ll, total, nk, counts, missing = linear_csr_pass(S, W, W_missing, base, weights,
                                                         drop_below=drop_below)
        np.testing.assert_allclose(ll, expected[0], rtol=1e-12)
        np.testing.assert_allclose(total, expected[1], rtol=1e-12)
        np.testing.assert_allclose(nk, expected[2], rtol=1e-12)
        np.testing.assert_allclose(counts, expected[3], rtol=1e-12, atol=1e-300)
        if nan:
            np.testing.assert_allclose(missing, expected[4], rtol=1e-12, atol=1e-300)
        else:
            assert missing is None
        full = _pass_reference(X, W, W_missing, base, weights, 0.0)
        # (plus rounding: the kernel and NumPy add in other orders)
        assert np.all(np.abs(counts - full[3])
                      <= X.shape[0] * drop_below + 1e-12 * np.abs(full[3]))
    # The threshold did leave some out (the test would pass vacuously otherwise).
    assert not np.allclose(counts, full[3], rtol=0, atol=1e-30)


@pytest.mark.parametrize("seed", range(3))
def test_linear_csr_pass_of_ones_only_rows_reads_only_their_indices(seed):
    """ones_only: the pass gives what it gives reading the values (bit for
    bit), and does not read them (values of NaN change nothing)."""
    from skgen.mixture._passes import linear_csr_pass

    S = sp.csr_matrix(_binary(seed, n=150, d=14, density=0.3))
    rng = np.random.RandomState(seed)
    W = rng.normal(scale=4.0, size=(14, 6))
    W_missing = rng.normal(size=(14, 6))
    base = rng.normal(size=6)
    weights = rng.uniform(0.5, 2.0, size=150)
    read = linear_csr_pass(S, W, W_missing, base, weights, drop_below=1e-15)
    unread = S.copy()
    unread.data[:] = np.nan
    for X in (S, unread):
        skipped = linear_csr_pass(X, W, W_missing, base, weights, drop_below=1e-15,
                                  ones_only=True)
        for a, b in zip(read, skipped):
            np.testing.assert_array_equal(a, b)


def test_row_source_knows_ones_only_csr_rows():
    from skgen.utils._rows import ArrayRows

    X = _binary(0)
    assert ArrayRows(sp.csr_matrix(X)).ones_only
    assert not ArrayRows(X).ones_only  # dense
    X[2, 3] = np.nan
    assert not ArrayRows(sp.csr_matrix(X)).ones_only  # a stored NaN
    X[2, 3] = 0.5
    assert not ArrayRows(sp.csr_matrix(X)).ones_only
    assert not ArrayRows(sp.csc_matrix(_binary(0))).ones_only


@pytest.mark.parametrize("seed", range(5))
def test_label_sums_and_nearest_match_numpy(seed):
    X = _binary(seed, n=80)
    S = sp.csr_matrix(X)
    rng = np.random.RandomState(seed)
    centers = rng.uniform(size=(5, X.shape[1]))
    distances = ((X[:, None, :] - centers[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(csr_nearest(S, centers), distances.argmin(axis=1))
    labels = rng.randint(5, size=X.shape[0])
    weights = rng.uniform(size=X.shape[0])
    sums, totals = csr_label_sums(S, labels, 5, weights)
    onehot = np.eye(5)[labels] * weights[:, None]
    np.testing.assert_allclose(sums, onehot.T @ X, rtol=1e-12)
    np.testing.assert_allclose(totals, onehot.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(csr_label_sums(S, labels, 5)[1], np.bincount(labels, minlength=5))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("nan", [0.0, 0.2])
def test_bernoulli_mixture_fits_the_same_held_dense_or_as_csr(seed, nan, monkeypatch):
    """Dense rows converted to CSR (the default below 35% ones) give the fit
    the BLAS products give on the same rows kept dense."""
    X = _binary(seed, n=400, d=12, density=0.2, nan=nan)
    kw = dict(n_components=3, binarize=None, max_iter=30, random_state=seed)
    monkeypatch.setattr(_csr, "DENSE_THRESHOLD_DENSITY", 1.0)
    as_csr = BernoulliMixture(**kw).fit(X)
    monkeypatch.setattr(_csr, "DENSE_THRESHOLD_DENSITY", 0.0)
    dense = BernoulliMixture(**kw).fit(X)
    assert as_csr.n_iter_ == dense.n_iter_
    np.testing.assert_allclose(as_csr.means_, dense.means_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(as_csr.lower_bound_, dense.lower_bound_, rtol=1e-12)
    np.testing.assert_allclose(as_csr.score_samples(X), dense.score_samples(X), rtol=1e-10)


def test_an_all_missing_row_is_refused_dense_or_sparse():
    X = _binary(0, nan=0.1)
    X[7] = np.nan
    for data in (X, sp.csr_matrix(X)):
        with pytest.raises(ValueError, match="no observed entry.*row 7"):
            BernoulliMixture(2, binarize=None).fit(data)
