"""VAE and DenoisingAE streaming a dask array."""

import jax
import numpy as np
import pytest
from sklearn.datasets import load_digits

from skgen import VAE, DenoisingAE

da = pytest.importorskip("dask.array")

KW = dict(n_components=4, hidden_layer_sizes=(32,), max_iter=3, random_state=0)


@pytest.fixture(scope="module")
def digits():
    X = (load_digits().data / 16).astype(np.float32)
    return np.concatenate([X] * 4)


def _max_diff(a, b):
    return max(float(np.abs(x - y).max()) for x, y in
               zip(jax.tree_util.tree_leaves(a.params_), jax.tree_util.tree_leaves(b.params_)))


@pytest.mark.parametrize("cls,extra", [(VAE, {"likelihood": "bernoulli"}), (DenoisingAE, {})])
def test_streamed_fit_is_reproducible_and_learns_as_in_memory(digits, cls, extra):
    Xd = da.from_array(digits, chunks=(1500, -1))
    a = cls(**KW, **extra).fit(Xd)
    b = cls(**KW, **extra).fit(Xd)
    assert _max_diff(a, b) == 0.0  # same seed, same chunking: same model
    memory = cls(**KW, **extra).fit(digits)
    assert a.n_iter_ == memory.n_iter_ == 3
    # Other batches (chunk order, windowed shuffle) than in memory; the same fit quality.
    assert a.loss_curve_[-1] == pytest.approx(memory.loss_curve_[-1], rel=0.02)
    assert a.loss_curve_[-1] < a.loss_curve_[0]
    other = cls(**KW, **extra).fit(da.from_array(digits, chunks=(1000, -1)))
    assert _max_diff(a, other) > 0  # the chunking sets the batches


def test_early_stopping_holds_out_chunks_and_partial_fit_streams(digits):
    Xd = da.from_array(digits, chunks=(700, -1))
    vae = VAE(early_stopping=True, **KW, likelihood="bernoulli").fit(Xd)
    assert len(vae.validation_scores_) == 3
    assert np.isfinite(vae.validation_scores_).all()
    vae.partial_fit(Xd)
    assert vae.n_iter_ == 4
    with pytest.raises(ValueError, match="3 features, but VAE is expecting 64"):
        vae.partial_fit(da.ones((10, 3), chunks=5))
    with pytest.raises(ValueError, match="at least 2 row chunks"):
        VAE(early_stopping=True, **KW).fit(da.from_array(digits))


def test_bad_chunks_stop_training_and_keep_no_nan_parameters(digits):
    bad = digits.copy()
    bad[4000, 3] = np.inf  # NaN is a missing entry; infinity is refused
    vae = VAE(**KW, likelihood="bernoulli")
    with pytest.raises(ValueError, match=r"chunk 2 of 5 \(rows 3000 to 4499\)"):
        vae.fit(da.from_array(bad, chunks=(1500, -1)))
    assert not hasattr(vae, "params_")
    fitted = VAE(**KW, likelihood="bernoulli").fit(digits)
    before = jax.tree_util.tree_leaves(fitted.params_)
    with pytest.raises(ValueError, match="chunk 2 of 5"):
        fitted.partial_fit(da.from_array(bad, chunks=(1500, -1)))
    after = jax.tree_util.tree_leaves(fitted.params_)
    assert all(np.array_equal(x, y) for x, y in zip(before, after))
    assert all(np.isfinite(x).all() for x in after)
    out_of_range = digits.copy()
    out_of_range[4000, 3] = 2.0
    with pytest.raises(ValueError, match="needs X in \\[0, 1\\].*chunk 2 of 5"):
        VAE(**KW, likelihood="bernoulli").fit(da.from_array(out_of_range, chunks=(1500, -1)))
    unknown = da.from_array(digits, chunks=(1500, -1))
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        VAE(**KW).fit(unknown[unknown[:, 0] >= 0])


@pytest.mark.parametrize("cls,extra", [(VAE, {"likelihood": "bernoulli"}), (DenoisingAE, {})])
def test_outputs_of_a_dask_array_are_lazy_and_equal_in_memory(digits, cls, extra):
    model = cls(**KW, **extra).fit(digits[:2000])
    Xd = da.from_array(digits, chunks=((1, 2999, 3000, 1188), -1))
    Z = model.transform(Xd)
    assert isinstance(Z, da.Array) and Z.chunks[0] == Xd.chunks[0]
    np.testing.assert_allclose(Z.compute(), model.transform(digits), rtol=0, atol=1e-6)
    back = model.inverse_transform(Z)
    assert isinstance(back, da.Array)
    np.testing.assert_allclose(back.compute(), model.inverse_transform(model.transform(digits)),
                               atol=1e-6)
    assert model.score(Xd) == pytest.approx(model.score(digits), rel=1e-6)
    if cls is VAE:
        scores = model.score_samples(Xd)
        assert isinstance(scores, da.Array)
        np.testing.assert_allclose(scores.compute(), model.score_samples(digits), rtol=1e-6)
    with pytest.raises(ValueError, match="expected n_components"):
        model.inverse_transform(da.ones((5, 7), chunks=5))
