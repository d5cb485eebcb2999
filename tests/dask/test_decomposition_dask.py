"""PCA and sparse coding on dask arrays: equal to the in-memory fits, lazily."""

import numpy as np
import pytest

from skgen import PCA, DictionaryLearning, SparseCoder

da = pytest.importorskip("dask.array")


def _tall(seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(2000, 30) @ rng.randn(30, 30) + 5


def _wide(seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(60, 500) * np.linspace(5, 0.1, 500) + 2


CASES = [
    ("tall", (300, -1)),
    ("tall", ((1, 699, 1300), 7)),  # uneven, a single-row chunk, split features
    ("wide", (20, 100)),            # wide in row and column chunks
    ("wide", (60, 33)),
]


@pytest.mark.parametrize("solver", ["covariance_eigh", "full", "auto"])
@pytest.mark.parametrize("n_components", [5, 0.9])
@pytest.mark.parametrize("shape,chunks", CASES)
def test_pca_on_dask_equals_in_memory(shape, chunks, solver, n_components):
    X = _tall() if shape == "tall" else _wide()
    ref = PCA(n_components, svd_solver="full").fit(X)
    Xd = da.from_array(X, chunks=chunks)
    pca = PCA(n_components, svd_solver=solver).fit(Xd)
    assert pca.n_components_ == ref.n_components_
    # Same signs (svd_flip on the axes): components equal, not only up to sign.
    np.testing.assert_allclose(pca.components_, ref.components_, atol=1e-8, rtol=0)
    np.testing.assert_allclose(pca.explained_variance_, ref.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(pca.singular_values_, ref.singular_values_, rtol=1e-10)
    np.testing.assert_allclose(pca.mean_, ref.mean_, rtol=1e-12, atol=1e-12)
    assert pca.noise_variance_ == pytest.approx(ref.noise_variance_, rel=1e-8)
    scores = pca.score_samples(Xd)
    assert isinstance(scores, da.Array) and scores.chunks[0] == Xd.chunks[0]
    np.testing.assert_allclose(scores.compute(), ref.score_samples(X), rtol=1e-9)
    assert pca.score(Xd) == pytest.approx(ref.score(X), rel=1e-9)
    Z = pca.transform(Xd)
    assert isinstance(Z, da.Array)
    np.testing.assert_allclose(Z.compute(), ref.transform(X), atol=1e-8)
    back = pca.inverse_transform(Z)
    assert isinstance(back, da.Array)
    np.testing.assert_allclose(back.compute(), ref.inverse_transform(ref.transform(X)), atol=1e-8)


@pytest.mark.parametrize("shape", ["tall", "wide"])
def test_pca_randomized_on_dask_finds_the_top_subspace(shape):
    rng = np.random.RandomState(0)
    # A clear gap after 5 components: the randomized subspace is the exact one.
    X = rng.randn(1500 if shape == "tall" else 80, 5) @ rng.randn(5, 40 if shape == "tall" else 900) * 10
    X += 0.01 * rng.randn(*X.shape)
    ref = PCA(5, svd_solver="full").fit(X)
    pca = PCA(5, svd_solver="randomized", random_state=0).fit(da.from_array(X, chunks=(40, 30)))
    np.testing.assert_allclose(pca.components_, ref.components_, atol=1e-6)
    np.testing.assert_allclose(pca.explained_variance_, ref.explained_variance_, rtol=1e-8)


def test_pca_on_a_cluster(client):
    X = _tall(1)
    ref = PCA(4).fit(X)
    pca = PCA(4).fit(da.from_array(X, chunks=(250, 10)))
    np.testing.assert_allclose(pca.components_, ref.components_, atol=1e-8)
    np.testing.assert_allclose(pca.transform(da.from_array(X, chunks=500)).compute(),
                               ref.transform(X), atol=1e-8)


def test_pca_bad_dask_input():
    X = _tall()
    X[1234, 3] = np.inf
    for solver in ["covariance_eigh", "full", "randomized"]:
        with pytest.raises(ValueError, match=r"NaN or infinity in chunk.* \(rows 1200 to 1499\)"):
            PCA(3, svd_solver=solver).fit(da.from_array(X, chunks=(300, -1)))
    with pytest.raises(ValueError, match="arpack"):
        PCA(3, svd_solver="arpack").fit(da.from_array(_tall(), chunks=300))
    unknown = da.from_array(_tall(), chunks=300)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        PCA(3).fit(unknown[unknown[:, 0] > -np.inf])
    with pytest.raises(ValueError, match="Expected 2D"):
        PCA(3).fit(da.ones(10, chunks=5))


@pytest.mark.parametrize("algorithm", ["omp", "lasso_lars", "lars", "lasso_cd", "threshold"])
def test_sparse_coder_on_dask_equals_in_memory(algorithm):
    rng = np.random.RandomState(0)
    D = rng.randn(20, 12)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.randn(500, 12)
    Xd = da.from_array(X, chunks=((1, 69, 430), 5))
    alpha = None if algorithm == "omp" else 0.1
    coder = SparseCoder(D, transform_algorithm=algorithm, transform_alpha=alpha)
    ref = coder.fit(X).transform(X)
    scale, noise = coder.code_scale_, coder.noise_variance_
    code = coder.fit(Xd).transform(Xd)
    assert isinstance(code, da.Array) and code.chunks[0] == Xd.chunks[0]
    np.testing.assert_allclose(code.compute(), ref, rtol=0, atol=1e-12)  # BLAS: 1 row vs many
    np.testing.assert_allclose(coder.code_scale_, scale, rtol=1e-12)
    assert coder.noise_variance_ == pytest.approx(noise, rel=1e-12)
    np.testing.assert_allclose(coder.inverse_transform(code).compute(), ref @ D, atol=1e-12)
    assert coder.score(Xd) == pytest.approx(coder.score(X), rel=1e-12)


def test_online_dictionary_learning_streams_a_dask_array():
    rng = np.random.RandomState(0)
    D = rng.randn(8, 12)
    codes = rng.randn(3000, 8) * (rng.rand(3000, 8) < 0.3)
    X = codes @ D + 0.01 * rng.randn(3000, 12)
    Xd = da.from_array(X, chunks=(400, -1))
    kw = dict(n_components=8, batch_size=64, max_iter=5, random_state=0, alpha=0.1,
              max_no_improvement=None)
    a = DictionaryLearning(**kw).fit(Xd)
    b = DictionaryLearning(**kw).fit(Xd)
    np.testing.assert_array_equal(a.components_, b.components_)  # same seed, same model
    assert a.n_steps_ == b.n_steps_ == 5 * sum(-(-c // 64) for c in Xd.chunks[0])
    assert a.n_iter_ == 5
    memory = DictionaryLearning(**kw).fit(X)
    # Streaming order differs from in memory: the learned objective (a negative
    # score, higher is better) is no more than 10% worse.
    assert a.score(X) >= 1.1 * memory.score(X)
    assert isinstance(a.transform(Xd), da.Array)
    with pytest.raises(ValueError, match="batch_size"):
        DictionaryLearning(8).fit(Xd)
    bad = X.copy()
    bad[2500] = np.nan
    with pytest.raises(ValueError, match="chunk 6 of 8"):
        DictionaryLearning(**kw).fit(da.from_array(bad, chunks=(400, -1)))


def test_pca_randomized_on_dask_float32_with_large_singular_values():
    # Plain power iterations overflow float32 (sigma^14 > 3e38): QR steps do not.
    rng = np.random.RandomState(0)
    X = (rng.randn(400, 8) @ rng.randn(8, 3000) * 30).astype(np.float32)
    ref = PCA(4, svd_solver="full").fit(X.astype(np.float64))
    pca = PCA(4, svd_solver="randomized", random_state=0).fit(da.from_array(X, chunks=(200, 500)))
    assert pca.components_.dtype == np.float32
    np.testing.assert_allclose(pca.explained_variance_, ref.explained_variance_, rtol=1e-3)


def _incomplete(seed=0, n=1200, d=9, fraction=0.15):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d) @ rng.randn(d, d) + 3.0
    X[rng.uniform(size=X.shape) < fraction] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 1.0
    return X


@pytest.mark.parametrize("solver", ["auto", "covariance_eigh", "full", "randomized"])
@pytest.mark.parametrize("seed", range(2))
def test_pca_with_nan_on_dask_equals_in_memory(solver, seed):
    # The solver's first pass finds the NaN; probabilistic PCA by EM then runs
    # over the chunks (any chunking of the features: whole rows are read).
    X = _incomplete(seed)
    ref = PCA(3, svd_solver=solver).fit(X)
    D = da.from_array(X, chunks=(250, 4))
    pca = PCA(3, svd_solver=solver).fit(D)
    assert pca.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(pca.components_, ref.components_, atol=1e-10)
    np.testing.assert_allclose(pca.mean_, ref.mean_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(pca.noise_variance_, ref.noise_variance_, rtol=1e-10)
    np.testing.assert_allclose(pca.log_likelihoods_, ref.log_likelihoods_, rtol=1e-10)
    Z = pca.transform(D)
    assert isinstance(Z, da.Array)
    np.testing.assert_allclose(Z.compute(), ref.transform(X), atol=1e-9)
    np.testing.assert_allclose(np.asarray(pca.score_samples(D)), ref.score_samples(X),
                               rtol=1e-10)
    fitted = PCA(3, svd_solver=solver).fit_transform(D)
    assert isinstance(fitted, da.Array)
    np.testing.assert_allclose(fitted.compute(), ref.transform(X), atol=1e-9)


def test_pca_with_nan_on_dask_refusals():
    X = _incomplete(2)
    bad = X.copy()
    bad[700, 2] = np.inf
    with pytest.raises(ValueError, match=r"infinity in chunk 2 of 5 \(rows 500 to 749\)"):
        PCA(3).fit(da.from_array(bad, chunks=(250, -1)))
    bad = X.copy()
    bad[1000] = np.nan
    with pytest.raises(ValueError, match=r"no observed entry.*chunk 4 of 5"):
        PCA(3).fit(da.from_array(bad, chunks=(250, -1)))
    with pytest.raises(ValueError, match="n_components an integer"):
        PCA(0.9).fit(da.from_array(X, chunks=(250, -1)))
