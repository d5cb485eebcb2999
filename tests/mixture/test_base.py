"""Behaviour of the shared EM loop, for every mixture: properties, API, bad input."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning

from skgen import BernoulliMixture, GaussianMixtureEM

MIXTURES = [GaussianMixtureEM, BernoulliMixture]


def _data(cls, seed, n=120, d=4):
    rng = np.random.RandomState(seed)
    if cls is BernoulliMixture:
        protos = rng.uniform(0.1, 0.9, size=(3, d))
        return (rng.uniform(size=(n, d)) < protos[rng.randint(3, size=n)]).astype(float)
    centers = rng.randn(3, d) * 4
    return centers[rng.randint(3, size=n)] + rng.randn(n, d)


def _naive_log_prob(model, X):
    """log sum_k pi_k p(x | k) with one scipy density per component."""
    from scipy.stats import multivariate_normal

    cols = []
    for k in range(model.n_components):
        if isinstance(model, BernoulliMixture):
            mu = model.means_[k]
            cols.append(X @ np.log(mu) + (1 - X) @ np.log1p(-mu))
        else:
            cols.append(multivariate_normal(model.means_[k], model.covariances_[k]).logpdf(X))
    return logsumexp(np.column_stack(cols) + np.log(model.weights_), axis=1)


@pytest.mark.parametrize("cls", MIXTURES)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 4),
       init=st.sampled_from(["kmeans", "k-means++", "random", "random_from_data"]))
def test_em_properties(cls, seed, k, init):
    X = _data(cls, seed % 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = cls(k, init_params=init, random_state=seed, max_iter=30, tol=1e-8,
                    **({"reg_covar": 1e-4} if cls is GaussianMixtureEM else {})).fit(X)
    resp = model.predict_proba(X)
    assert resp.shape == (X.shape[0], k)
    assert np.all(resp >= 0)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)
    # EM never decreases its objective (up to rounding; reg_covar is not a proper
    # prior, so the Gaussian bound may move by O(reg_covar)).
    slack = 1e-9 if cls is BernoulliMixture else 1e-4
    assert np.all(np.diff(model.lower_bounds_) >= -slack * np.abs(model.lower_bounds_[1:]))
    np.testing.assert_allclose(model.score_samples(X), _naive_log_prob(model, X), rtol=1e-9)
    assert model.score(X) == pytest.approx(np.mean(_naive_log_prob(model, X)), rel=1e-9)
    Xs, ys = model.sample(37, random_state=seed)
    assert Xs.shape == (37, X.shape[1]) and ys.shape == (37,)
    assert Xs.dtype == X.dtype
    assert set(np.unique(ys)) <= set(range(k))
    if cls is BernoulliMixture:
        assert set(np.unique(Xs)) <= {0.0, 1.0}
    assert np.all(np.isfinite(Xs))


@pytest.mark.parametrize("cls", MIXTURES)
@pytest.mark.parametrize("max_iter", [1, 2, 50])
def test_fit_predict_equals_fit_then_predict(cls, max_iter):
    X = _data(cls, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = cls(3, random_state=1, max_iter=max_iter, init_params="random").fit_predict(X)
        model = cls(3, random_state=1, max_iter=max_iter, init_params="random").fit(X)
        resp = cls(3, random_state=1, max_iter=max_iter, init_params="random").fit_transform(X)
    np.testing.assert_array_equal(labels, model.predict(X))
    np.testing.assert_allclose(resp, model.transform(X))


@pytest.mark.parametrize("cls", MIXTURES)
def test_n_init_keeps_best_lower_bound(cls):
    X = _data(cls, 2)
    kw = dict(init_params="random", max_iter=5, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        best = cls(3, n_init=4, random_state=0, **kw).fit(X)
        rng = np.random.RandomState(0)
        singles = []
        for _ in range(4):
            # Same draws as the restarts: one RandomState shared across them.
            m = cls(3, n_init=1, random_state=rng, **kw).fit(X)
            singles.append(m.lower_bound_)
    assert best.lower_bound_ == pytest.approx(max(singles), rel=1e-12)


@pytest.mark.parametrize("cls", MIXTURES)
def test_warm_start_continues(cls):
    X = _data(cls, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cold = cls(3, random_state=0, max_iter=6, tol=0).fit(X)
        warm = cls(3, random_state=0, max_iter=3, tol=0, warm_start=True)
        warm.fit(X)
        warm.fit(X)
    np.testing.assert_allclose(warm.means_, cold.means_, rtol=1e-10)
    np.testing.assert_allclose(warm.lower_bound_, cold.lower_bound_, rtol=1e-12)


@pytest.mark.parametrize("cls", MIXTURES)
def test_convergence_warning_and_converged_flag(cls):
    X = _data(cls, 4)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model = cls(3, max_iter=1, tol=0, random_state=0).fit(X)
    assert not model.converged_ and model.n_iter_ == 1
    model = cls(3, max_iter=200, random_state=0).fit(X)
    assert model.converged_ and model.n_iter_ < 200
    assert len(model.lower_bounds_) == model.n_iter_


@pytest.mark.parametrize("cls", MIXTURES)
def test_verbose_prints_progress(cls, capsys):
    cls(2, verbose=2, verbose_interval=1, random_state=0, max_iter=3).fit(_data(cls, 5))
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "Iteration 1" in out


@pytest.mark.parametrize("cls", MIXTURES)
def test_bic_aic(cls):
    X = _data(cls, 6)
    model = cls(2, random_state=0).fit(X)
    n = X.shape[0]
    p = model._n_parameters()
    assert model.bic(X) == pytest.approx(-2 * model.score(X) * n + p * np.log(n))
    assert model.aic(X) == pytest.approx(-2 * model.score(X) * n + 2 * p)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("cls", MIXTURES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_inf_rejected(cls, bad):
    X = _data(cls, 0)
    X[3, 1] = bad
    if np.isnan(bad) and cls._allow_nan:
        # NaN is a missing entry there (tests/mixture/test_missing.py).
        assert np.isfinite(cls(2, random_state=0).fit(X).lower_bound_)
        return
    with pytest.raises(ValueError, match="NaN|infinity"):
        cls(2).fit(X)
    model = cls(2, random_state=0).fit(_data(cls, 0))
    for method in ["predict", "predict_proba", "score_samples", "score", "transform"]:
        with pytest.raises(ValueError, match="NaN|infinity"):
            getattr(model, method)(X)


@pytest.mark.parametrize("cls", MIXTURES)
def test_1d_input_rejected(cls):
    with pytest.raises(ValueError, match="2D array"):
        cls(2).fit(np.ones(10))


@pytest.mark.parametrize("cls", MIXTURES)
def test_fewer_samples_than_components(cls):
    X = _data(cls, 0)[:3]
    with pytest.raises(ValueError, match="n_samples >= n_components.*n_components = 4.*n_samples = 3"):
        cls(4).fit(X)


@pytest.mark.parametrize("cls", MIXTURES)
def test_wrong_number_of_features(cls):
    model = cls(2, random_state=0).fit(_data(cls, 0))
    with pytest.raises(ValueError, match="features"):
        model.predict(_data(cls, 0, d=5))


@pytest.mark.parametrize("cls", MIXTURES)
@pytest.mark.parametrize(
    "params",
    [
        dict(n_components=0),
        dict(tol=-1.0),
        dict(max_iter=-1),
        dict(n_init=0),
        dict(init_params="spectral"),
        dict(verbose_interval=0),
        dict(warm_start="yes"),
    ],
)
def test_invalid_parameters_named(cls, params):
    name = next(iter(params))
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        cls(**{"n_components": 2, **params}).fit(_data(cls, 0))


@pytest.mark.parametrize("cls", MIXTURES)
@pytest.mark.parametrize("n", [0, -2, 1.5, True])
def test_sample_rejects_bad_n_samples(cls, n):
    model = cls(2, random_state=0).fit(_data(cls, 0))
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(n)


@pytest.mark.parametrize("cls", MIXTURES)
def test_unfitted_raises(cls):
    from sklearn.exceptions import NotFittedError

    for method in ["predict", "predict_proba", "score_samples", "transform"]:
        with pytest.raises(NotFittedError):
            getattr(cls(2), method)(_data(cls, 0))
    with pytest.raises(NotFittedError):
        cls(2).sample(3)


@pytest.mark.parametrize("cls", MIXTURES)
def test_max_iter_zero_keeps_initialisation(cls):
    model = cls(2, max_iter=0, random_state=0).fit(_data(cls, 0))
    assert model.n_iter_ == 0 and model.lower_bounds_.shape == (0,)
    assert np.all(np.isfinite(model.score_samples(_data(cls, 0))))


@pytest.mark.parametrize("cls", MIXTURES)
def test_pandas_output(cls):
    pd = pytest.importorskip("pandas")
    model = cls(3, random_state=0).set_output(transform="pandas").fit(_data(cls, 0))
    out = model.transform(_data(cls, 0))
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"{cls.__name__.lower()}{i}" for i in range(3)]


# ------------------------------------------------ numba kernel vs NumPy reference
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 50), k=st.integers(1, 8),
       scale=st.sampled_from([1.0, 100.0, 1e4]))
def test_normalize_log_prob_matches_numpy(dtype, seed, n, k, scale):
    from skgen.mixture._passes import normalize_log_prob as _normalize_log_prob

    rng = np.random.RandomState(seed)
    wlp = (rng.randn(n, k) * scale).astype(dtype)
    wlp[rng.uniform(size=(n, k)) < 0.2] = -np.inf
    wlp[0] = -np.inf  # a sample impossible under every component
    ref_norm = logsumexp(wlp.astype(np.float64), axis=1)
    with np.errstate(invalid="ignore"):
        ref_resp = np.exp(wlp.astype(np.float64) - ref_norm[:, None])
    resp = wlp.copy()
    norm = _normalize_log_prob(resp)
    assert norm.dtype == resp.dtype == dtype
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    finite = np.isfinite(ref_norm)
    np.testing.assert_allclose(norm[finite], ref_norm[finite], rtol=rtol, atol=rtol)
    assert np.all(norm[~finite] == -np.inf)
    # Impossible rows: uniform responsibilities, never NaN.
    np.testing.assert_allclose(resp[~finite], 1.0 / k)
    np.testing.assert_allclose(resp[finite], ref_resp[finite], atol=10 * np.finfo(dtype).eps)
    tiny = np.finfo(dtype).tiny
    assert not np.any((resp > 0) & (resp < tiny))  # subnormals flushed to zero
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=10 * np.finfo(dtype).eps * k)


@pytest.mark.parametrize("cls", MIXTURES)
@pytest.mark.parametrize("init", ["k-means++", "random_from_data", "kmeans", "random"])
def test_initial_weights_sum_to_one(cls, init):
    # scikit-learn's GaussianMixture leaves weights summing to K / n after a
    # one-hot start on K points (visible with max_iter=0); skgen normalises them.
    model = cls(3, init_params=init, max_iter=0, random_state=0).fit(_data(cls, 0))
    assert model.weights_.sum() == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("cls", MIXTURES)
def test_threaded_passes_equal_one_thread(cls, monkeypatch):
    # In-memory passes run over one row block per idle core, merged as a tree:
    # the fit equals the one-thread fit to rounding, from the same start.
    import skgen.utils._rows as base

    X = _data(cls, 0, n=25_000)
    assert X.shape[0] >= 2 * base.THREAD_ROWS
    start = cls(3, max_iter=1, random_state=0).fit(X)
    given = {"weights_init": start.weights_, "means_init": start.means_}
    if cls is GaussianMixtureEM:
        given["precisions_init"] = start.precisions_
    fits = {}
    for threads in (1, 2):
        monkeypatch.setattr(base, "resolve_n_threads", lambda n_jobs, t=threads: t)
        fits[threads] = cls(3, max_iter=5, tol=0, **given).fit(X)
    assert fits[2].lower_bound_ == pytest.approx(fits[1].lower_bound_, rel=1e-12)
    np.testing.assert_allclose(fits[2].means_, fits[1].means_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fits[2].weights_, fits[1].weights_, rtol=1e-10)


@pytest.mark.parametrize("cls", MIXTURES)
def test_kmeans_start_on_many_rows_reaches_the_full_kmeans_optimum(cls, monkeypatch):
    # Above max(2000, 100 K) rows 'kmeans' seeds on a sample and refines by
    # Lloyd passes; EM then reaches the optimum of scikit-learn's full k-means
    # start. Below it, the start is scikit-learn's (test_gaussian.py).
    import skgen.mixture._init as base

    X = _data(cls, 0, n=25_000)
    assert X.shape[0] > base.init_sample_rows(3)
    sampled = cls(3, random_state=0, max_iter=300).fit(X)
    monkeypatch.setattr(base, "INIT_SAMPLE_ROWS", 10**9)
    full = cls(3, random_state=0, max_iter=300).fit(X)
    assert sampled.lower_bound_ == pytest.approx(full.lower_bound_, abs=1e-3)


@pytest.mark.parametrize("cls", MIXTURES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed,missing", [(0, False), (1, False), (2, True)])
def test_the_sampled_start_runs_on_one_blas_thread(cls, dtype, seed, missing, monkeypatch):
    # 'kmeans' on more rows than the sample: OpenBLAS's threads spin after
    # scikit-learn's threaded k-means++ and took the cores of the first EM
    # passes; on the sample a second thread gains nothing. The limit is restored
    # for the passes and after the fit.
    import threadpoolctl

    import skgen.mixture._init as base

    def blas_threads():
        return [info["num_threads"] for info in threadpoolctl.threadpool_info()
                if info["user_api"] == "blas"]

    seen = []
    for name in ("_kmeans_plusplus", "_lloyd_step"):
        real = getattr(base, name)

        def recording(*args, real=real, **kwargs):
            seen.extend(blas_threads())
            return real(*args, **kwargs)

        monkeypatch.setattr(base, name, recording)
    X = _data(cls, seed, n=5_000).astype(dtype)
    if missing:  # NaN entries: the start fills them by column means
        X[np.random.RandomState(seed).uniform(size=X.shape) < 0.05] = np.nan
    assert X.shape[0] > base.init_sample_rows(3)
    before = blas_threads()
    fitted = cls(3, max_iter=2, tol=0, random_state=seed).fit(X)
    assert seen and set(seen) == {1}
    assert blas_threads() == before
    assert np.all(np.isfinite(fitted.means_))
