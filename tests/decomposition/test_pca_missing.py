"""PCA with missing values: probabilistic PCA by EM on the observed entries."""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from skgen import PCA, GenerativeImputer
from skgen.utils._rows import row_source
from skgen.decomposition._pca_missing import fit_ppca_missing


def _data(seed, n=600, d=7, fraction=0.2, offset=3.0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d) @ rng.randn(d, d) + offset
    truth = X.copy()
    X[rng.uniform(size=X.shape) < fraction] = np.nan
    empty = np.isnan(X).all(axis=1)
    X[empty, 0] = truth[empty, 0]
    return X, truth


@pytest.mark.parametrize("seed", range(4))
def test_score_samples_is_the_marginal_of_the_observed_entries(seed):
    X, _ = _data(seed)
    pca = PCA(3).fit(X)
    C = pca.get_covariance()
    expected = []
    for x in X[:40]:
        o = ~np.isnan(x)
        expected.append(multivariate_normal(pca.mean_[o], C[np.ix_(o, o)]).logpdf(x[o]))
    np.testing.assert_allclose(pca.score_samples(X[:40]), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_em_never_decreases_the_observed_likelihood(seed):
    X, _ = _data(seed, fraction=0.35)
    pca = PCA(2).fit(X)
    history = pca.log_likelihoods_
    assert pca.n_iter_ == len(history) > 1
    assert np.all(np.diff(history) >= -1e-9)
    assert pca.score(X) == pytest.approx(history[-1], abs=1e-6)


def test_em_on_complete_data_reaches_the_closed_form_ppca():
    # Tipping & Bishop (1999) eq. 7-8: the ML W spans the top-k eigenvectors of
    # the sample covariance (divisor n), sigma^2 the mean of the other eigenvalues.
    X, truth = _data(0, fraction=0.0)
    rows = row_source(None, X, reset=False, check=lambda A: A)
    eigenvalues, components, sigma2, mean, _, _ = fit_ppca_missing(rows, 3, tol=1e-12)
    lam, vec = np.linalg.eigh(np.cov(X.T, bias=True))
    lam, vec = lam[::-1], vec[:, ::-1]
    np.testing.assert_allclose(sigma2, lam[3:].mean(), rtol=1e-5)
    np.testing.assert_allclose(eigenvalues, lam[:3], rtol=1e-5)
    np.testing.assert_allclose(np.abs(np.sum(components * vec[:, :3].T, axis=1)), 1, atol=1e-5)
    np.testing.assert_allclose(mean, X.mean(axis=0), atol=1e-8)


def test_few_missing_entries_give_nearly_the_complete_axes():
    X, truth = _data(1, n=3000, fraction=0.02)
    full = PCA(3).fit(truth)
    missing = PCA(3).fit(X)
    cosines = np.abs(np.sum(full.components_ * missing.components_, axis=1))
    assert np.all(cosines > 0.999)


def test_no_missing_value_never_enters_the_em(monkeypatch):
    import skgen.decomposition._pca as module

    def refuse(*args, **kwargs):
        raise AssertionError("EM on complete data")

    monkeypatch.setattr(module, "fit_missing", refuse)
    _, truth = _data(2)
    pca = PCA(3).fit(truth)
    assert not hasattr(pca, "n_iter_")
    np.testing.assert_allclose(pca.transform(truth[:5]),
                               (truth[:5] - pca.mean_) @ pca.components_.T, atol=1e-10)


def test_transform_of_incomplete_rows_projects_the_conditional_mean():
    X, _ = _data(3)
    pca = PCA(3).fit(X)
    C, mu = pca.get_covariance(), pca.mean_
    Z = pca.transform(X)
    assert not np.isnan(Z).any()
    for i in np.flatnonzero(np.isnan(X).any(axis=1))[:20]:
        o, m = ~np.isnan(X[i]), np.isnan(X[i])
        x = X[i].copy()
        x[m] = mu[m] + C[np.ix_(m, o)] @ np.linalg.solve(C[np.ix_(o, o)], X[i, o] - mu[o])
        np.testing.assert_allclose(Z[i], (x - mu) @ pca.components_.T, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(PCA(3).fit_transform(X), Z)
    # A model fitted on complete data places incomplete rows the same way.
    complete = PCA(3).fit(np.nan_to_num(X))
    assert not np.isnan(complete.transform(X)).any()


def test_imputer_with_pca_beats_the_column_mean():
    # A rank-4 factor model plus noise: what PPCA assumes.
    rng = np.random.RandomState(4)
    truth = rng.randn(2000, 4) @ rng.randn(4, 10) + 0.3 * rng.randn(2000, 10) + 5
    X = truth.copy()
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 5
    missing = np.isnan(X)
    filled = GenerativeImputer(PCA(4)).fit_transform(X)
    mean = np.where(missing, np.nanmean(X, axis=0), X)
    rmse = lambda Z: np.sqrt(np.mean((Z[missing] - truth[missing]) ** 2))  # noqa: E731
    assert rmse(filled) < 0.5 * rmse(mean)
    draws = GenerativeImputer(PCA(4), sample_posterior=True, random_state=0).fit_transform(X)
    np.testing.assert_array_equal(draws[~missing], X[~missing])
    assert not np.isnan(draws).any()


def test_missing_value_refusals():
    X, _ = _data(5)
    with pytest.raises(ValueError, match="n_components an integer"):
        PCA(0.9).fit(X)
    with pytest.raises(ValueError, match="n_components an integer"):
        PCA(X.shape[1]).fit(X)
    bad = X.copy()
    bad[4] = np.nan
    with pytest.raises(ValueError, match="no observed entry"):
        PCA(2).fit(bad)
    bad = X.copy()
    bad[4, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        PCA(2).fit(bad)
    default = PCA().fit(X)
    assert default.n_components_ == X.shape[1] - 1


def test_float32_stays_float32():
    X, _ = _data(6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        pca = PCA(3).fit(X.astype(np.float32))
    assert pca.components_.dtype == np.float32
    assert pca.transform(X.astype(np.float32)).dtype == np.float32
