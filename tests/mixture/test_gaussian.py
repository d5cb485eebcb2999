"""GaussianMixtureEM against scikit-learn's GaussianMixture from the same start."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from skgen import GaussianMixtureEM
from skgen.mixture._gaussian import (
    _compute_precision_cholesky,
    _estimate_gaussian_parameters,
    _gaussian_statistics,
    _estimate_log_gaussian_prob,
)

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def _blobs():
    X, _ = make_blobs(600, 4, centers=3, cluster_std=[1.0, 2.0, 0.5], random_state=0)
    return X


def _digits():
    return load_digits().data[:800] / 16.0


def _start(X, K, covariance_type, reg_covar):
    """Initial parameters from scikit-learn (k-means, zero EM iterations)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        init = GaussianMixture(
            K, covariance_type=covariance_type, reg_covar=reg_covar, max_iter=0,
            random_state=0,
        ).fit(X)
    return dict(
        weights_init=init.weights_ / init.weights_.sum(),
        means_init=init.means_,
        precisions_init=init.precisions_,
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("data,K,reg_covar", [(_blobs, 3, 1e-6), (_digits, 5, 1e-2)])
def test_matches_sklearn_from_same_start(covariance_type, data, K, reg_covar):
    X = data()
    kw = dict(covariance_type=covariance_type, reg_covar=reg_covar, tol=0, max_iter=15,
              **_start(X, K, covariance_type, reg_covar))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GaussianMixtureEM(K, **kw).fit(X)
        ref = GaussianMixture(K, **kw).fit(X)
    assert ours.n_iter_ == ref.n_iter_ == 15
    np.testing.assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-10)
    np.testing.assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-10)
    for attr in ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]:
        np.testing.assert_allclose(
            getattr(ours, attr), getattr(ref, attr), rtol=1e-8, atol=1e-8, err_msg=attr
        )
    np.testing.assert_allclose(ours.score_samples(X), ref.score_samples(X), rtol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-8)
    assert ours.bic(X) == pytest.approx(ref.bic(X), rel=1e-10)
    assert ours.aic(X) == pytest.approx(ref.aic(X), rel=1e-10)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_same_initialisation_as_sklearn(init_params):
    X = _blobs()
    kw = dict(init_params=init_params, random_state=3, max_iter=30, n_init=2)
    ours = GaussianMixtureEM(3, **kw).fit(X)
    ref = GaussianMixture(3, **kw).fit(X)
    np.testing.assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-10)
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_blocked_kernels_match_naive_reference(covariance_type):
    rng = np.random.RandomState(0)
    X = rng.randn(300, 3) * [1, 3, 0.5] + 5
    resp = rng.dirichlet(np.ones(4), size=300)
    nk, means, cov = _estimate_gaussian_parameters(
        _gaussian_statistics(X, resp, covariance_type), 1e-6, covariance_type, X.dtype
    )
    naive_nk = resp.sum(0)
    naive_means = resp.T @ X / naive_nk[:, None]
    full = np.array([
        (resp[:, k, None] * (X - naive_means[k])).T @ (X - naive_means[k]) / naive_nk[k]
        for k in range(4)
    ])
    expected = {
        "full": full + 1e-6 * np.eye(3),
        "tied": np.einsum("k,kij->ij", naive_nk, full) / 300 + 1e-6 * np.eye(3),
        "diag": np.diagonal(full, axis1=1, axis2=2) + 1e-6,
        "spherical": np.diagonal(full, axis1=1, axis2=2).mean(1) + 1e-6,
    }[covariance_type]
    np.testing.assert_allclose(means, naive_means, rtol=1e-12)
    np.testing.assert_allclose(cov, expected, rtol=1e-10, atol=1e-12)
    # log N(x | mu_k, Sigma_k) against scipy's density.
    from scipy.stats import multivariate_normal

    prec_chol = _compute_precision_cholesky(cov, covariance_type)
    log_prob = _estimate_log_gaussian_prob(X, means, prec_chol, covariance_type)
    for k in range(4):
        sigma = {"full": cov[k] if cov.ndim == 3 else None}.get(covariance_type)
        if covariance_type == "tied":
            sigma = cov
        elif covariance_type == "diag":
            sigma = np.diag(cov[k])
        elif covariance_type == "spherical":
            sigma = cov[k] * np.eye(3)
        ref = multivariate_normal(means[k], sigma).logpdf(X)
        np.testing.assert_allclose(log_prob[:, k], ref, rtol=1e-10)


def test_float32_stays_float32_and_close_to_float64():
    X = _blobs()
    gm64 = GaussianMixtureEM(3, random_state=0).fit(X)
    gm32 = GaussianMixtureEM(3, random_state=0).fit(X.astype(np.float32))
    for attr in ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]:
        assert getattr(gm32, attr).dtype == np.float32, attr
    X32 = X.astype(np.float32)
    for out in [gm32.predict_proba(X32), gm32.score_samples(X32), gm32.transform(X32),
                gm32.sample(10)[0]]:
        assert out.dtype == np.float32
    np.testing.assert_allclose(gm32.lower_bound_, gm64.lower_bound_, rtol=1e-5)


def test_empty_component_stays_finite():
    # Two far blobs, three components, one started far from every point: its
    # responsibilities underflow to zero and reg_covar keeps it well defined.
    X = np.vstack([np.zeros((50, 2)), np.ones((50, 2)) * 10]) + np.random.RandomState(0).randn(100, 2) * 0.1
    means_init = np.array([[0.0, 0.0], [10.0, 10.0], [1e3, -1e3]])
    gm = GaussianMixtureEM(3, means_init=means_init, reg_covar=1e-3, max_iter=10).fit(X)
    for attr in ["weights_", "means_", "covariances_", "precisions_"]:
        assert np.all(np.isfinite(getattr(gm, attr))), attr
    assert np.all(np.isfinite(gm.score_samples(X)))


def test_singular_covariance_raises_clear_error():
    X = np.zeros((20, 2))
    X[10:] = 1.0
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixtureEM(2, reg_covar=0.0, random_state=0).fit(X)


@pytest.mark.parametrize(
    "params,match",
    [
        (dict(weights_init=[0.5, 0.6]), "sum to 1"),
        (dict(weights_init=[0.5, 0.3, 0.2]), "weights_init"),
        (dict(means_init=np.zeros((3, 2))), "means_init"),
        (dict(means_init=[[np.nan, 0], [0, 0]]), "NaN"),
        (dict(precisions_init=-np.ones((2, 2, 2))), "positive-definite"),
        (dict(covariance_type="diag", precisions_init=-np.ones((2, 2))), "precisions_init"),
        (dict(covariance_type="banana"), "covariance_type"),
        (dict(reg_covar=-1.0), "reg_covar"),
    ],
)
def test_invalid_initial_parameters(params, match):
    X = _blobs()[:, :2]
    with pytest.raises(ValueError, match=match):
        GaussianMixtureEM(2, **params).fit(X)


def test_sparse_input_rejected():
    import scipy.sparse as sp

    with pytest.raises(TypeError, match="[Ss]parse"):
        GaussianMixtureEM(2).fit(sp.random(20, 3, density=0.5, format="csr"))


INITS = ["kmeans", "k-means++", "random", "random_from_data"]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", INITS)
def test_float32_single_point_starts_fit_for_many_seeds(covariance_type, init_params):
    """Regression: k-means++ / random_from_data start on single points; the M-step
    scatter about the data mean cancelled to a negative variance in float32 and
    raised "ill-defined empirical covariance" for most seeds."""
    for seed in range(12):
        rng = np.random.RandomState(seed)
        X = np.vstack([rng.randn(100, 2) + 5, rng.randn(100, 2) - 5]).astype(np.float32)
        gm = GaussianMixtureEM(2, covariance_type=covariance_type, init_params=init_params,
                               random_state=seed).fit(X)
        assert gm.means_.dtype == np.float32
        assert np.all(np.isfinite(gm.covariances_))
        if init_params != "random":  # uniform random responsibilities may settle on one blob
            np.testing.assert_allclose(np.sort(gm.means_[:, 0]), [-5, 5], atol=0.5)


def test_sklearn_18216_divergent_start_with_reg_covar_zero():
    """scikit-learn's non-regression test for its issue #18216: a diverging start
    with reg_covar=0 and max_iter=1 fits, does not converge, and sets every
    fitted attribute."""
    rnd = np.random.RandomState(0)
    X = rnd.uniform(size=(30, 3))
    means_init = np.array([
        [0.670637869618158, 0.21038256107384043, 0.12892629765485303],
        [0.09394051075844147, 0.5759464955561779, 0.929296197576212],
        [0.5033230372781258, 0.9569852381759425, 0.08654043447295741],
        [0.18578301420435747, 0.5531158970919143, 0.19388943970532435],
        [0.4548589928173794, 0.35182513658825276, 0.568146063202464],
        [0.609279894978321, 0.7929063819678847, 0.9620097270828052],
    ])
    precisions_init = np.array([999999.999604483, 999999.9990869573, 553.7603944542167,
                                204.78596008931834, 15.867423501783637, 85.4595728389735])
    weights_init = [0.03333333333333341, 0.03333333333333341, 0.06666666666666674,
                    0.06666666666666674, 0.7000000000000001, 0.10000000000000007]
    gm = GaussianMixtureEM(6, covariance_type="spherical", reg_covar=0, means_init=means_init,
                           weights_init=weights_init, precisions_init=precisions_init,
                           random_state=rnd, max_iter=1)
    with pytest.warns(ConvergenceWarning):
        gm.fit(X)
    assert not gm.converged_
    for attr in ["weights_", "means_", "covariances_", "precisions_cholesky_", "n_iter_",
                 "lower_bound_", "lower_bounds_"]:
        assert hasattr(gm, attr), attr
    assert np.isfinite(gm.lower_bound_)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", INITS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_float32_shifted_by_1e4_equals_float64_unshifted(covariance_type, init_params, seed):
    """Translation: a float32 fit of X + 1e4 equals the float64 fit of X (the same,
    exactly representable rows) to float32 precision, for every covariance type
    and start. float32 keeps ~3 digits below 1e4 (spacing 9.8e-4), so: lower bound
    and score within 5e-5 nats; means within 5e-2, weights 5e-3 and covariances within 5e-2
    (EM's likelihood is flat along some directions near convergence, where
    1e-6 nats move the parameters by 1e-3 to 1e-2). The 'random' start sits near a
    saddle where float32 may stop a few iterations apart (1e-6 nats, parameters
    0.3 apart): its parameters are not compared."""
    X, _ = make_blobs(300, 3, centers=3, cluster_std=[1.0, 0.5, 1.5], random_state=seed)
    X32 = (X + 1e4).astype(np.float32)
    X64 = X32.astype(np.float64) - 1e4  # the same rows, unshifted, exact
    kw = dict(covariance_type=covariance_type, init_params=init_params, random_state=seed,
              tol=1e-7, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = GaussianMixtureEM(3, **kw).fit(X64)
        got = GaussianMixtureEM(3, **kw).fit(X32)
    assert got.means_.dtype == np.float32
    np.testing.assert_allclose(got.lower_bound_, ref.lower_bound_, atol=5e-5)
    np.testing.assert_allclose(got.score(X32), ref.score(X64), atol=5e-5)
    if init_params == "random":
        return
    order_ref, order_got = np.argsort(ref.means_[:, 0]), np.argsort(got.means_[:, 0])
    np.testing.assert_allclose(got.means_[order_got] - 1e4, ref.means_[order_ref], atol=5e-2)
    cov_ref = ref.covariances_ if covariance_type == "tied" else ref.covariances_[order_ref]
    cov_got = got.covariances_ if covariance_type == "tied" else got.covariances_[order_got]
    np.testing.assert_allclose(cov_got, cov_ref, atol=5e-2)
    np.testing.assert_allclose(got.weights_[order_got], ref.weights_[order_ref], atol=5e-3)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_diagonal_pass_in_blocks_equals_one_block(covariance_type, dtype, monkeypatch):
    """The diagonal pass's blocks (one fused kernel call each, moments about
    the current means) merge to the fit of one block of all rows."""
    from skgen.mixture import _gaussian

    X = (_digits() * 255).astype(dtype)  # raw pixels
    kw = dict(n_components=4, covariance_type=covariance_type, reg_covar=1e-2, tol=0,
              max_iter=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole = GaussianMixtureEM(**kw).fit(X)
        monkeypatch.setattr(_gaussian, "_PASS_BLOCK_BYTES", 64 * 64 * X.itemsize)
        blocks = GaussianMixtureEM(**kw).fit(X)
    rtol = 2e-4 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(blocks.lower_bounds_, whole.lower_bounds_, rtol=rtol)
    np.testing.assert_allclose(blocks.means_, whole.means_, rtol=rtol, atol=rtol * 255)
    np.testing.assert_allclose(blocks.covariances_, whole.covariances_, rtol=10 * rtol)


def _diagonal_pass_reference(X, means, precisions, log_const, weights):
    """The E-step and the diagonal moments of one pass, in plain float64 NumPy."""
    X = X.astype(np.float64)
    diff = X[:, np.newaxis, :] - means[np.newaxis]
    log_prob = log_const - 0.5 * np.einsum("ikj,kj->ik", diff**2, precisions)
    peak = log_prob.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(log_prob - peak).sum(axis=1)) + peak[:, 0]
    resp = np.exp(log_prob - log_norm[:, np.newaxis]) * weights[:, np.newaxis]
    nk = resp.sum(axis=0)
    new_means = resp.T @ X / nk[:, np.newaxis]
    scatter = np.einsum("ik,ikj->kj", resp, (X[:, np.newaxis, :] - new_means) ** 2)
    ll = float(np.sum(np.where(weights > 0, weights * log_norm, 0.0)))
    return ll, float(weights.sum()), nk, new_means, scatter


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_samples", [1, 3, 4, 61])
def test_diagonal_pass_matches_numpy(seed, dtype, n_samples):
    """The fused kernel (rows in tiles of four, a short last tile) gives the
    log-likelihood, weights, means and scatter of a NumPy reference, with
    sample weights (zeros among them), float32 and float64 rows."""
    from skgen.mixture._passes import diagonal_pass

    rng = np.random.RandomState(seed)
    K, d = 3, 7
    X = (rng.normal(size=(n_samples, d)) * 3 + 100).astype(dtype)  # offset data
    means = 100 + rng.normal(size=(K, d)) * 2
    precisions = rng.uniform(0.2, 2.0, size=(K, d))
    log_const = np.log(rng.dirichlet(np.ones(K))) + 0.5 * np.log(precisions).sum(axis=1)
    weights = rng.uniform(0, 2, size=n_samples)
    weights[rng.uniform(size=n_samples) < 0.2] = 0.0
    weights[0] = 1.0
    ll, total, moments = diagonal_pass(X, means, precisions, log_const, weights)
    ref_ll, ref_total, nk, mean, scatter = _diagonal_pass_reference(
        X, means, precisions, log_const, weights)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    assert moments.kind == "diag" and moments.mean.dtype == dtype
    np.testing.assert_allclose(ll, ref_ll, rtol=1e-10)
    np.testing.assert_allclose(total, ref_total, rtol=1e-12)
    np.testing.assert_allclose(moments.weight, nk, rtol=rtol)
    np.testing.assert_allclose(moments.mean, mean, rtol=rtol)
    np.testing.assert_allclose(moments.scatter, scatter, rtol=100 * rtol, atol=rtol)


def test_diagonal_pass_hands_rows_with_nan_back():
    """A NaN anywhere (a missing entry) makes the kernel give up: None moments,
    so that the mixture takes its missing-value pass."""
    from skgen.mixture._passes import diagonal_pass

    X = np.random.RandomState(0).normal(size=(9, 4))
    X[6, 2] = np.nan
    *_, moments = diagonal_pass(X, np.zeros((2, 4)), np.ones((2, 4)), np.zeros(2), None)
    assert moments is None
