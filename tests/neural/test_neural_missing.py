"""The autoencoders with missing values: the likelihood / loss over the observed
entries, the encoder fed zero-filled input (MIWAE, Mattei & Frellsen 2019)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_digits

from skgen import VAE, DenoisingAE
from skgen.neural._dae import DAESpec, reconstruction_loss
from skgen.neural._steps import spec_for
from skgen.neural._vae import VAESpec, log_likelihood


@pytest.fixture(scope="module")
def digits():
    X = load_digits().data[:500] / 16.0
    rng = np.random.RandomState(0)
    Xm = X.copy()
    Xm[rng.uniform(size=X.shape) < 0.3] = np.nan
    return X, Xm


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_masked_likelihood_sums_the_observed_entries(likelihood):
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(6, 5)).astype(np.float32)
    out = rng.randn(6, 5).astype(np.float32)
    missing = rng.uniform(size=X.shape) < 0.4
    Xm = np.where(missing, np.nan, X).astype(np.float32)
    spec = VAESpec("vae", 2, (), "relu", likelihood, False)
    hyper = {"sigma": jnp.float32(0.7)}
    per_entry = np.stack([np.asarray(log_likelihood(spec, {}, X[:, j:j + 1], out[:, j:j + 1],
                                                    hyper)) for j in range(5)], axis=1)
    masked = np.asarray(log_likelihood(spec._replace(missing=True), {}, jnp.asarray(Xm),
                                       jnp.asarray(out), hyper))
    np.testing.assert_allclose(masked, np.where(missing, 0, per_entry).sum(axis=1),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_dae_loss_averages_the_observed_entries(loss):
    rng = np.random.RandomState(1)
    X = rng.uniform(size=(6, 5)).astype(np.float32)
    out = rng.randn(6, 5).astype(np.float32)
    missing = rng.uniform(size=X.shape) < 0.4
    missing[:, 0] = False
    spec = DAESpec("dae", 2, (), "relu", loss, "masking")
    terms = np.stack([np.asarray(reconstruction_loss(spec, X[:, j:j + 1], out[:, j:j + 1]))
                      for j in range(5)], axis=1)
    got = np.asarray(reconstruction_loss(spec, jnp.asarray(np.where(missing, np.nan, X)),
                                         jnp.asarray(out)))
    expected = np.where(missing, 0, terms).sum(axis=1) / (~missing).sum(axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_complete_data_keep_the_unmasked_model():
    spec = VAESpec("vae", 2, (), "relu", "gaussian", True)
    assert spec_for(spec, np.ones((3, 2))) is spec
    assert spec_for(spec, np.array([[1.0, np.nan]])).missing
    dae = DAESpec("dae", 2, (), "relu", "mse", "gaussian")
    assert spec_for(dae, np.array([[1.0, np.nan]])) is dae


@pytest.mark.parametrize("cls,kw", [(VAE, {"likelihood": "bernoulli"}),
                                    (VAE, {"likelihood": "gaussian"}),
                                    (DenoisingAE, {"loss": "bce"}),
                                    (DenoisingAE, {"loss": "mse"})])
def test_fit_and_score_with_missing_values(digits, cls, kw):
    X, Xm = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cls(n_components=4, hidden_layer_sizes=(32,), max_iter=15, random_state=0,
                    **kw).fit(Xm)
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    Z = model.transform(Xm)
    assert np.all(np.isfinite(Z))
    # The encoder sees a missing entry as 0.
    np.testing.assert_array_equal(Z, model.transform(np.nan_to_num(Xm)))
    assert np.isfinite(model.score(Xm))
    if hasattr(model, "score_samples"):
        assert np.all(np.isfinite(model.score_samples(Xm)))
    samples = model.sample(5, random_state=0)
    assert not np.isnan(samples).any()


def test_missing_value_refusals(digits):
    _, Xm = digits
    bad = Xm.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="no observed entry"):
        VAE(max_iter=1).fit(bad)
    bad = Xm.copy()
    bad[3, 3] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        DenoisingAE(max_iter=1).fit(bad)


def test_dask_input_with_missing_values(digits):
    da = pytest.importorskip("dask.array")
    _, Xm = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = VAE(n_components=3, hidden_layer_sizes=(16,), max_iter=3,
                    random_state=0).fit(da.from_array(Xm, chunks=(125, -1)))
    scores = model.score_samples(da.from_array(Xm, chunks=(125, -1)))
    np.testing.assert_allclose(scores.compute(), model.score_samples(Xm), rtol=1e-6)
    assert jax.devices()  # JAX still usable afterwards
