"""TSNE: kernels against NumPy references and finite differences, the
approximate gradients against the exact one, the estimator, and bad input."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits, make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier

from skgen import TSNE
from skgen.manifold import kl_divergence
from skgen.manifold import _tsne_optimise as tsne_module
from skgen.manifold._tsne_optimise import Repulsion as _Repulsion, _morton_order, _tree
from skgen.manifold._tsne_affinity_kernels import (conditional_probabilities,
                                           joint_probabilities)
from skgen.manifold._tsne_gradients import (attractive_forces, bh_repulsive, build_tree,
                                            exact_repulsive, gradient_step)


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


# --- references ---------------------------------------------------------------------

def _kernel(Y, dof):
    d2 = np.sum((Y[:, None] - Y[None]) ** 2, axis=-1)
    w = (1 + d2 / dof) ** -dof
    np.fill_diagonal(w, 0)
    return d2, w


def _kl(P, Y, dof):
    _, w = _kernel(Y, dof)
    Q = w / w.sum()
    mask = P > 0
    return np.sum(P[mask] * np.log(P[mask] / Q[mask]))


def _gradient(P, Y, dof):
    """dKL/dY from the kernels, as the numba functions return it (factor 4 off)."""
    P = sp.csr_matrix(P)
    a = np.empty_like(Y)
    r = np.empty_like(Y)
    z = np.empty(len(Y))
    attractive_forces(P.indptr, P.indices, P.data, Y, Y, dof, 1.0, a)
    exact_repulsive(Y, Y, True, dof, r, z)
    return a - r / z.sum()


def _random_P(n, rng):
    P = rng.rand(n, n) * (rng.rand(n, n) < 0.3)
    P = P + P.T
    np.fill_diagonal(P, 0)
    return P / P.sum()


# --- affinities ------------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(n=st.integers(5, 40), k=st.integers(4, 30), scale=st.sampled_from([1e-3, 1, 1e3]),
       seed=st.integers(0, 2**16))
def test_perplexity_calibration_hits_the_target_entropy(n, k, scale, seed):
    rng = np.random.RandomState(seed)
    sq = (rng.rand(n, k) * scale) ** 2
    perplexity = rng.uniform(1.5, k - 0.5)
    out = np.empty((n, k))
    betas = np.empty(n)
    conditional_probabilities(sq, np.log(perplexity), 1e-8, 200, out, betas)
    entropy = -np.sum(np.where(out > 0, out * np.log(np.where(out > 0, out, 1)), 0),
                      axis=1)
    np.testing.assert_allclose(entropy, np.log(perplexity), atol=1e-5)
    np.testing.assert_allclose(out.sum(1), 1, atol=1e-12)
    # The rows are the Gaussians of the precisions found (NumPy reference).
    ref = np.exp(-betas[:, None] * (sq - sq.min(1, keepdims=True)))
    np.testing.assert_allclose(out, ref / ref.sum(1, keepdims=True), rtol=1e-10,
                               atol=1e-300)


def test_joint_probabilities_symmetric_and_normalised(digits):
    X = digits[0][:300]
    ind = np.argsort(np.sum((X[:, None] - X[None]) ** 2, -1), axis=1)[:, 1:31]
    sq = np.take_along_axis(np.sum((X[:, None] - X[None]) ** 2, -1), ind, 1)
    P, cond = joint_probabilities(ind.astype(np.int64), sq, 10.0)
    assert abs(P.sum() - 1) < 1e-12
    assert abs(P - P.T).max() < 1e-15
    dense = np.zeros((300, 300))
    np.put_along_axis(dense, ind, cond, axis=1)
    np.testing.assert_allclose(P.toarray(), (dense + dense.T) / 600, atol=1e-15)


def test_duplicate_rows_do_not_break_calibration():
    sq = np.zeros((3, 6))  # all neighbours coincide
    out = np.empty((3, 6))
    conditional_probabilities(sq, np.log(2.0), 1e-8, 200, out, np.empty(3))
    np.testing.assert_allclose(out, 1 / 6)


# --- exact gradient -----------------------------------------------------------------------

@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("dof", [1.0, 0.5])
def test_exact_gradient_matches_finite_differences(dim, dof):
    rng = np.random.RandomState(dim)
    n = 30
    P = _random_P(n, rng)
    Y = rng.randn(n, dim)
    grad = 4 * _gradient(P, Y, dof)  # the true KL gradient
    fd = np.empty_like(Y)
    h = 1e-6
    for i in range(n):
        for c in range(dim):
            Yp, Ym = Y.copy(), Y.copy()
            Yp[i, c] += h
            Ym[i, c] -= h
            fd[i, c] = (_kl(P, Yp, dof) - _kl(P, Ym, dof)) / (2 * h)
    assert np.linalg.norm(grad - fd) / np.linalg.norm(fd) < 1e-6


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("with_kl", [False, True])
def test_attractive_forces_pooled_match_the_parfor_and_numpy(dim, with_kl):
    """The thread-pool path (with the exact repulsion) and the parfor run the
    same row kernel: bit-identical forces, the same KL sum up to its order;
    both against NumPy."""
    rng = np.random.RandomState(dim)
    n, dof = 300, 1.0
    Y = rng.randn(n, dim)
    P = _random_P(n, rng)
    Ps = sp.csr_matrix(P)
    a, b = np.empty_like(Y), np.empty_like(Y)
    s_par = attractive_forces(Ps.indptr, Ps.indices, Ps.data, Y, Y, dof, 2.0, a, with_kl)
    s_pool = attractive_forces(Ps.indptr, Ps.indices, Ps.data, Y, Y, dof, 2.0, b, with_kl,
                               pooled=True)
    np.testing.assert_array_equal(a, b)
    d2, _ = _kernel(Y, dof)
    r = 1 / (1 + d2 / dof)
    diff = Y[:, None] - Y[None]
    np.testing.assert_allclose(b, 2.0 * np.einsum("ij,ij,ijc->ic", P, r, diff), rtol=1e-12)
    if with_kl:
        mask = P > 0
        expected = np.sum(P[mask] * np.log(((1 + d2 / dof) ** -dof)[mask]))
        assert s_pool == pytest.approx(expected, rel=1e-12)
        assert s_par == pytest.approx(expected, rel=1e-12)
    else:
        assert s_pool == 0.0 and s_par == 0.0


def test_kernels_match_numpy_references():
    rng = np.random.RandomState(0)
    n, dof = 40, 0.7
    Y = rng.randn(n, 2)
    P = _random_P(n, rng)
    d2, w = _kernel(Y, dof)
    r = 1 / (1 + d2 / dof)
    diff = Y[:, None] - Y[None]
    Ps = sp.csr_matrix(P)
    a = np.empty_like(Y)
    s = attractive_forces(Ps.indptr, Ps.indices, Ps.data, Y, Y, dof, 3.0, a)
    np.testing.assert_allclose(a, 3.0 * np.einsum("ij,ij,ijc->ic", P, r, diff),
                               rtol=1e-12)
    mask = P > 0
    np.testing.assert_allclose(s, np.sum(P[mask] * np.log(((1 + d2 / dof) ** -dof)[mask])),
                               rtol=1e-12)
    rep = np.empty_like(Y)
    z = np.empty(n)
    exact_repulsive(Y, Y, True, dof, rep, z)
    np.testing.assert_allclose(rep, np.einsum("ij,ij,ijc->ic", w, r, diff), rtol=1e-12)
    np.testing.assert_allclose(z, w.sum(1), rtol=1e-12)
    assert kl_divergence(Ps, Y, dof) == pytest.approx(_kl(P, Y, dof), rel=1e-10)


def test_gradient_step_matches_numpy():
    rng = np.random.RandomState(1)
    Y, g, u = rng.randn(50, 2), rng.randn(50, 2), rng.randn(50, 2)
    u[0] = 0.0
    gains = rng.uniform(0.5, 2, (50, 2))
    Y0, u0, gains0 = Y.copy(), u.copy(), gains.copy()
    gradient_step(Y, g, u, gains, 0.8, 3.0, 0.01, 1.5, True)
    flip = np.sign(g) != np.sign(u0)
    ref_gains = np.where(flip, gains0 + 0.2, np.maximum(gains0 * 0.8, 0.01))
    ref_u = 0.8 * u0 - 3.0 * ref_gains * g
    norm = np.linalg.norm(ref_u, axis=1, keepdims=True)
    ref_u = np.where(norm > 1.5, ref_u * 1.5 / norm, ref_u)
    ref_Y = Y0 + ref_u
    np.testing.assert_allclose(gains, ref_gains, rtol=1e-14)
    np.testing.assert_allclose(u, ref_u, rtol=1e-12)
    np.testing.assert_allclose(Y, ref_Y - ref_Y.mean(0), atol=1e-12)


# --- Barnes-Hut tree and the approximate gradients ----------------------------------------

@pytest.mark.parametrize("dim", [1, 2, 3])
def test_tree_root_holds_every_point_and_their_mean(dim):
    rng = np.random.RandomState(dim)
    Y = np.vstack([rng.randn(200, dim), np.zeros((5, dim))])  # with duplicates
    n_nodes, centre, half, com, count, child, point = build_tree(Y, 10000)
    assert n_nodes > 0
    assert count[0] == len(Y)
    np.testing.assert_allclose(com[0], Y.mean(0), atol=1e-12)
    leaves = (child[:n_nodes] < 0) & (count[:n_nodes] > 0)
    assert count[:n_nodes][leaves].sum() == len(Y)


def test_tree_too_small_for_its_points_says_so():
    """build_tree returns -1 when its node budget runs out (_tree then grows it)."""
    Y = np.random.RandomState(0).randn(50, 2)
    assert build_tree(Y, 8)[0] == -1
    centre, half, com, count, child = _tree(Y)
    assert count[0] == 50


@pytest.fixture(scope="module")
def digits_P(digits):
    X = digits[0][:1000]
    return TSNE(method="barnes_hut", max_iter=1, random_state=0).fit(X).affinities_


def _gradient_error(P, Y, method, angle, exaggeration=1.0):
    """Relative error of the whole gradient (exaggerated attraction - repulsion)
    against the exact one; the FFT grid is the exaggerated phase's when
    exaggeration > 1, as in fit."""
    a = np.empty_like(Y)
    attractive_forces(P.indptr, P.indices, P.data, Y, Y, 1.0, exaggeration, a)
    grads = {}
    for m in ("exact", method):
        r = np.empty_like(Y)
        z = _Repulsion(m, 1.0, angle or 0.5, 2, exaggerated=exaggeration > 1)(Y, r)
        grads[m] = a - r / z
    return np.linalg.norm(grads[method] - grads["exact"]) / np.linalg.norm(grads["exact"])


@pytest.mark.parametrize("method,dim,angle,exaggeration", [
    ("barnes_hut", 1, 0.25, 1.0), ("barnes_hut", 2, 0.25, 1.0), ("barnes_hut", 3, 0.25, 1.0),
    ("fft", 1, None, 1.0), ("fft", 2, None, 1.0),
    # The coarser grid of early exaggeration, with the attraction times 12.
    ("fft", 1, None, 12.0), ("fft", 2, None, 12.0)])
@pytest.mark.parametrize("spread", [1.0, 3.0])
def test_approximate_gradients_within_one_percent_of_exact(digits_P, method, dim,
                                                           angle, exaggeration, spread):
    # 1000 points laid out at random (away from equilibrium, where attraction
    # and repulsion cancel and any relative error is ill-defined).
    rng = np.random.RandomState(dim)
    Y = rng.randn(1000, dim) * spread
    assert _gradient_error(digits_P, Y, method, angle, exaggeration) < 0.01


def test_barnes_hut_excludes_the_point_and_counts_duplicates():
    Y = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0]])
    r = np.empty_like(Y)
    z = np.empty(3)
    bh_repulsive(Y, *_tree(Y), 1.0, 0.0, r, z)
    r_ex = np.empty_like(Y)
    z_ex = np.empty(3)
    exact_repulsive(Y, Y, True, 1.0, r_ex, z_ex)
    np.testing.assert_allclose(z, z_ex, rtol=1e-12)
    np.testing.assert_allclose(r, r_ex, rtol=1e-12, atol=1e-15)
    r_total = np.empty_like(Y)
    assert _Repulsion("barnes_hut", 1.0, 0.0, 1)(Y, r_total) == pytest.approx(z_ex.sum())
    np.testing.assert_array_equal(r_total, r)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_conditional_repulsion_exact_below_the_threshold(dim):
    """transform's repulsion against a small reference is the exact sum; the
    Barnes-Hut sum at theta=0 above it is the same."""
    from skgen.manifold._tsne_optimise import ConditionalRepulsion

    rng = np.random.RandomState(dim)
    ref, Y = rng.randn(300, dim), rng.randn(40, dim)
    small = ConditionalRepulsion(ref, 1.0, 0.0, exact_below=301)
    tree = ConditionalRepulsion(ref, 1.0, 0.0, exact_below=300)
    assert small.tree is None and tree.tree is not None
    r_small, r_tree, r_ex = np.empty_like(Y), np.empty_like(Y), np.empty_like(Y)
    z_ex = np.empty(len(Y))
    exact_repulsive(Y, ref, False, 1.0, r_ex, z_ex)
    z_small, z_tree = small(Y, r_small), tree(Y, r_tree)
    np.testing.assert_array_equal(r_small, r_ex)
    np.testing.assert_array_equal(z_small[:, 0], z_ex)
    np.testing.assert_allclose(r_tree, r_ex, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(z_tree[:, 0], z_ex, rtol=1e-10)


# --- the estimator ----------------------------------------------------------------------

@pytest.mark.parametrize("method", ["exact", "barnes_hut", "fft"])
def test_embeds_digits_faithfully(digits, method):
    X, y = digits[0][:600], digits[1][:600]
    tsne = TSNE(method=method, random_state=0).fit(X)
    assert trustworthiness(X, tsne.embedding_, n_neighbors=10) > 0.97
    # As good for a 10-NN classifier as the raw pixels (0.835 on this split;
    # scikit-learn's and openTSNE's embeddings: 0.83, 0.825).
    knn = KNeighborsClassifier(10).fit(tsne.embedding_[:400], y[:400])
    assert knn.score(tsne.embedding_[400:], y[400:]) > 0.8
    # The reported KL is the KL of the returned embedding (the approximate
    # methods estimate Z; BH within a few per cent).
    exact = kl_divergence(tsne.affinities_, tsne.embedding_)
    assert tsne.kl_divergence_ == pytest.approx(exact, rel=0.05)
    assert tsne.n_iter_ == 750


def test_same_random_state_same_embedding(digits):
    X = digits[0][:300]
    for init in ("pca", "random"):
        a = TSNE(init=init, method="barnes_hut", random_state=3, max_iter=100).fit(X)
        b = TSNE(init=init, method="barnes_hut", random_state=3, max_iter=100).fit(X)
        np.testing.assert_array_equal(a.embedding_, b.embedding_)
    c = TSNE(init="random", method="barnes_hut", random_state=4, max_iter=100).fit(X)
    assert not np.allclose(a.embedding_, c.embedding_)


@pytest.mark.parametrize("method", ["exact", "barnes_hut", "fft"])
def test_embedding_independent_of_thread_count(digits, method):
    # n_jobs=None takes the idle cores, which vary with the machine's load: the
    # embedding must not depend on them.
    X = digits[0][:300]
    a = TSNE(method=method, random_state=0, max_iter=60, n_jobs=1).fit(X)
    b = TSNE(method=method, random_state=0, max_iter=60, n_jobs=2).fit(X)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)


def test_morton_order_is_the_z_curve():
    # A 4 x 4 grid: x bits interleaved below y bits (x in bit 0).
    xs, ys = np.meshgrid(np.arange(4.0), np.arange(4.0))
    Y = np.column_stack([xs.ravel(), ys.ravel()])
    order = _morton_order(Y[::-1].copy())
    got = Y[::-1][order]
    expected = [(0, 0), (1, 0), (0, 1), (1, 1), (2, 0), (3, 0), (2, 1), (3, 1),
                (0, 2), (1, 2), (0, 3), (1, 3), (2, 2), (3, 2), (2, 3), (3, 3)]
    np.testing.assert_array_equal(got, np.array(expected, dtype=float))
    for d in (1, 2, 3):
        for seed in range(3):
            Z = np.random.RandomState(seed).randn(50, d)
            assert sorted(_morton_order(Z)) == list(range(50))
            assert sorted(_morton_order(Z.astype(np.float32))) == list(range(50))
        # Degenerate: every point in one place (zero span), and duplicates.
        np.testing.assert_array_equal(_morton_order(np.ones((7, d))), np.arange(7))
        assert sorted(_morton_order(np.repeat(Z[:5], 3, axis=0))) == list(range(15))


@pytest.mark.parametrize("method", ["barnes_hut", "fft"])
def test_working_order_is_invisible(digits, monkeypatch, method):
    # Points re-sorted along a Morton curve (as above 100000 points): the
    # result, callbacks and affinities_ come in the caller's order.
    X = digits[0][:600]
    plain = TSNE(method=method, random_state=0).fit(X)
    monkeypatch.setattr(tsne_module, "REORDER_ABOVE", 1)
    seen = []
    sorted_ = TSNE(method=method, random_state=0,
                   callbacks=lambda it, kl, E: seen.append(E.copy())).fit(X)
    np.testing.assert_array_equal(seen[-1], sorted_.embedding_)
    assert (sorted_.affinities_ != plain.affinities_).nnz == 0
    # Same optimisation up to summation order (which t-SNE's chaotic descent
    # amplifies): the same KL within 2%, the same neighbourhoods; a misplaced
    # point would be far off.
    assert sorted_.kl_divergence_ == pytest.approx(plain.kl_divergence_, rel=0.02)
    exact = kl_divergence(plain.affinities_, sorted_.embedding_)
    assert exact == pytest.approx(kl_divergence(plain.affinities_, plain.embedding_),
                                  rel=0.02)
    assert trustworthiness(X, sorted_.embedding_, n_neighbors=10) > 0.97


def test_pca_init_scaled_and_array_init_used(digits):
    X = digits[0][:300]
    t = TSNE(max_iter=1, early_exaggeration_iter=0, learning_rate=1e-12).fit(X)
    assert np.std(t.embedding_[:, 0]) == pytest.approx(1e-4, rel=1e-3)
    init = np.random.RandomState(0).randn(300, 2)
    t = TSNE(init=init, max_iter=1, early_exaggeration_iter=0,
             learning_rate=1e-12).fit(X)
    np.testing.assert_allclose(t.embedding_, init - init.mean(0), atol=1e-9)


def test_transform_places_held_out_digits_among_their_class(digits):
    X, y = digits
    tsne = TSNE(random_state=0).fit(X[:1200])
    placed = tsne.transform(X[1200:])
    knn = KNeighborsClassifier(10).fit(tsne.embedding_, y[:1200])
    raw = KNeighborsClassifier(10).fit(X[:1200], y[:1200]).score(X[1200:], y[1200:])
    assert knn.score(placed, y[1200:]) > raw - 0.05
    # Each point is placed on its own: subsets give the same positions.
    np.testing.assert_allclose(tsne.transform(X[1200:1210]), placed[:10], atol=1e-12)


def test_maps_back_samples_and_score(digits):
    X = digits[0][:500]
    tsne = TSNE(random_state=0, max_iter=300).fit(X)
    back = tsne.inverse_transform(tsne.embedding_[:20])
    assert back.shape == (20, 64)
    # Back near the original digits: closer than the average pair of digits.
    typical = np.mean(np.linalg.norm(X[:20] - X[20:40], axis=1))
    assert np.mean(np.linalg.norm(back - X[:20], axis=1)) < 0.5 * typical
    s = tsne.sample(10, random_state=0)
    assert s.shape == (10, 64)
    np.testing.assert_array_equal(s, tsne.sample(10, random_state=0))
    assert 0.9 < tsne.score(X[:200]) <= 1.0


def test_callbacks_stop_and_verbose(digits, capsys):
    X = digits[0][:300]
    seen = []

    def stop_at_100(iteration, kl, embedding):
        seen.append((iteration, kl, embedding.copy()))
        return iteration >= 100

    t = TSNE(callbacks=[stop_at_100], verbose=True, random_state=0).fit(X)
    assert t.n_iter_ == 100
    assert [s[0] for s in seen] == [50, 100]
    assert all(np.isfinite(s[1]) for s in seen)
    # Stopped where the callback saw the embedding.
    np.testing.assert_array_equal(t.embedding_, seen[-1][2])


@pytest.mark.parametrize("seed", [0, 1])
def test_callback_kl_belongs_to_the_embedding_passed(digits, seed):
    """Regression: the KL reported was the one before the step, the embedding the
    one after it. Exact gradients: the reported KL equals the exact KL of the
    embedding handed over, to 1e-9, at every report and the final one."""
    X = digits[0][:200]
    seen = []
    t = TSNE(method="exact", random_state=seed, max_iter=400,
             callbacks=lambda it, kl, Y: seen.append((it, kl, Y.copy()))).fit(X)
    assert [s[0] for s in seen] == list(range(50, 401, 50))
    for it, kl, Y in seen:
        assert abs(kl - kl_divergence(t.affinities_, Y)) < 1e-9, it
    assert seen[-1][1] == t.kl_divergence_


def test_callbacks_must_be_callable_at_once():
    X = np.random.RandomState(0).randn(60, 3)
    with pytest.raises(ValueError, match="callbacks must be callables"):
        TSNE(callbacks=[3], perplexity=5).fit(X)


def test_three_dimensions_and_one(digits):
    X = digits[0][:1200]
    t3 = TSNE(n_components=3, random_state=0, max_iter=300).fit(X)
    assert t3._method == "barnes_hut" and t3.embedding_.shape == (1200, 3)
    t1 = TSNE(n_components=1, method="fft", random_state=0, max_iter=300).fit(X)
    assert np.all(np.isfinite(t1.embedding_))


# --- bad input --------------------------------------------------------------------------

@pytest.mark.parametrize("n_samples", [2, 4, 20, 30])
def test_perplexity_sklearn_refuses_is_lowered_with_a_warning(n_samples):
    """Where scikit-learn refuses (perplexity >= n_samples), openTSNE's rule:
    max((n - 1) / 3, 1), with a warning, so the default fits tiny data."""
    X = np.random.RandomState(n_samples).randn(n_samples, 3)
    with pytest.warns(UserWarning, match="perplexity=30 must be less than n_samples"):
        t = TSNE(random_state=0, max_iter=100).fit(X)
    assert t.perplexity_ == pytest.approx(max((n_samples - 1) / 3, 1))
    assert np.all(np.isfinite(t.embedding_))
    assert np.isfinite(t.kl_divergence_)


@pytest.mark.parametrize("perplexity", [5, 30, 50, 100, 149.5])
def test_perplexity_below_n_samples_is_kept_with_sklearns_affinities(perplexity):
    """scikit-learn's rule: any perplexity below n_samples, min(n - 1, 3p + 1)
    neighbours (the gallery's 150-point example uses 50 and 100)."""
    import warnings as _w

    from sklearn.manifold._t_sne import _joint_probabilities_nn
    from sklearn.neighbors import NearestNeighbors

    X = np.random.RandomState(0).randn(150, 4)
    with _w.catch_warnings():
        _w.simplefilter("error", UserWarning)
        t = TSNE(perplexity=perplexity, max_iter=50, method="barnes_hut").fit(X)
    assert t.perplexity_ == perplexity
    k = min(149, int(3 * perplexity + 1))
    D = NearestNeighbors(n_neighbors=k).fit(X).kneighbors_graph(mode="distance")
    D.data **= 2
    ref = _joint_probabilities_nn(D, perplexity, 0)
    np.testing.assert_allclose(t.affinities_.toarray(), ref.toarray(), rtol=1e-3,
                               atol=1e-9)


def test_fft_refuses_three_components_and_bh_four():
    X = np.random.RandomState(0).randn(50, 5)
    with pytest.raises(ValueError, match="method='fft'.*n_components=3"):
        TSNE(n_components=3, method="fft", perplexity=5).fit(X)
    with pytest.raises(ValueError, match="barnes_hut"):
        TSNE(n_components=4, method="barnes_hut", perplexity=5).fit(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_inf(bad):
    X = np.random.RandomState(0).randn(50, 3)
    X[0, 0] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        TSNE(perplexity=5).fit(X)


@pytest.mark.parametrize("method", ["exact", "barnes_hut", "fft"])
def test_duplicate_points(method):
    X, _ = make_blobs(200, n_features=5, random_state=0)
    X = np.vstack([X, X[:50], X[:50]])
    t = TSNE(method=method, perplexity=10, random_state=0, max_iter=300).fit(X)
    assert np.all(np.isfinite(t.embedding_)) and np.isfinite(t.kl_divergence_)


def test_unfitted_and_wrong_shapes():
    X = np.random.RandomState(0).randn(40, 3)
    with pytest.raises(NotFittedError):
        TSNE().transform(X)
    with pytest.raises(ValueError, match="init"):
        TSNE(init=np.zeros((5, 2)), perplexity=5).fit(X)
    t = TSNE(perplexity=5, max_iter=50).fit(X)
    with pytest.raises(ValueError, match="3 features"):
        t.transform(X[:, :2])


@pytest.mark.parametrize("dtype,seed", [(np.float32, 0), (np.float64, 1)])
def test_the_descent_runs_on_one_blas_thread_in_fit_and_transform(digits, monkeypatch,
                                                                  dtype, seed):
    # OpenBLAS's threads spin after a threaded call (the reports' gradient norm)
    # and take the cores of the parfors that follow; nothing in a step gains from
    # BLAS threads.
    import threadpoolctl

    def blas_threads():
        return [info["num_threads"] for info in threadpoolctl.threadpool_info()
                if info["user_api"] == "blas"]

    seen = []
    real = tsne_module.attractive_forces

    def recording(*args, **kwargs):
        seen.extend(blas_threads())
        return real(*args, **kwargs)

    before = blas_threads()
    monkeypatch.setattr(tsne_module, "attractive_forces", recording)
    X = digits[0][np.random.RandomState(seed).permutation(1797)[:300]].astype(dtype)
    model = TSNE(perplexity=10, max_iter=250, random_state=seed).fit(X)
    model.transform(X[:20] + 0.5)
    assert seen and set(seen) == {1}
    assert blas_threads() == before
