"""Stepwise EM: partial_fit of the mixtures on a stream of batches."""

import warnings

import numpy as np
import pytest

from skgen import BernoulliMixture, GaussianMixtureEM

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _blobs(seed, n=1200, d=3):
    rng = np.random.RandomState(seed)
    centres = rng.randn(3, d) * 5
    X = centres[rng.randint(3, size=n)] + rng.randn(n, d) @ rng.randn(d, d) * 0.6
    return X


def _binary(seed, n=1200, d=24):
    rng = np.random.RandomState(seed)
    prototypes = rng.uniform(size=(3, d)) < 0.5
    rows = prototypes[rng.randint(3, size=n)]
    flip = rng.uniform(size=rows.shape) < 0.1
    return (rows ^ flip).astype(np.float64)


def _given(model):
    if isinstance(model, BernoulliMixture):
        return dict(weights_init=model.weights_, means_init=model.means_)
    return dict(weights_init=model.weights_, means_init=model.means_,
                precisions_init=model.precisions_)


def _mixtures():
    for covariance_type in COVARIANCE_TYPES:
        yield (lambda **kw: GaussianMixtureEM(3, covariance_type=covariance_type, **kw)), _blobs
    yield (lambda **kw: BernoulliMixture(3, binarize=None, **kw)), _binary


@pytest.mark.parametrize("make, data", list(_mixtures()))
@pytest.mark.parametrize("seed", range(3))
def test_rho_one_steps_are_plain_em_iterations(make, data, seed):
    # learning_decay=0: rho_t = 1, so each step is one EM iteration on its
    # batch: the first from fit's own start, the next from the previous step.
    X = data(seed)
    stream = make(random_state=seed, learning_decay=0.0).partial_fit(X[:400])
    reference = make(random_state=seed, max_iter=1).fit(X[:400])
    for name in ("weights_", "means_"):
        np.testing.assert_array_equal(getattr(stream, name), getattr(reference, name))
    for batch in (X[400:700], X[700:]):
        reference = make(max_iter=1, **_given(stream)).fit(batch)
        stream.partial_fit(batch)
        np.testing.assert_allclose(stream.means_, reference.means_, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(stream.weights_, reference.weights_, rtol=1e-12)
        if hasattr(stream, "covariances_"):
            np.testing.assert_allclose(stream.covariances_, reference.covariances_,
                                       rtol=1e-12, atol=1e-13)
    assert stream.n_steps_ == 3


@pytest.mark.parametrize("make, data", list(_mixtures()))
@pytest.mark.parametrize("seed", range(3))
def test_a_stationary_stream_reaches_the_batch_fit(make, data, seed):
    X = data(seed, n=6000)
    train, test = X[:5000], X[5000:]
    stream = make(random_state=seed)
    for start in range(0, 5000, 100):
        stream.partial_fit(train[start:start + 100])
    batch = make(random_state=seed).fit(train)
    assert stream.score(test) >= batch.score(test) - 0.01 * abs(batch.score(test))


def test_sample_weights_drop_and_repeat_rows():
    X = _blobs(4)
    start = GaussianMixtureEM(3, random_state=0, max_iter=2).fit(X)
    step = lambda Y, w=None: GaussianMixtureEM(  # noqa: E731
        3, **_given(start)).partial_fit(X[:10]).partial_fit(Y, sample_weight=w)
    w = np.ones(400)
    w[::3] = 0
    dropped, weighted = step(X[100:500][w > 0]), step(X[100:500], w)
    np.testing.assert_allclose(weighted.means_, dropped.means_, rtol=1e-10)
    np.testing.assert_allclose(weighted.covariances_, dropped.covariances_, rtol=1e-10)
    counts = np.arange(400) % 3
    repeated, weighted = step(np.repeat(X[100:500], counts, axis=0)), step(X[100:500], counts)
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-10)
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-10)
    with pytest.raises(ValueError, match="non-zero"):
        step(X[:50], np.zeros(50))


def test_batches_are_validated_against_the_first():
    X = _blobs(5)
    model = GaussianMixtureEM(3, random_state=0).partial_fit(X[:300])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:100, :2])
    bad = X[:100].copy()
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        model.partial_fit(bad)
    with pytest.raises(ValueError, match="n_samples"):
        GaussianMixtureEM(5).partial_fit(X[:3])
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X[:300], columns=["a", "b", "c"])
    named = GaussianMixtureEM(3, random_state=0).partial_fit(frame)
    with pytest.raises(ValueError, match="feature names"):
        named.partial_fit(frame.rename(columns={"a": "z"}))
    assert model.n_steps_ == 1


def test_missing_values_dask_batches_and_fit_restarts():
    da = pytest.importorskip("dask.array")
    X = _blobs(6)
    holes = X.copy()
    holes[np.random.RandomState(0).uniform(size=X.shape) < 0.1] = np.nan
    holes[np.isnan(holes).all(axis=1), 0] = 0.0
    model = GaussianMixtureEM(3, random_state=0).partial_fit(holes[:600])
    model.partial_fit(holes[600:])
    assert np.isfinite(model.score(holes)) and model.n_steps_ == 2
    # A dask batch is one pass over its chunks: the same step as in memory.
    a = GaussianMixtureEM(3, **_given(model)).partial_fit(X[:600])
    b = GaussianMixtureEM(3, **_given(model)).partial_fit(da.from_array(X[:600], chunks=150))
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-10)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-10)
    # fit discards the stream; a partial_fit after fit continues from its parameters.
    model.fit(X)
    assert not hasattr(model, "n_steps_")
    fitted = model.means_.copy()
    model.partial_fit(X[:300])
    assert model.n_steps_ == 1
    assert np.max(np.abs(model.means_ - fitted)) < 0.5


def test_clone_is_fresh_and_warm_start_continues_from_the_stream():
    from sklearn.base import clone

    X = _blobs(7)
    stream = GaussianMixtureEM(3, random_state=0).partial_fit(X[:400]).partial_fit(X[400:800])
    fresh = clone(stream)
    assert not hasattr(fresh, "means_") and not hasattr(fresh, "n_steps_")
    assert stream.converged_ is False
    # warm_start: fit continues from the stream's parameters (one start, no k-means).
    warm = clone(stream).set_params(warm_start=True, max_iter=1)
    warm.partial_fit(X[:400]).partial_fit(X[400:800])
    reference = GaussianMixtureEM(3, max_iter=1, **_given(warm)).fit(X)
    warm.fit(X)
    np.testing.assert_allclose(warm.means_, reference.means_, rtol=1e-10)
    assert not hasattr(warm, "n_steps_")


@pytest.mark.parametrize("seed", range(3))
def test_float32_stream_keeps_its_dtype_and_its_digits(seed):
    # Data far from the origin: the running moments merge by Chan et al.'s rule,
    # so a float32 stream ends where the float64 one does.
    X = _blobs(seed, n=3000) + 1e3
    streams = {}
    for dtype in (np.float32, np.float64):
        model = GaussianMixtureEM(3, covariance_type="diag", random_state=seed)
        for start in range(0, 3000, 300):
            model.partial_fit(X[start:start + 300].astype(dtype))
        streams[dtype] = model
    assert streams[np.float32].means_.dtype == np.float32
    np.testing.assert_allclose(np.sort(streams[np.float32].means_, axis=0),
                               np.sort(streams[np.float64].means_, axis=0), rtol=1e-5)
