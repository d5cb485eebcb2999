"""Mixtures on dask arrays: equal to the in-memory fit from the same start, weighted
fits, lazy outputs, initialisations, bad input, and a worker killed mid-fit."""

import os
import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp

import skgen
from skgen import BernoulliMixture, GaussianMixtureEM

da = pytest.importorskip("dask.array")

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
# Regular, uneven with a single-row chunk, and features split over chunks
# (rechunked to whole rows by the fit).
CHUNKINGS = {
    "regular": (100, -1),
    "uneven": ((1, 499, 300, 700), -1),
    "split-features": (250, 2),
}


def _blobs(seed=0, n=1500, d=4):
    rng = np.random.RandomState(seed)
    centres = rng.randn(3, d) * 4
    return np.concatenate([rng.randn(n // 3, d) @ rng.randn(d, d) * 0.5 + c for c in centres])


def _start(X, covariance_type):
    """Initial parameters from a short in-memory fit."""
    ref = GaussianMixtureEM(3, covariance_type=covariance_type, max_iter=2, random_state=0)
    ref.fit(X)
    return {"weights_init": ref.weights_, "means_init": ref.means_,
            "precisions_init": ref.precisions_}


def _assert_same_fit(a, b, rtol_bound=1e-10, atol=1e-8):
    assert abs(a.lower_bound_ - b.lower_bound_) <= rtol_bound * abs(a.lower_bound_)
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=rtol_bound)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=atol,
                                   err_msg=name)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("chunking", sorted(CHUNKINGS))
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dask_fit_equals_in_memory_fit(covariance_type, chunking, seed):
    # Lower bound within 1e-10 relative, parameters within 1e-8, float64.
    X = _blobs(seed)
    init = _start(X, covariance_type)
    kw = dict(covariance_type=covariance_type, max_iter=15, tol=0, **init)
    ref = GaussianMixtureEM(3, **kw).fit(X)
    fit = GaussianMixtureEM(3, **kw).fit(da.from_array(X, chunks=CHUNKINGS[chunking]))
    assert fit.n_iter_ == ref.n_iter_ == 15
    _assert_same_fit(ref, fit)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_dask_fit_on_a_cluster_equals_in_memory_fit(client, covariance_type):
    X = _blobs(1)
    init = _start(X, covariance_type)
    kw = dict(covariance_type=covariance_type, max_iter=10, tol=0, **init)
    ref = GaussianMixtureEM(3, **kw).fit(X)
    Xd = da.from_array(X, chunks=((1, 299, 600, 600), -1))
    fit = GaussianMixtureEM(3, **kw).fit(Xd)
    _assert_same_fit(ref, fit)
    labels = fit.predict(Xd)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), ref.predict(X))
    assert fit.score(Xd) == pytest.approx(ref.score(X), rel=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
def test_bernoulli_dask_fit_equals_in_memory(sparse):
    rng = np.random.RandomState(0)
    prototypes = rng.rand(3, 20)
    X = (rng.rand(900, 20) < prototypes[rng.randint(3, size=900)]).astype(float)
    ref0 = BernoulliMixture(3, random_state=0, max_iter=2).fit(X)
    kw = dict(max_iter=10, tol=0, weights_init=ref0.weights_, means_init=ref0.means_)
    ref = BernoulliMixture(3, **kw).fit(X)
    Xd = da.from_array(X, chunks=((1, 299, 600), -1))
    if sparse:
        Xd = Xd.map_blocks(sp.csr_matrix)
    fit = BernoulliMixture(3, **kw).fit(Xd)
    assert abs(fit.lower_bound_ - ref.lower_bound_) <= 1e-10 * abs(ref.lower_bound_)
    np.testing.assert_allclose(fit.means_, ref.means_, atol=1e-8, rtol=0)
    np.testing.assert_allclose(fit.weights_, ref.weights_, atol=1e-8, rtol=0)
    proba = fit.predict_proba(Xd)
    assert isinstance(proba, da.Array)
    np.testing.assert_allclose(proba.compute(), ref.predict_proba(X), atol=1e-10)
    # Thresholding happens chunk by chunk as in memory.
    grey = X * 0.8 + 0.1
    kw_b = dict(kw, binarize=0.5)
    ref_b = BernoulliMixture(3, **kw_b).fit(grey)
    fit_b = BernoulliMixture(3, **kw_b).fit(da.from_array(grey, chunks=(200, -1)))
    np.testing.assert_allclose(fit_b.means_, ref_b.means_, atol=1e-8, rtol=0)


@pytest.mark.parametrize("dask_input", [False, True])
@pytest.mark.parametrize("estimator", ["gaussian", "bernoulli"])
def test_integer_weights_equal_repeated_rows_and_zero_weights_dropped_rows(estimator, dask_input):
    rng = np.random.RandomState(3)
    if estimator == "gaussian":
        X = _blobs(2, n=600)
        start = _start(X, "full")
        make = lambda: GaussianMixtureEM(3, max_iter=8, tol=0, **start)  # noqa: E731
    else:
        X = (rng.rand(600, 12) < 0.3).astype(float)
        ref0 = BernoulliMixture(3, random_state=0, max_iter=1).fit(X)
        make = lambda: BernoulliMixture(  # noqa: E731
            3, max_iter=8, tol=0, weights_init=ref0.weights_, means_init=ref0.means_)
    w = rng.randint(0, 4, size=X.shape[0]).astype(float)
    repeated = np.repeat(X, w.astype(int), axis=0)
    wrap = (lambda A: da.from_array(A, chunks=(128, -1))) if dask_input else (lambda A: A)
    weighted = make().fit(wrap(X), sample_weight=wrap(w[:, None])[:, 0] if dask_input else w)
    ref = make().fit(repeated)
    assert weighted.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(weighted.means_, ref.means_, atol=1e-8, rtol=0)
    np.testing.assert_allclose(weighted.weights_, ref.weights_, atol=1e-8, rtol=0)
    if estimator == "gaussian":
        np.testing.assert_allclose(weighted.covariances_, ref.covariances_, atol=1e-8, rtol=0)


def test_weights_enter_the_initialisation():
    # Rows of weight zero are never chosen as starting points, and k-means
    # starts are weighted; in memory and on dask.
    X = _blobs(4, n=300)
    w = np.zeros(X.shape[0])
    keep = [5, 150, 250]
    w[keep] = 1.0
    for data in (X, da.from_array(X, chunks=(64, -1))):
        gm = GaussianMixtureEM(3, init_params="random_from_data", max_iter=0, random_state=0)
        gm.fit(data, sample_weight=w)
        np.testing.assert_allclose(np.sort(gm.means_, axis=0), np.sort(X[keep], axis=0))


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_initialisation_on_dask_reaches_the_in_memory_optimum(init_params):
    X = _blobs(5, n=1200)
    kw = dict(init_params=init_params, random_state=0, n_init=3, max_iter=200)
    ref = GaussianMixtureEM(3, **kw).fit(X)
    fit = GaussianMixtureEM(3, **kw).fit(da.from_array(X, chunks=(200, -1)))
    assert fit.converged_
    assert fit.lower_bound_ == pytest.approx(ref.lower_bound_, abs=1e-4)


def test_outputs_are_lazy_and_chunk_aligned():
    X = _blobs(6)
    Xd = da.from_array(X, chunks=((1, 499, 1000), -1))
    gm = GaussianMixtureEM(3, random_state=0).fit(X)
    for method, expected_ndim in [("predict", 1), ("predict_proba", 2), ("transform", 2),
                                  ("score_samples", 1)]:
        out = getattr(gm, method)(Xd)
        assert isinstance(out, da.Array)
        assert out.chunks[0] == Xd.chunks[0]
        assert out.ndim == expected_ndim
        np.testing.assert_allclose(out.compute(), getattr(gm, method)(X), rtol=1e-12, atol=1e-12)
    assert gm.score(Xd) == pytest.approx(gm.score(X), rel=1e-12)
    assert gm.bic(Xd) == pytest.approx(gm.bic(X), rel=1e-12)
    assert gm.aic(Xd) == pytest.approx(gm.aic(X), rel=1e-12)
    # The lazy result keeps the model it was asked of.
    proba = gm.predict_proba(Xd)
    before = gm.predict_proba(X)
    gm.set_params(random_state=1, n_components=2).fit(X)
    np.testing.assert_allclose(proba.compute(), before)
    # fit_predict equals fit().predict(), lazily.
    kw = dict(random_state=0, init_params="random_from_data")
    labels = GaussianMixtureEM(3, **kw).fit_predict(Xd)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(
        labels.compute(), GaussianMixtureEM(3, **kw).fit(Xd).predict(Xd).compute())
    sampled, _ = gm.sample(5)
    assert sampled.shape == (5, X.shape[1])


def test_float32_stays_float32_on_dask():
    X = _blobs(7).astype(np.float32)
    gm = GaussianMixtureEM(3, random_state=0).fit(da.from_array(X, chunks=(300, -1)))
    assert gm.means_.dtype == np.float32
    assert gm.predict_proba(da.from_array(X, chunks=300)).dtype == np.float32


def test_bad_values_in_one_chunk_name_the_chunk():
    X = _blobs()
    # NaN is a missing entry for the mixtures (test_missing); infinity is refused.
    X[650, 1] = np.inf
    Xd = da.from_array(X, chunks=(300, -1))
    with pytest.raises(ValueError, match=r"infinity in chunk 2 of 5 \(rows 600 to 899\)"):
        GaussianMixtureEM(3, random_state=0).fit(Xd)
    with pytest.raises(ValueError, match="chunk 2 of 5"):
        BernoulliMixture(3, binarize=0.0, random_state=0).fit(Xd)
    gm = GaussianMixtureEM(3, random_state=0).fit(_blobs())
    with pytest.raises(ValueError, match="chunk 2 of 5"):
        gm.predict(Xd).compute()
    X[650, 1] = 1e300
    with pytest.raises(ValueError, match="chunk 2 of 5"):
        GaussianMixtureEM(3, random_state=0).fit(da.from_array(X, chunks=(300, -1)))


def test_bad_dask_input():
    X = da.from_array(_blobs(), chunks=(300, -1))
    unknown = X[X[:, 0] > -np.inf]
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        GaussianMixtureEM(3).fit(unknown)
    with pytest.raises(ValueError, match="Expected 2D array"):
        GaussianMixtureEM(3).fit(X[:, 0])
    with pytest.raises(ValueError, match="sample_weight.shape"):
        GaussianMixtureEM(3).fit(X, sample_weight=np.ones(7))
    w = np.ones(X.shape[0])
    w[900] = -1
    with pytest.raises(ValueError, match="Negative values"):
        GaussianMixtureEM(3).fit(X, sample_weight=w)
    wd = da.from_array(w, chunks=300)
    with pytest.raises(ValueError, match="Negative values.*chunk 3"):
        GaussianMixtureEM(3, init_params="random").fit(X, sample_weight=wd)
    with pytest.raises(ValueError, match="non-zero"):
        GaussianMixtureEM(3).fit(X.compute(), sample_weight=np.zeros(X.shape[0]))
    gm = GaussianMixtureEM(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        gm.predict(da.ones((10, 3), chunks=5))


def test_worker_killed_mid_fit_gives_the_same_model_or_an_error(private_client):
    client = private_client
    # Dask recomputes the chunks a dead worker held (the tasks are pure): the fit
    # completes with the same model, or raises; never a silently different one.
    X = _blobs(8, n=3000)
    init = _start(X, "full")
    kw = dict(max_iter=12, tol=0, **init)
    ref = GaussianMixtureEM(3, **kw).fit(X)
    Xd = da.from_array(X, chunks=(30, -1))  # 100 chunks: the fit takes seconds
    done = threading.Event()
    killed = []

    def kill_one_worker():
        # Deterministic: kill as soon as the scheduler has the fit's tasks running
        # (a fixed sleep failed when the fit ended first).
        while not done.is_set():
            if any(client.processing().values()):
                break
            time.sleep(0.005)
        if done.is_set():
            return
        victim = sorted(client.scheduler_info()["workers"])[0]
        try:
            client.run(os._exit, 1, workers=[victim])
        except Exception:  # the dying worker drops the connection
            pass
        killed.append(victim)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    try:
        fit = GaussianMixtureEM(3, **kw).fit(Xd)
    except Exception as error:
        # A clear error is allowed: dask's own, for the lost worker.
        assert type(error).__module__.split(".")[0] in ("distributed", "dask"), repr(error)
        fit = None
    finally:
        done.set()
        killer.join()
    assert killed, "the fit ended before a worker was killed: make it longer"
    if fit is not None:
        _assert_same_fit(ref, fit)


def test_import_skgen_imports_no_dask():
    import subprocess
    import sys

    code = "import sys, skgen; print('dask' in sys.modules, 'jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
    assert skgen.GaussianMixtureEM is GaussianMixtureEM


def _with_missing(X, fraction=0.15, seed=0):
    rng = np.random.RandomState(seed)
    X = X.copy()
    X[rng.uniform(size=X.shape) < fraction] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0
    return X


@pytest.mark.parametrize("chunking", ["regular", "uneven"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dask_fit_with_missing_values_equals_in_memory(covariance_type, chunking):
    X = _with_missing(_blobs(1))
    filled = np.where(np.isnan(X), np.nanmean(X, axis=0), X)
    init = _start(filled, covariance_type)
    kw = dict(covariance_type=covariance_type, max_iter=10, tol=0, **init)
    ref = GaussianMixtureEM(3, **kw).fit(X)
    Xd = da.from_array(X, chunks=CHUNKINGS[chunking])
    fit = GaussianMixtureEM(3, **kw).fit(Xd)
    _assert_same_fit(ref, fit)
    np.testing.assert_allclose(fit.score_samples(Xd).compute(), ref.score_samples(X),
                               rtol=1e-10)
    np.testing.assert_allclose(fit.predict_proba(Xd).compute(), ref.predict_proba(X),
                               atol=1e-9)


def test_dask_start_with_missing_values_and_bad_chunks(client):
    X = _with_missing(_blobs(2))
    model = GaussianMixtureEM(3, random_state=0).fit(da.from_array(X, chunks=(300, -1)))
    assert np.isfinite(model.lower_bound_)
    # The in-memory start fills with the same column means: the same local optimum.
    assert model.lower_bound_ == pytest.approx(
        GaussianMixtureEM(3, random_state=0).fit(X).lower_bound_, abs=1e-3)
    bad = X.copy()
    bad[1210] = np.nan
    with pytest.raises(ValueError, match="no observed entry.*chunk 4 of 5"):
        GaussianMixtureEM(3).fit(da.from_array(bad, chunks=(300, -1)))
    bad = X.copy()
    bad[5, 2] = np.inf
    with pytest.raises(ValueError, match="infinity in chunk 0"):
        GaussianMixtureEM(3).fit(da.from_array(bad, chunks=(300, -1)))
