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
    nk, means, cov = _estimate_gaussian_parameters(X, resp, 1e-6, covariance_type)
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
