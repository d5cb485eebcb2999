"""PCA against scikit-learn and against naive references; bad input."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA as SkPCA

from skgen import PCA


def _data(n, d, seed=0):
    rng = np.random.RandomState(seed)
    # Distinct variances, so the principal axes are well separated; a far mean.
    scales = np.linspace(3.0, 0.3, d)
    return rng.randn(n, d) * scales @ np.linalg.qr(rng.randn(d, d))[0] + 5.0


def _assert_same_fit(ours, ref, X, rtol_score=1e-10):
    assert ours.n_components_ == ref.n_components_
    # Same deterministic sign convention, so no sign alignment is needed.
    np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-10)
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_,
                               rtol=1e-10)
    np.testing.assert_allclose(ours.explained_variance_ratio_,
                               ref.explained_variance_ratio_, rtol=1e-10)
    np.testing.assert_allclose(ours.singular_values_, ref.singular_values_, rtol=1e-10)
    np.testing.assert_allclose(ours.noise_variance_, ref.noise_variance_, rtol=1e-9)
    np.testing.assert_allclose(ours.score_samples(X), ref.score_samples(X),
                               rtol=rtol_score)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), atol=1e-9)


@pytest.mark.parametrize("solver", ["full", "covariance_eigh", "randomized", "arpack"])
@pytest.mark.parametrize("n_components", [1, 4, 7])
def test_matches_sklearn_tall(solver, n_components):
    X = _data(300, 12)
    kw = dict(n_components=n_components, svd_solver=solver, random_state=0)
    _assert_same_fit(PCA(**kw).fit(X), SkPCA(**kw).fit(X), X)


@pytest.mark.parametrize("solver", ["full", "randomized", "arpack"])
def test_matches_sklearn_wide(solver):
    X = _data(40, 90)
    kw = dict(n_components=6, svd_solver=solver, random_state=0)
    _assert_same_fit(PCA(**kw).fit(X), SkPCA(**kw).fit(X), X)


def test_wide_covariance_eigh_matches_exact_svd():
    # Our covariance_eigh uses the n x n Gram on wide data; scikit-learn's forms the
    # d x d covariance and divides the noise variance by d - k instead of
    # min(n, d) - k, so the exact reference here is its 'full' solver.
    X = _data(40, 90)
    ours = PCA(6, svd_solver="covariance_eigh").fit(X)
    _assert_same_fit(ours, SkPCA(6, svd_solver="full").fit(X), X, rtol_score=1e-9)


@pytest.mark.parametrize("n_components", [0.5, 0.9, "mle", None])
@pytest.mark.parametrize("solver", ["full", "covariance_eigh"])
def test_fraction_and_mle_choose_like_sklearn(n_components, solver):
    X = load_digits().data[:500]
    X = X[:, X.std(axis=0) > 0]
    ours = PCA(n_components, svd_solver=solver).fit(X)
    ref = SkPCA(n_components, svd_solver=solver).fit(X)
    assert ours.n_components_ == ref.n_components_
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_,
                               rtol=1e-8)


def test_auto_solver_matches_full_on_digits():
    X = load_digits().data
    ours = PCA(20).fit(X)
    _assert_same_fit(ours, SkPCA(20, svd_solver="full").fit(X), X, rtol_score=1e-9)


def test_score_samples_matches_scipy_density():
    X = _data(200, 6)
    pca = PCA(3).fit(X)
    ref = multivariate_normal(pca.mean_, pca.get_covariance()).logpdf(X)
    np.testing.assert_allclose(pca.score_samples(X), ref, rtol=1e-10)
    assert pca.score(X) == pytest.approx(ref.mean(), rel=1e-10)


def test_precision_is_inverse_covariance():
    pca = PCA(4).fit(_data(200, 9))
    np.testing.assert_allclose(pca.get_precision() @ pca.get_covariance(), np.eye(9),
                               atol=1e-10)


def test_samples_have_model_covariance():
    pca = PCA(3).fit(_data(400, 6))
    n = 200_000
    Xs = pca.sample(n, random_state=0)
    assert Xs.shape == (n, 6)
    cov = pca.get_covariance()
    # Standard error of a sample covariance entry: sqrt((s_ii s_jj + s_ij^2) / n);
    # 6 standard errors keeps the false-failure rate negligible over 36 entries.
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / n)
    assert np.all(np.abs(np.cov(Xs, rowvar=False) - cov) < 6 * se)
    np.testing.assert_allclose(Xs.mean(axis=0), pca.mean_,
                               atol=6 * np.sqrt(np.diag(cov).max() / n))


def test_sample_is_reproducible():
    pca = PCA(2).fit(_data(50, 4))
    np.testing.assert_array_equal(pca.sample(5, random_state=3),
                                  pca.sample(5, random_state=3))


@pytest.mark.parametrize("solver", ["arpack", "randomized"])
def test_sparse_input_is_centred_implicitly(solver):
    rng = np.random.RandomState(0)
    X = sp.random(200, 30, density=0.2, random_state=rng, format="csr") * 10
    kw = dict(n_components=5, svd_solver=solver, random_state=0)
    ours = PCA(**kw).fit(X)
    dense = PCA(**kw).fit(X.toarray())
    np.testing.assert_allclose(ours.components_, dense.components_, atol=1e-8)
    np.testing.assert_allclose(ours.transform(X), dense.transform(X.toarray()),
                               atol=1e-8)
    if solver == "arpack":  # scikit-learn has no sparse randomized PCA
        ref = SkPCA(**kw).fit(X)
        np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-8)


def test_sparse_input_rejected_by_dense_solvers():
    X = sp.random(50, 10, density=0.3, format="csr", random_state=0)
    with pytest.raises(TypeError, match="does not support sparse input"):
        PCA(3, svd_solver="full").fit(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("solver", ["full", "covariance_eigh", "randomized", "arpack"])
def test_dtype_and_order(dtype, order, solver):
    X = np.asarray(_data(120, 8), dtype=dtype, order=order)
    pca = PCA(3, svd_solver=solver, random_state=0).fit(X)
    for value in (pca.components_, pca.transform(X), pca.inverse_transform(
            pca.transform(X)), pca.sample(4, random_state=0)):
        assert value.dtype == dtype
    ref = PCA(3, svd_solver="full").fit(X.astype(np.float64))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(np.abs(pca.components_), np.abs(ref.components_),
                               atol=tol)
    assert np.all(np.isfinite(pca.score_samples(X)))


def test_whiten_gives_unit_variance_and_same_density():
    X = _data(300, 6)
    white = PCA(3, whiten=True).fit(X)
    plain = PCA(3).fit(X)
    np.testing.assert_allclose(white.transform(X).var(axis=0, ddof=1), 1.0, rtol=1e-10)
    np.testing.assert_allclose(white.inverse_transform(white.transform(X)),
                               plain.inverse_transform(plain.transform(X)), atol=1e-10)
    np.testing.assert_allclose(white.score_samples(X), plain.score_samples(X),
                               rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(3, 30), d=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_full_rank_round_trip_and_orthonormality(n, d, seed):
    X = np.random.RandomState(seed).randn(n, d)
    pca = PCA(svd_solver="full").fit(X)
    k = pca.n_components_
    assert k == min(n, d)
    np.testing.assert_allclose(pca.components_ @ pca.components_.T, np.eye(k),
                               atol=1e-10)
    if k == d:
        np.testing.assert_allclose(pca.inverse_transform(pca.transform(X)), X,
                                   atol=1e-9)
    assert np.all(np.diff(pca.explained_variance_) <= 1e-12)
    assert np.all(np.isfinite(pca.score_samples(X)))


# ---------------------------------------------------------------- bad input
def test_constant_feature_gives_finite_density():
    X = _data(100, 5)
    X[:, 2] = 7.0
    for k in (None, 2):
        pca = PCA(k).fit(X)
        assert np.all(np.isfinite(pca.score_samples(X)))
        assert np.all(np.isfinite(pca.get_precision()))
        assert np.all(np.isfinite(pca.sample(3, random_state=0)))


@pytest.mark.parametrize("solver", ["full", "covariance_eigh", "randomized"])
def test_too_many_components(solver):
    with pytest.raises(ValueError, match="n_components=11"):
        PCA(11, svd_solver=solver).fit(_data(20, 10))


def test_arpack_needs_fewer_than_min_dimension():
    with pytest.raises(ValueError, match="strictly between"):
        PCA(10, svd_solver="arpack").fit(_data(20, 10))


def test_fraction_needs_exact_solver():
    with pytest.raises(ValueError, match="must be an integer"):
        PCA(0.5, svd_solver="randomized").fit(_data(20, 10))


def test_mle_needs_more_samples_than_features():
    with pytest.raises(ValueError, match="n_samples >= n_features"):
        PCA("mle").fit(_data(5, 10))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input(bad):
    X = _data(20, 4)
    X[3, 1] = bad
    pca = PCA(2).fit(_data(20, 4))
    if np.isnan(bad):
        # A missing entry (tests/decomposition/test_pca_missing.py).
        assert np.all(np.isfinite(PCA(2).fit(X).components_))
        assert np.all(np.isfinite(pca.score_samples(X)))
        return
    with pytest.raises(ValueError, match="infinity"):
        PCA(2).fit(X)
    with pytest.raises(ValueError, match="infinity"):
        pca.score_samples(X)
    with pytest.raises(ValueError, match="infinity"):
        pca.transform(X)


def test_wrong_width_and_bad_sample_count():
    pca = PCA(2).fit(_data(20, 4))
    with pytest.raises(ValueError, match="features"):
        pca.transform(np.ones((3, 5)))
    with pytest.raises(ValueError, match="n_components_=2"):
        pca.inverse_transform(np.ones((3, 3)))
    with pytest.raises(ValueError, match="n_samples"):
        pca.sample(0)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 40), d=st.integers(1, 30), offset=st.floats(-1e3, 1e3),
       seed=st.integers(0, 2**16))
def test_centered_sq_norms_kernel_matches_numpy(n, d, offset, seed):
    from skgen.decomposition._pca_numerics import _centered_sq_norms

    rng = np.random.RandomState(seed)
    X = rng.randn(n, d) + offset
    mean = X.mean(axis=0) if n else np.zeros(d)
    np.testing.assert_allclose(_centered_sq_norms(X, mean),
                               ((X - mean) ** 2).sum(axis=1), rtol=1e-12, atol=1e-12)
    X32, m32 = X.astype(np.float32), mean.astype(np.float32)
    np.testing.assert_allclose(_centered_sq_norms(X32, m32),
                               ((X32.astype(np.float64) - m32) ** 2).sum(axis=1),
                               rtol=1e-6, atol=1e-6)


# ------------------------------------------------ drop-in details (issue 18)
@pytest.mark.parametrize("normalizer", ["auto", "QR", "LU", "none"])
@pytest.mark.parametrize("iterated_power", [1, 5])
def test_power_iteration_normalizer_matches_sklearn(normalizer, iterated_power):
    from sklearn.decomposition import PCA as SkPCA

    X = np.random.RandomState(0).randn(300, 40) @ np.random.RandomState(1).randn(40, 40)
    kw = dict(n_components=5, svd_solver="randomized", iterated_power=iterated_power,
              power_iteration_normalizer=normalizer, random_state=0)
    ours, ref = PCA(**kw).fit(X), SkPCA(**kw).fit(X)
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_,
                               rtol=1e-10)
    np.testing.assert_allclose(np.abs(ours.components_), np.abs(ref.components_),
                               atol=1e-8)


@pytest.mark.parametrize("solver", ["full", "randomized", "covariance_eigh"])
def test_copy_false_centres_in_place_and_restores(solver):
    X = np.random.RandomState(0).randn(50, 6) + 100.0
    original = X.copy()
    ref = PCA(3, svd_solver=solver, random_state=0).fit(original.copy())
    ours = PCA(3, svd_solver=solver, copy=False, random_state=0).fit(X)
    np.testing.assert_allclose(X, original, rtol=1e-14)
    np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-12)


def test_n_components_types_follow_sklearn():
    from sklearn.decomposition import PCA as SkPCA

    X = np.random.RandomState(0).randn(80, 6)
    for k in (3, 0.8, "mle"):
        ours, ref = PCA(k).fit(X).n_components_, SkPCA(k).fit(X).n_components_
        assert ours == ref and type(ours) is type(ref), k
        assert "%d components" % ours  # the gallery's formatting


def test_mle_on_one_feature_keeps_no_component():
    from sklearn.decomposition import PCA as SkPCA

    X = np.random.RandomState(0).randn(30, 1)
    ours = PCA("mle").fit(X)
    assert ours.n_components_ == SkPCA("mle").fit(X).n_components_ == 0
    assert ours.transform(X).shape == (30, 0)
    assert np.isfinite(ours.score(X))


@pytest.mark.parametrize("solver", ["auto", "full", "randomized", "arpack"])
def test_non_finite_named_without_numpy_warning(solver):
    X = np.random.RandomState(0).randn(30, 4)
    X[3, 2] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="infinity"):
            PCA(2, svd_solver=solver, random_state=0).fit(X)
    X[3, 2] = np.nan  # a missing entry: fitted, also without a NumPy warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PCA(2, svd_solver=solver, random_state=0).fit(X)
