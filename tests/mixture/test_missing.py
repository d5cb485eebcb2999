"""Missing values (NaN) in the mixtures: the exact marginal likelihood of the
observed entries, EM on the expected sufficient statistics."""

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from skgen import GaussianMixtureEM
from skgen.mixture._gaussian_missing import IncompleteRows, missing_patterns

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def _data(seed, n=400, d=5, fraction=0.2, dtype=np.float64):
    rng = np.random.RandomState(seed)
    centres = rng.randn(3, d) * 4
    X = centres[rng.randint(3, size=n)] + rng.randn(n, d) @ rng.randn(d, d) * 0.5
    X = X.astype(dtype)
    X[rng.uniform(size=X.shape) < fraction] = np.nan
    empty = np.isnan(X).all(axis=1)
    X[empty, 0] = 0.5  # every row observes something
    return X


def _covariance(model, k):
    C, d = model.covariances_, model.means_.shape[1]
    return {"full": lambda: C[k], "tied": lambda: C, "diag": lambda: np.diag(C[k]),
            "spherical": lambda: np.eye(d) * C[k]}[model.covariance_type]()


def _reference_log_likelihood(model, X):
    """log sum_k w_k N(x_o | mu_k,o, Sigma_k,oo) by scipy, row by row."""
    out = []
    for x in X.astype(np.float64):
        o = ~np.isnan(x)
        terms = [np.log(model.weights_[k]) + multivariate_normal(
            model.means_[k][o].astype(np.float64),
            _covariance(model, k)[np.ix_(o, o)].astype(np.float64)).logpdf(x[o])
            for k in range(model.n_components)]
        out.append(logsumexp(terms))
    return np.array(out)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("seed", range(4))
def test_score_samples_is_the_marginal_of_the_observed_entries(covariance_type, seed):
    X = _data(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GaussianMixtureEM(3, covariance_type=covariance_type, random_state=seed,
                                  max_iter=20).fit(X)
    np.testing.assert_allclose(model.score_samples(X), _reference_log_likelihood(model, X),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_marginal(covariance_type):
    X = _data(0, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GaussianMixtureEM(3, covariance_type=covariance_type, random_state=0,
                                  max_iter=20).fit(X)
    assert model.means_.dtype == np.float32
    scores = model.score_samples(X)
    assert scores.dtype == np.float32 and np.all(np.isfinite(scores))
    np.testing.assert_allclose(scores, _reference_log_likelihood(model, X), rtol=1e-4,
                               atol=1e-3)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("seed", range(3))
def test_em_with_missing_values_never_decreases_the_bound(covariance_type, seed):
    X = _data(seed, fraction=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GaussianMixtureEM(3, covariance_type=covariance_type, random_state=seed,
                                  max_iter=60, tol=0).fit(X)
    bounds = model.lower_bounds_
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))
    # The bound is the mean observed-data log-likelihood at the E-step's parameters.
    assert np.all(np.isfinite(bounds))


def _brute_force_em_step(X, weights, means, covariances):
    """One EM step for full covariances, every expectation written out row by
    row from the conditional Gaussian (no shared code with skgen)."""
    n, d = X.shape
    K = len(weights)
    log_r = np.empty((n, K))
    completed = np.empty((K, n, d))
    cond = np.zeros((K, n, d, d))
    for i, x in enumerate(X):
        o, m = ~np.isnan(x), np.isnan(x)
        for k in range(K):
            S = covariances[k]
            log_r[i, k] = np.log(weights[k]) + multivariate_normal(
                means[k][o], S[np.ix_(o, o)]).logpdf(x[o])
            gain = S[np.ix_(m, o)] @ np.linalg.inv(S[np.ix_(o, o)])
            completed[k, i] = x
            completed[k, i, m] = means[k][m] + gain @ (x[o] - means[k][o])
            cond[k, i][np.ix_(m, m)] = S[np.ix_(m, m)] - gain @ S[np.ix_(o, m)]
    log_norm = logsumexp(log_r, axis=1)
    r = np.exp(log_r - log_norm[:, None])
    nk = r.sum(axis=0)
    new_means = np.einsum("ik,kid->kd", r, completed) / nk[:, None]
    new_cov = np.empty((K, d, d))
    for k in range(K):
        diff = completed[k] - new_means[k]
        new_cov[k] = (np.einsum("i,id,ie->de", r[:, k], diff, diff)
                      + np.einsum("i,ide->de", r[:, k], cond[k])) / nk[k]
    return nk / n, new_means, new_cov, log_norm.mean()


@pytest.mark.parametrize("seed", range(3))
def test_one_em_step_equals_the_brute_force_expectations(seed):
    X = _data(seed, n=60, d=4, fraction=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = GaussianMixtureEM(2, random_state=seed, max_iter=3, reg_covar=0).fit(X)
    given = dict(weights_init=start.weights_, means_init=start.means_,
                 precisions_init=start.precisions_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        step = GaussianMixtureEM(2, max_iter=1, reg_covar=0, **given).fit(X)
    weights, means, covariances, bound = _brute_force_em_step(
        X, start.weights_, start.means_, start.covariances_)
    assert step.lower_bound_ == pytest.approx(bound, rel=1e-10)
    np.testing.assert_allclose(step.weights_, weights, rtol=1e-9)
    np.testing.assert_allclose(step.means_, means, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(step.covariances_, covariances, rtol=1e-8, atol=1e-10)


def _check_conditioning(X, observed, mean, cov, resp):
    """IncompleteRows against the conditional Gaussian of each row, by NumPy."""
    d = X.shape[1]
    precision = np.linalg.inv(cov)
    U = np.linalg.cholesky(precision[::-1, ::-1])[::-1, ::-1]  # upper, U U^T = precision
    rows = IncompleteRows(X, observed)
    conditionals = rows.condition(mean, U, keep=True)
    maha, log_det_mm = conditionals.maha, conditionals.log_det_mm
    completed = rows.completed(mean, conditionals)
    cond_cov = rows.conditional_covariance(resp, conditionals)
    # Without keep, the same densities (the E-step of scoring).
    light = rows.condition(mean, U)
    np.testing.assert_array_equal(light.maha, maha)
    assert light.delta is None and light.inverses is None
    expected_cov = np.zeros((d, d))
    for i in range(X.shape[0]):
        o, m = observed[i], ~observed[i]
        r = X[i, o] - mean[o]
        np.testing.assert_allclose(maha[i], r @ np.linalg.solve(cov[np.ix_(o, o)], r),
                                   rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(
            log_det_mm[i],
            np.linalg.slogdet(cov[np.ix_(o, o)])[1] - np.linalg.slogdet(cov)[1],
            rtol=1e-9, atol=1e-9)
        gain = cov[np.ix_(m, o)] @ np.linalg.inv(cov[np.ix_(o, o)])
        np.testing.assert_allclose(completed[i, m], mean[m] + gain @ r, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(completed[i, o], X[i, o])
        expected_cov[np.ix_(m, m)] += resp[i] * (cov[np.ix_(m, m)] - gain @ cov[np.ix_(o, m)])
    np.testing.assert_allclose(cond_cov, expected_cov, rtol=1e-9, atol=1e-9)
    # The M-step's moments of the completed rows, against block_moments.
    from skgen.utils import block_moments

    weight, new_mean, scatter = rows.completed_moments(mean, rows.condition(mean, U, True),
                                                       resp)
    reference = block_moments(completed, resp[:, None], "full")
    np.testing.assert_allclose(new_mean, reference.mean[0], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(scatter, reference.scatter[0], rtol=1e-8, atol=1e-8)
    return rows


def _gaussian(rng, d):
    A = rng.randn(d, d)
    return rng.randn(d), A @ A.T + d * np.eye(d)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), d=st.integers(1, 7), n=st.integers(1, 20))
def test_conditioning_matches_the_conditional_gaussian(seed, d, n):
    rng = np.random.RandomState(seed)
    mean, cov = _gaussian(rng, d)
    X = rng.randn(n, d) * 2
    observed = rng.uniform(size=X.shape) > 0.4
    observed[np.arange(n), rng.randint(d, size=n)] = True
    X[~observed] = np.nan
    _check_conditioning(X, observed, mean, cov, rng.uniform(size=n))


@pytest.mark.parametrize("seed", range(3))
def test_repeated_and_distinct_patterns_both_condition_exactly(seed):
    # Few patterns (blocks): rows sorted by pattern share a factor per group;
    # distinct patterns: rows visited in place. Both against the reference.
    rng = np.random.RandomState(seed)
    d, n = 12, 60
    mean, cov = _gaussian(rng, d)
    X = rng.randn(n, d) + mean
    patterns = np.ones((3, d), dtype=bool)
    patterns[0, :4], patterns[1, 4:9], patterns[2, [0, 5, 11]] = False, False, False
    observed = patterns[rng.randint(3, size=n)]
    sorted_rows = _check_conditioning(np.where(observed, X, np.nan), observed, mean, cov,
                                      rng.uniform(size=n))
    assert len(sorted_rows.groups.first) == 3
    assert not np.array_equal(sorted_rows.groups.order, np.arange(n))
    observed = rng.uniform(size=(n, d)) > 0.3
    observed[:, 0] = True
    distinct = _check_conditioning(np.where(observed, X, np.nan), observed, mean, cov,
                                   rng.uniform(size=n))
    np.testing.assert_array_equal(distinct.groups.order, np.arange(n))


def test_patterns_put_equal_rows_together():
    observed = np.array(list(itertools.product([True, False], repeat=3)) * 3)
    order = missing_patterns(observed)
    assert sorted(order) == list(range(len(observed)))
    runs = [tuple(row) for row in observed[order]]
    changes = sum(a != b for a, b in zip(runs, runs[1:]))
    assert changes == 7  # 8 patterns, each in one run


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_no_missing_value_takes_the_complete_data_path(covariance_type, monkeypatch):
    # Without NaN the missing-value code is never entered (so every result is
    # what it was before missing values existed), and complete rows of data
    # with NaN elsewhere go through the complete-data products.
    import skgen.mixture._gaussian as gaussian

    def refuse(*args, **kwargs):
        raise AssertionError("missing-value code on complete rows")

    X = _data(0, fraction=0.0)
    with monkeypatch.context() as patch:
        patch.setattr(gaussian, "missing_log_prob", refuse)
        patch.setattr(gaussian, "missing_statistics", refuse)
        model = GaussianMixtureEM(3, covariance_type=covariance_type, random_state=0).fit(X)
        model.score_samples(X)
    seen = []
    real = gaussian.missing_log_prob
    monkeypatch.setattr(gaussian, "missing_log_prob",
                        lambda X, *a: seen.append(X.shape[0]) or real(X, *a))
    Xm = X.copy()
    Xm[[3, 10], 1] = np.nan
    model.score_samples(Xm)
    assert seen == [2]  # only the two incomplete rows


def test_predictions_accept_missing_values():
    X = _data(1)
    model = GaussianMixtureEM(3, random_state=0).fit(X)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(axis=1))
    assert model.score(X) == pytest.approx(np.mean(model.score_samples(X)))
    assert np.isfinite(model.bic(X)) and np.isfinite(model.aic(X))
    samples, _ = model.sample(10, random_state=0)
    assert not np.isnan(samples).any()


def test_a_row_without_observed_entries_is_refused():
    X = _data(0)
    X[7] = np.nan
    with pytest.raises(ValueError, match="no observed entry .* the first at row 7"):
        GaussianMixtureEM(2).fit(X)
    model = GaussianMixtureEM(2, random_state=0).fit(_data(0))
    with pytest.raises(ValueError, match="no observed entry"):
        model.score_samples(X)


def test_infinity_is_still_refused():
    X = _data(0)
    X[3, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixtureEM(2).fit(X)


def test_tags_allow_nan():
    assert GaussianMixtureEM().__sklearn_tags__().input_tags.allow_nan


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_start_works_with_missing_values(init_params):
    X = _data(2, n=3000)  # 'kmeans' on more rows than its sample: Lloyd passes too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GaussianMixtureEM(3, init_params=init_params, random_state=0).fit(X)
    assert np.all(np.isfinite(model.means_)) and np.isfinite(model.lower_bound_)
    assert not hasattr(model, "_fill_values") or model._fill_values is None


def test_marginalising_beats_mean_imputation_on_held_out_rows():
    X = _data(3, n=2000, fraction=0.3)
    train, test = X[:1500], X[1500:]
    ours = GaussianMixtureEM(3, random_state=0).fit(train)
    filled = np.where(np.isnan(train), np.nanmean(train, axis=0), train)
    imputed = GaussianMixtureEM(3, random_state=0).fit(filled)
    assert ours.score(test) > imputed.score(test)


# ------------------------------------------------------------------ Bernoulli
def _binary(seed, n=1500, d=20, fraction=0.3):
    rng = np.random.RandomState(seed)
    P = rng.uniform(0.1, 0.9, size=(3, d))
    X = (rng.uniform(size=(n, d)) < P[rng.randint(3, size=n)]).astype(np.float64)
    truth = X.copy()
    X[rng.uniform(size=X.shape) < fraction] = np.nan
    X[np.isnan(X).all(axis=1), 0] = truth[np.isnan(X).all(axis=1), 0]
    return X, truth


@pytest.mark.parametrize("seed", range(3))
def test_bernoulli_marginal_and_monotone_em(seed):
    from skgen import BernoulliMixture

    X, _ = _binary(seed)
    model = BernoulliMixture(3, binarize=None, random_state=seed, max_iter=100, tol=0).fit(X)
    assert np.all(np.diff(model.lower_bounds_) >= -1e-12)
    ref = []
    for x in X[:30]:
        o = ~np.isnan(x)
        ref.append(logsumexp([
            np.log(model.weights_[k]) + np.sum(x[o] * np.log(model.means_[k, o])
                                               + (1 - x[o]) * np.log1p(-model.means_[k, o]))
            for k in range(3)]))
    np.testing.assert_allclose(model.score_samples(X[:30]), ref, rtol=1e-12, atol=1e-12)


def test_bernoulli_m_step_divides_by_the_observed_mass():
    from skgen import BernoulliMixture

    X, _ = _binary(0, n=200)
    start = BernoulliMixture(2, binarize=None, random_state=0, max_iter=2, alpha=0.5).fit(X)
    step = BernoulliMixture(2, binarize=None, max_iter=1, alpha=0.5,
                            weights_init=start.weights_, means_init=start.means_).fit(X)
    resp = start.predict_proba(X)
    observed = ~np.isnan(X)
    counts = resp.T @ np.where(observed, X, 0)
    mass = resp.T @ observed
    eps = np.finfo(float).eps
    np.testing.assert_allclose(step.means_, (counts + 0.5) / (mass + 1.0 + 10 * eps),
                               rtol=1e-12)


def test_bernoulli_sparse_and_thresholded_input_with_missing_values():
    import scipy.sparse as sp

    from skgen import BernoulliMixture

    X, _ = _binary(1)
    dense = BernoulliMixture(3, binarize=None, random_state=0).fit(X)
    sparse = BernoulliMixture(3, binarize=None, random_state=0).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(sparse.means_, dense.means_, rtol=1e-12, atol=1e-14)
    scaled = np.where(np.isnan(X), np.nan, X * 200 + 20)  # "pixels": threshold at 100
    thresholded = BernoulliMixture(3, binarize=100.0, random_state=0).fit(scaled)
    np.testing.assert_allclose(thresholded.means_, dense.means_, rtol=1e-12)


def test_bernoulli_imputation_beats_the_column_mean():
    from sklearn.impute import SimpleImputer

    from skgen import BernoulliMixture, GenerativeImputer

    X, truth = _binary(2, fraction=0.2)
    missing = np.isnan(X)
    ours = GenerativeImputer(BernoulliMixture(3, binarize=None, random_state=0)).fit_transform(X)
    mean = SimpleImputer().fit_transform(X)
    accuracy = lambda Z: np.mean((Z[missing] > 0.5) == truth[missing])  # noqa: E731
    assert accuracy(ours) > accuracy(mean) + 0.05
