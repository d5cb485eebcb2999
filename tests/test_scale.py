"""Data at any realistic scale (issue 18): what is correct at unit scale is
correct at c X, for c from 2^-60 to 1e30, float32 and float64 where the
results are representable. Scale-equivariant estimators rescale internally by
a power of two (exact), so 2^k X gives the unit-scale result to rounding, and
report likelihoods in the user's units (log-Jacobian n_features log c)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

import skgen

# (dtype, c): float32 at 1e30 would need variances of 1e60, not representable.
CASES = [(np.float64, 2.0**-60), (np.float64, 255.0), (np.float64, 1e10),
         (np.float64, 1e30), (np.float32, 1e-17), (np.float32, 255.0),
         (np.float32, 1e10)]
IDS = [f"{d.__name__}-{c:g}" for d, c in CASES]


@pytest.fixture(scope="module")
def data():
    # Digits plus a little noise: no exact distance ties, near-constant pixels.
    X = load_digits().data[:200] / 16.0
    return X + np.random.RandomState(0).uniform(0, 1e-3, X.shape)


def _rtol(dtype):
    return 1e-4 if dtype == np.float32 else 1e-9


def _close(got, ref, dtype, what):
    got, ref = np.asarray(got, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert np.all(np.isfinite(got)), what
    err = np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-300)
    assert err < _rtol(dtype), f"{what}: relative error {err:.3g}"


@pytest.mark.parametrize("dtype,c", CASES, ids=IDS)
def test_pca(data, dtype, c):
    ref = skgen.PCA(5).fit(data)
    X = (data * c).astype(dtype)
    m = skgen.PCA(5).fit(X)
    d = X.shape[1]
    _close(np.abs(m.components_), np.abs(ref.components_), dtype, "components")
    _close(m.explained_variance_ / c**2, ref.explained_variance_, dtype, "variances")
    _close(m.mean_ / c, ref.mean_, dtype, "mean")
    _close(m.score(X) + d * np.log(c), ref.score(data), dtype, "score")
    _close(m.transform(X) / c, ref.transform(data), dtype, "transform")


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
@pytest.mark.parametrize("dtype,c", CASES, ids=IDS)
def test_gaussian_mixture(data, dtype, c, covariance_type):
    """Equivariant with reg_covar in the data's squared units (c^2 reg_covar).
    scikit-learn's GaussianMixture gives NaN at float32 1e-17; ours rescales."""
    kw = dict(n_components=3, covariance_type=covariance_type, random_state=0)
    ref = skgen.GaussianMixtureEM(**kw).fit(data)
    X = (data * c).astype(dtype)
    m = skgen.GaussianMixtureEM(reg_covar=1e-6 * c**2, **kw).fit(X)
    d = X.shape[1]
    rtol = 1e-3 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(m.means_ / c, ref.means_, rtol=rtol, atol=rtol)
    assert abs(m.score(X) + d * np.log(c) - ref.score(data)) < rtol * abs(ref.score(data))
    assert abs(m.lower_bound_ + d * np.log(c) - ref.lower_bound_) < rtol * 100
    np.testing.assert_array_equal(m.predict(X), ref.predict(data))


@pytest.mark.parametrize("algorithm,alpha", [("lasso_lars", 0.1), ("omp", None),
                                             ("lasso_cd", 0.1), ("threshold", 0.1)])
@pytest.mark.parametrize("dtype,c", CASES, ids=IDS)
def test_sparse_coder(data, dtype, c, algorithm, alpha):
    D = np.random.RandomState(1).randn(30, data.shape[1])
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    ref = skgen.SparseCoder(D, transform_algorithm=algorithm,
                            transform_alpha=alpha).transform(data)
    X = (data * c).astype(dtype)
    got = skgen.SparseCoder(D, transform_algorithm=algorithm,
                            transform_alpha=None if alpha is None else alpha * c
                            ).transform(X)
    tol = 1e-3 if dtype == np.float32 else 1e-7
    np.testing.assert_allclose(got / c, ref, atol=tol * np.abs(ref).max())


@pytest.mark.parametrize("dtype,c", CASES, ids=IDS)
def test_lle(data, dtype, c):
    kw = dict(n_neighbors=10, eigen_solver="dense")
    ref = skgen.LLE(**kw).fit(data)
    X = (data * c).astype(dtype)
    m = skgen.LLE(**kw).fit(X)
    _close(np.abs(m.embedding_), np.abs(ref.embedding_), dtype, "embedding")
    back = m.inverse_transform(m.embedding_[:5]) / c
    _close(back, ref.inverse_transform(ref.embedding_[:5]), dtype, "inverse")


@pytest.mark.parametrize("dtype,c", CASES, ids=IDS)
def test_tsne(data, dtype, c):
    """Bit for bit at powers of two; otherwise rounding differences grow over
    the optimisation, so the quality is compared (KL, trustworthiness)."""
    kw = dict(random_state=0, max_iter=250)
    ref = skgen.TSNE(**kw).fit(data)
    X = (data * c).astype(dtype)
    m = skgen.TSNE(**kw).fit(X)
    np.testing.assert_allclose(m.affinities_.toarray(), ref.affinities_.toarray(),
                               atol=1e-6 if dtype == np.float32 else 1e-12)
    if dtype == np.float64 and np.log2(c) == int(np.log2(c)):
        np.testing.assert_array_equal(m.embedding_, ref.embedding_)
    assert abs(m.kl_divergence_ - ref.kl_divergence_) < 0.05 * ref.kl_divergence_
    from sklearn.manifold import trustworthiness

    assert abs(trustworthiness(X.astype(np.float64), m.embedding_)
               - trustworthiness(data, ref.embedding_)) < 0.01
    # score places the rows anew by 250 more iterations each: looser.
    assert abs(m.score(X) - ref.score(data)) < 0.05


@pytest.mark.parametrize("dtype,c", CASES, ids=IDS)
def test_bernoulli_mixture(data, dtype, c):
    kw = dict(n_components=3, random_state=0)
    ref = skgen.BernoulliMixture(binarize=0.5, **kw).fit(data)
    X = (data * c).astype(dtype)
    m = skgen.BernoulliMixture(binarize=0.5 * c, **kw).fit(X)
    np.testing.assert_allclose(m.means_, ref.means_, atol=1e-6)


@pytest.mark.parametrize("c", [255.0, 1e10])
def test_dictionary_learning_agrees_with_sklearn_at_scale(data, c):
    """Dictionary learning's SVD start scales with X (scikit-learn's too), so it is
    not scale-equivariant; at each scale it gives scikit-learn's dictionary."""
    from sklearn.decomposition import DictionaryLearning as SkDL

    X = data * c
    kw = dict(n_components=8, alpha=0.5 * c, max_iter=5, random_state=0,
              transform_algorithm="lasso_lars")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, ref = skgen.DictionaryLearning(**kw).fit(X), SkDL(**kw).fit(X)
    np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-6)


NEURAL_CASES = [(np.float64, 1.0), (np.float64, 255.0), (np.float64, 1e6),
                (np.float64, 1e-6), (np.float64, 1e30), (np.float32, 1e-17)]


@pytest.mark.parametrize("dtype,c", NEURAL_CASES,
                         ids=[f"{d.__name__}-{c:g}" for d, c in NEURAL_CASES])
def test_autoencoders_same_quality_at_any_scale(dtype, c):
    """The issue's VAE scored -1.5e19 nats on X * 255 and NaN at X * 1000.
    Same quality in nats (with the Jacobian) and in squared units."""
    X = np.random.RandomState(0).rand(200, 6)
    kw = dict(random_state=0, max_iter=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae_ref = skgen.VAE(**kw).fit(X).score(X)
        dae_ref = skgen.DenoisingAE(**kw).fit(X).score(X)
        Xc = (X * c).astype(dtype)
        vae = skgen.VAE(**kw).fit(Xc)
        dae = skgen.DenoisingAE(**kw).fit(Xc)
    assert abs(vae.score(Xc) + 6 * np.log(c) - vae_ref) < 0.4
    assert dae.score(Xc) / c**2 == pytest.approx(dae_ref, rel=0.35)
    assert np.all(np.isfinite(vae.sample(5, random_state=0)))
    assert np.all(np.isfinite(dae.sample(5, random_state=0)))
    back = vae.inverse_transform(vae.transform(Xc[:5]))
    assert np.all(np.isfinite(back)) and np.max(np.abs(back)) < 10 * c


def test_autoencoders_power_of_two_is_exact():
    X = np.random.RandomState(0).rand(100, 6)
    kw = dict(random_state=0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = skgen.VAE(**kw).fit(X), skgen.VAE(**kw).fit(X * 2.0**40)
    # log p(x) = log p(x 2^-40) - 6 * 40 log 2, the networks' input identical.
    assert b.score(X * 2.0**40) + 6 * 40 * np.log(2) == pytest.approx(a.score(X),
                                                                      abs=1e-9)


def test_vae_far_from_training_data_is_finite():
    """A model fitted on rand(30, 6) scored NaN on rand + 300."""
    rng = np.random.RandomState(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae = skgen.VAE(random_state=0, max_iter=20).fit(rng.rand(30, 6))
    assert np.all(np.isfinite(vae.score_samples(rng.rand(30, 6) + 300)))


@pytest.mark.parametrize("make", [lambda: skgen.PCA(2), lambda: skgen.LLE(n_neighbors=5),
                                  lambda: skgen.GaussianMixtureEM(2, random_state=0)],
                         ids=["PCA", "LLE", "GaussianMixtureEM"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_acceptance_does_not_depend_on_the_batch(make, dtype):
    """A limit is decided per row: a row accepted alone is accepted among 20000
    rows (the old limit sqrt(max / (rows x features)) refused it there)."""
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4).astype(dtype)
    model = make().fit(X)
    compute = np.float64 if isinstance(model, skgen.LLE) else dtype
    limit = np.sqrt(np.finfo(compute).max / 4)
    big = min(0.4 * limit, 0.1 * np.finfo(dtype).max)
    row = np.full((1, 4), big, dtype=dtype)
    method = model.transform if hasattr(model, "transform") else model.score_samples
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        alone = method(row)
        many = method(np.repeat(row, 20000, axis=0))
    np.testing.assert_allclose(many[:1], alone, rtol=1e-5)
    if limit < 4 * big < np.finfo(dtype).max:
        with pytest.raises(ValueError, match="overflow"):
            method(row * 4)
