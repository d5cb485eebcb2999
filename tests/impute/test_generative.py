"""GenerativeImputer: conditional means and draws from a fitted generative model."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline

from skgen import GaussianMixtureEM, GenerativeImputer


def _correlated(seed=0, n=2000, d=4, fraction=0.2):
    rng = np.random.RandomState(seed)
    A = rng.randn(d, d)
    X = rng.randn(n, d) @ A + rng.randn(d) * 3
    truth = X.copy()
    X[rng.uniform(size=X.shape) < fraction] = np.nan
    X[np.isnan(X).all(axis=1), 0] = truth[np.isnan(X).all(axis=1), 0]
    return X, truth


@pytest.mark.parametrize("seed", range(3))
def test_conditional_mean_of_one_gaussian_is_the_closed_form(seed):
    X, _ = _correlated(seed)
    imputer = GenerativeImputer().fit(X)
    model = imputer.estimator_
    mu, S = model.means_[0], model.covariances_[0]
    filled = imputer.transform(X)
    for i in np.flatnonzero(np.isnan(X).any(axis=1))[:50]:
        o, m = ~np.isnan(X[i]), np.isnan(X[i])
        expected = mu[m] + S[np.ix_(m, o)] @ np.linalg.solve(S[np.ix_(o, o)], X[i, o] - mu[o])
        np.testing.assert_allclose(filled[i, m], expected, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(filled[i, o], X[i, o])


def test_default_model_is_one_full_covariance_gaussian():
    X, _ = _correlated()
    model = GenerativeImputer().fit(X).estimator_
    assert model.n_components == 1 and model.covariance_type == "full"


def test_em_for_the_normal_beats_the_column_mean():
    X, truth = _correlated(1)
    missing = np.isnan(X)
    ours = GenerativeImputer().fit_transform(X)
    mean = SimpleImputer().fit_transform(X)
    rmse = lambda Z: np.sqrt(np.mean((Z[missing] - truth[missing]) ** 2))  # noqa: E731
    assert rmse(ours) < 0.8 * rmse(mean)


def test_posterior_draws_have_the_conditional_distribution():
    X, _ = _correlated(2, n=400)
    imputer = GenerativeImputer(sample_posterior=True, random_state=0).fit(X)
    mu, S = imputer.estimator_.means_[0], imputer.estimator_.covariances_[0]
    i = int(np.flatnonzero(np.isnan(X).sum(axis=1) == 1)[0])
    row = np.repeat(X[i:i + 1], 4000, axis=0)
    o, m = ~np.isnan(X[i]), np.isnan(X[i])
    draws = imputer.transform(row)[:, m][:, 0]
    gain = S[np.ix_(m, o)] @ np.linalg.inv(S[np.ix_(o, o)])
    mean = (mu[m] + gain @ (X[i, o] - mu[o]))[0]
    var = (S[np.ix_(m, m)] - gain @ S[np.ix_(o, m)])[0, 0]
    assert abs(draws.mean() - mean) < 4 * np.sqrt(var / draws.size)
    assert draws.var() == pytest.approx(var, rel=0.1)
    # Other seeds, other imputations; observed entries never change.
    again = imputer.set_params(random_state=1).transform(row)
    assert not np.array_equal(again[:, m], imputer.set_params(random_state=0).transform(row)[:, m])
    np.testing.assert_array_equal(again[:, o], row[:, o])


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_mixture_fill_is_the_posterior_weighted_conditional_mean(covariance_type):
    X, _ = _correlated(3, n=600)
    imputer = GenerativeImputer(GaussianMixtureEM(2, covariance_type=covariance_type,
                                                  random_state=0)).fit(X)
    model = imputer.estimator_
    filled = imputer.transform(X)
    i = int(np.flatnonzero(np.isnan(X).any(axis=1))[0])
    o, m = ~np.isnan(X[i]), np.isnan(X[i])
    resp = model.predict_proba(X[i:i + 1])[0]
    expected = np.zeros(m.sum())
    d = X.shape[1]
    for k in range(2):
        C = model.covariances_
        S = {"full": lambda: C[k], "tied": lambda: C, "diag": lambda: np.diag(C[k]),
             "spherical": lambda: np.eye(d) * C[k]}[covariance_type]()
        mu = model.means_[k]
        expected += resp[k] * (mu[m] + S[np.ix_(m, o)] @ np.linalg.solve(
            S[np.ix_(o, o)], X[i, o] - mu[o]))
    np.testing.assert_allclose(filled[i, m], expected, rtol=1e-8, atol=1e-9)


def test_in_a_pipeline_with_pandas_output():
    X, truth = _correlated(4, n=300)
    y = truth @ np.arange(1, 5)
    frame = pd.DataFrame(X, columns=list("abcd"))
    pipe = make_pipeline(GenerativeImputer(), LinearRegression()).fit(frame, y)
    assert pipe.score(frame, y) > 0.7  # R^2 on the imputed features
    imputer = GenerativeImputer(add_indicator=True).set_output(transform="pandas")
    out = imputer.fit_transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns[:4]) == list("abcd")
    assert all(c.startswith("missingindicator_") for c in out.columns[4:])
    out2 = imputer.transform(frame)
    assert isinstance(out2, pd.DataFrame) and out2.shape == out.shape
    assert not out.iloc[:, :4].isna().any().any()


def test_dask_input_is_filled_lazily():
    da = pytest.importorskip("dask.array")
    X, _ = _correlated(5, n=800)
    Xd = da.from_array(X, chunks=(200, -1))
    imputer = GenerativeImputer().fit(Xd)
    out = imputer.transform(Xd)
    assert isinstance(out, da.Array)
    reference = GenerativeImputer().fit(X)
    np.testing.assert_allclose(out.compute(), reference.transform(X), rtol=1e-9, atol=1e-9)
    assert imputer.score(Xd) == pytest.approx(reference.score(X), rel=1e-10)


def test_refusals():
    X, _ = _correlated(6, n=100)
    from skgen import LLE

    with pytest.raises(ValueError, match="cannot fill missing entries"):
        GenerativeImputer(LLE()).fit(np.nan_to_num(X))
    bad = X.copy()
    bad[0] = np.nan
    with pytest.raises(ValueError, match="no observed entry"):
        GenerativeImputer().fit(bad)
    bad = X.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GenerativeImputer().fit(bad)
    fitted = GenerativeImputer().fit(X)
    with pytest.raises(ValueError, match="features"):
        fitted.transform(X[:, :3])


@pytest.mark.parametrize("name", ["SparseCoder", "DictionaryLearning", "LLE", "TSNE",
                                  "MiniBatchDictionaryLearning"])
def test_estimators_that_cannot_marginalise_name_the_imputer(name):
    import skgen

    X = np.random.RandomState(0).rand(30, 4)
    X[2, 1] = np.nan
    args = {"dictionary": np.eye(4)} if name == "SparseCoder" else {}
    with pytest.raises(ValueError, match=r"NaN(.|\n)*GenerativeImputer\(\)"):
        getattr(skgen, name)(**args).fit(X)
    # ... and the pipeline the message proposes works.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make_pipeline(GenerativeImputer(), getattr(skgen, name)(**args)).fit(X)
