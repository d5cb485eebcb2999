"""PCA.partial_fit: exact incremental moments, and the Ross et al. fallback."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skgen import PCA


def _data(seed, n=600, d=10, offset=50.0):
    rng = np.random.RandomState(seed)
    return rng.randn(n, d) @ rng.randn(d, d) * 2 + offset


def _stream(model, X, cuts):
    for a, b in zip(cuts[:-1], cuts[1:]):
        model.partial_fit(X[a:b])
    return model


def _assert_same_model(a, b, rtol):
    np.testing.assert_allclose(np.abs(np.sum(a.components_ * b.components_, axis=1)), 1,
                               atol=rtol)
    np.testing.assert_allclose(a.explained_variance_, b.explained_variance_, rtol=rtol)
    np.testing.assert_allclose(a.mean_, b.mean_, rtol=rtol)
    np.testing.assert_allclose(a.noise_variance_, b.noise_variance_, rtol=rtol)
    assert a.n_components_ == b.n_components_


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), cuts=st.lists(st.integers(6, 599), max_size=8,
                                                       unique=True))
def test_partial_fit_equals_fit_on_the_concatenation(seed, cuts):
    # Uneven batches, one row included; data far from the origin (the merge of
    # centred moments keeps the digits that raw sums lose).
    X = _data(seed % 1000)
    edges = [0] + sorted(cuts) + [X.shape[0]]
    stream = _stream(PCA(4), X, edges)
    _assert_same_model(stream, PCA(4, svd_solver="full").fit(X), 1e-10)
    assert stream.n_samples_seen_ == X.shape[0]
    np.testing.assert_allclose(stream.score_samples(X[:20]),
                               PCA(4).fit(X).score_samples(X[:20]), rtol=1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_float32_stream_is_as_accurate_as_the_float32_fit(seed):
    X = _data(seed)
    exact = PCA(3).fit(X)
    stream = _stream(PCA(3), X.astype(np.float32), [0, 50, 51, 300, 600])
    batch = PCA(3).fit(X.astype(np.float32))
    assert stream.components_.dtype == np.float32
    error = lambda m: np.max(np.abs(m.explained_variance_ / exact.explained_variance_ - 1))  # noqa: E731,E501
    assert error(stream) <= max(2 * error(batch), 1e-5)


@pytest.mark.parametrize("n_components", [None, 0.9, "mle", 3])
def test_every_n_components_kind_after_any_batches(n_components):
    X = _data(5)
    stream = _stream(PCA(n_components), X, [0, 100, 350, 600])
    _assert_same_model(stream, PCA(n_components, svd_solver="full").fit(X), 1e-9)
    Z = stream.transform(X)
    assert Z.shape == (600, stream.n_components_)
    samples = stream.sample(5, random_state=0) if hasattr(stream, "sample") else None
    assert samples is None or samples.shape[1] == 10


def test_svd_fallback_for_wide_data(monkeypatch):
    # Beyond the scatter budget the stream keeps the top components (Ross et
    # al. 2008): exact while they cover the rank of the rows seen.
    import skgen.decomposition._pca_stream as module

    monkeypatch.setattr(module, "MAX_SCATTER_BYTES", 8)
    rng = np.random.RandomState(0)
    X = rng.randn(400, 6) @ rng.randn(6, 30) + 7.0  # rank 6
    stream = _stream(PCA(6), X, [0, 100, 101, 250, 400])
    _assert_same_model(stream, PCA(6, svd_solver="full").fit(X), 1e-8)
    with pytest.raises(ValueError, match="n_components must be an integer"):
        PCA(0.9).partial_fit(X[:50])
    # Fewer components than the rank: an approximation, no worse than
    # IncrementalPCA's on the same batches (ours truncates after each merge, not
    # before: the first batch is kept whole).
    from sklearn.decomposition import IncrementalPCA

    Y = rng.randn(400, 30) @ rng.randn(30, 30)
    exact = PCA(4).fit(Y).explained_variance_
    ours = _stream(PCA(4), Y, [0, 100, 200, 300, 400]).explained_variance_
    theirs = IncrementalPCA(4, batch_size=100).fit(Y).explained_variance_
    assert np.max(np.abs(ours / exact - 1)) <= np.max(np.abs(theirs / exact - 1)) + 1e-12


def test_dask_batch_and_fit_restarts_the_stream():
    da = pytest.importorskip("dask.array")
    X = _data(6)
    stream = PCA(3).partial_fit(da.from_array(X[:300], chunks=(70, 4)))
    stream.partial_fit(X[300:])
    _assert_same_model(stream, PCA(3).fit(X), 1e-10)
    stream.fit(X[:200])
    assert not hasattr(stream, "n_samples_seen_")
    stream.partial_fit(X[200:400])
    _assert_same_model(stream, PCA(3).fit(X[200:400]), 1e-10)


def test_batch_validation():
    X = _data(7)
    model = PCA(3).partial_fit(X[:50])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:20, :5])
    bad = X[50:60].copy()
    bad[2, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.partial_fit(bad)
    with pytest.raises(ValueError, match="minimum of 2"):
        PCA(1).partial_fit(X[:1])
    with pytest.raises(ValueError, match="n_components=3 must be between"):
        PCA(3).partial_fit(X[:2])
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X[:40], columns=[f"f{i}" for i in range(10)])
    named = PCA(2).partial_fit(frame)
    with pytest.raises(ValueError, match="feature names"):
        named.partial_fit(frame.rename(columns={"f0": "g0"}))
    assert model.n_samples_seen_ == 50  # refused batches change nothing
