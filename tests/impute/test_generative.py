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


def _factor_data(seed=0, n=1500, d=6, fraction=0.2):
    """Rows near a 2-dimensional subspace (what a small autoencoder can learn)."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 2) @ rng.randn(2, d) + 0.1 * rng.randn(n, d)
    truth = X.copy()
    X[rng.uniform(size=X.shape) < fraction] = np.nan
    X[np.isnan(X).all(axis=1), 0] = truth[np.isnan(X).all(axis=1), 0]
    return X, truth


def _vae(**kw):
    from skgen import VAE

    return VAE(n_components=2, hidden_layer_sizes=(32,), likelihood="gaussian",
               max_iter=60, random_state=0, **kw)


def test_vae_importance_imputation_is_the_self_normalised_estimate():
    # The jitted weights equal the bound's importance weights for the same
    # draws, and the fill is their softmax-weighted decoder mean (NumPy reference).
    import jax

    from skgen.neural._inference import row_keys
    from skgen.neural._steps import spec_for
    from skgen.neural._vae import _decode_mean, _importance_imputation, _log_weights

    X, _ = _factor_data(1, n=300)
    model = _vae().fit(X)
    Xs = model._scaled_input(X[:40])
    spec = spec_for(model._spec(), Xs)
    params, hyper = model._device_params(), model._hyper_tree()
    keys = row_keys(jax.random.PRNGKey(3), Xs)
    mean, log_w, z = _importance_imputation(spec, params, Xs, keys, 16, hyper)
    np.testing.assert_allclose(log_w, _log_weights(spec, params, Xs, keys, 16, hyper),
                               rtol=1e-5, atol=1e-4)
    w = np.exp(log_w - np.max(log_w, axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    decoded = np.asarray(_decode_mean(model._spec(), params, np.asarray(z)))
    np.testing.assert_allclose(mean, np.einsum("nk,nkd->nd", w, decoded), rtol=1e-4,
                               atol=1e-5)


def test_vae_and_dae_fill_beats_the_column_mean():
    from skgen import DenoisingAE

    X, truth = _factor_data(2)
    missing = np.isnan(X)
    rmse = lambda Z: np.sqrt(np.mean((Z[missing] - truth[missing]) ** 2))  # noqa: E731
    base = rmse(SimpleImputer().fit_transform(X))
    dae = DenoisingAE(n_components=2, hidden_layer_sizes=(32,), loss="mse", max_iter=60,
                      random_state=0)
    for estimator in (_vae(), dae):
        filled = GenerativeImputer(estimator).fit_transform(X)
        np.testing.assert_array_equal(filled[~missing], X[~missing])
        assert not np.isnan(filled).any()
        assert rmse(filled) < 0.8 * base, type(estimator).__name__


def test_dae_fill_is_the_zero_filled_reconstruction_and_refuses_draws():
    from skgen import DenoisingAE

    X, _ = _factor_data(3, n=400)
    imputer = GenerativeImputer(DenoisingAE(n_components=2, loss="mse", max_iter=5,
                                            random_state=0)).fit(X)
    model = imputer.estimator_
    rebuilt = model.inverse_transform(model.transform(np.nan_to_num(X, nan=0.0)))
    missing = np.isnan(X)
    np.testing.assert_allclose(imputer.transform(X)[missing], rebuilt[missing], rtol=1e-5,
                               atol=1e-5)
    with pytest.raises(ValueError, match="no posterior distribution"):
        imputer.set_params(sample_posterior=True).transform(X)


def test_vae_draws_follow_the_seed_and_keep_the_observed_entries():
    X, _ = _factor_data(4, n=300)
    imputer = GenerativeImputer(_vae(), sample_posterior=True,
                                random_state=0).fit(X)
    a = imputer.transform(X)
    np.testing.assert_array_equal(a, imputer.transform(X))
    b = imputer.set_params(random_state=1).transform(X)
    missing = np.isnan(X)
    assert not np.array_equal(a[missing], b[missing])
    np.testing.assert_array_equal(b[~missing], X[~missing])
    # Draws spread about the conditional mean.
    mean = imputer.set_params(sample_posterior=False).transform(X)
    assert np.std(a[missing] - mean[missing]) > 0.05
