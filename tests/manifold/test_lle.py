"""LLE: kernels against NumPy references, embeddings against scikit-learn, the
out-of-sample maps, and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits, make_blobs, make_swiss_roll
from sklearn.exceptions import NotFittedError
from sklearn.manifold import LocallyLinearEmbedding, trustworthiness
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import NearestNeighbors

from skgen import LLE
from skgen.manifold._lle import assemble
from skgen.manifold._lle_eigen import _component_basis, null_space
from skgen.manifold._lle_kernels import (hessian_blocks, local_spectra,
                                         ltsa_blocks, modified_blocks,
                                         standard_blocks)


@pytest.fixture(scope="module")
def roll():
    X, t = make_swiss_roll(2000, random_state=0)
    return X, t


def _align_signs(E, F):
    return E * np.sign(np.sum(E * F, axis=0))


# --- kernels against NumPy references -------------------------------------------

def _neighbours(X, k):
    return NearestNeighbors(n_neighbors=k).fit(X).kneighbors(
        return_distance=False).astype(np.int64)


def _local_basis(G, n):
    return np.linalg.svd(G, full_matrices=False)[0][:, :n]


def _hessian_reference(X, ind, d, tol):
    """Donoho & Grimes's estimator: Gram-Schmidt of (1, U, products of U)."""
    k = ind.shape[1]
    out = np.zeros((len(X), k + 1, k + 1))
    for i, nb in enumerate(ind):
        G = X[nb] - X[nb].mean(0)
        U = _local_basis(G, d)
        quad = [U[:, a] * U[:, b] for a in range(d) for b in range(a, d)]
        Y = np.column_stack([np.ones(k), U, *quad])
        Q = np.linalg.qr(Y)[0]
        w = Q[:, d + 1:]
        s = w.sum(0)
        s[np.abs(s) < tol] = 1
        w = w / s
        out[i, 1:, 1:] = w @ w.T
    return out


def _ltsa_reference(X, ind, d):
    k = ind.shape[1]
    out = np.zeros((len(X), k + 1, k + 1))
    for i, nb in enumerate(ind):
        U = _local_basis(X[nb] - X[nb].mean(0), d)
        G = np.column_stack([np.full(k, 1 / np.sqrt(k)), U])
        out[i, 1:, 1:] = np.eye(k) - G @ G.T
    return out


def _modified_reference(X, ind, s_range, reg, tol):
    """Zhang & Wang's alg. 1 written with full SVDs, one point at a time."""
    n, k = ind.shape
    nev = min(k, X.shape[1])
    out = np.zeros((n, k + 1, k + 1))
    for i, nb in enumerate(ind):
        Z = X[nb] - X[i]
        V, sv, _ = np.linalg.svd(Z, full_matrices=True)
        lam = np.zeros(k)
        lam[:nev] = sv[:nev] ** 2
        r = reg * lam[:nev].sum()
        t = V.T @ np.ones(k)
        t[:nev] /= lam[:nev] + r
        t[nev:] /= r
        w = V @ t
        w /= w.sum()
        s = s_range[i]
        Vi = V[:, k - s:]
        alpha = np.linalg.norm(Vi.sum(0)) / np.sqrt(s)
        h = alpha - Vi.T @ np.ones(k)
        h = h * 0 if np.linalg.norm(h) < tol else h / np.linalg.norm(h)
        Wi = Vi - 2 * np.outer(Vi @ h, h) + (1 - alpha) * w[:, None]
        out[i, 0, 0] = s
        out[i, 0, 1:] = out[i, 1:, 0] = -Wi.sum(1)
        out[i, 1:, 1:] = Wi @ Wi.T
    return out


@settings(max_examples=15, deadline=None)
@given(n=st.integers(20, 60), D=st.integers(2, 6), k=st.integers(6, 12),
       seed=st.integers(0, 2**16))
def test_local_kernels_match_numpy(n, D, k, seed):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, D)
    ind = _neighbours(X, k)
    blocks = np.empty((n, k + 1, k + 1))
    ltsa_blocks(X, ind, 2, blocks)
    np.testing.assert_allclose(blocks, _ltsa_reference(X, ind, 2), atol=1e-10)
    hessian_blocks(X, ind, 1, 1e-4, blocks)
    np.testing.assert_allclose(blocks, _hessian_reference(X, ind, 1, 1e-4),
                               atol=1e-9)
    evals = np.empty((n, k))
    evecs = np.empty((n, k, k))
    nev = min(k, D)
    local_spectra(X, ind, nev, evals, evecs)
    for i in range(n):
        Z = X[ind[i]] - X[i]
        sv = np.linalg.svd(Z, compute_uv=False)
        np.testing.assert_allclose(evals[i, :nev], sv[:nev] ** 2, rtol=1e-8,
                                   atol=1e-10)
        # Each column is a unit eigenvector of the local Gram matrix.
        C = Z @ Z.T
        np.testing.assert_allclose(C @ evecs[i], evecs[i] * evals[i], atol=1e-8)
    # s_i always covers the exactly-null directions (k - nev of them), whose
    # basis is arbitrary; the block is invariant to it only then.
    s_range = rng.randint(max(k - nev, 1), k, size=n).astype(np.int64)
    modified_blocks(evals, evecs, nev, s_range, 1e-3, 1e-12, blocks)
    np.testing.assert_allclose(blocks, _modified_reference(X, ind, s_range, 1e-3,
                                                           1e-12), atol=1e-7)


def test_standard_blocks_assemble_to_i_minus_w_squared():
    rng = np.random.RandomState(0)
    n, k = 30, 4
    ind = _neighbours(rng.randn(n, 3), k)
    w = rng.dirichlet(np.ones(k), size=n)
    blocks = np.empty((n, k + 1, k + 1))
    standard_blocks(w, blocks)
    W = np.zeros((n, n))
    for i in range(n):
        W[i, ind[i]] = w[i]
    A = np.eye(n) - W
    np.testing.assert_allclose(assemble(ind, blocks).toarray(), A.T @ A, atol=1e-12)


# --- embeddings against scikit-learn ---------------------------------------------

def test_standard_dense_matches_sklearn_on_swiss_roll(roll):
    X, _ = roll
    ours = LLE(n_neighbors=12, eigen_solver="dense").fit(X)
    ref = LocallyLinearEmbedding(n_neighbors=12, eigen_solver="dense").fit(X)
    E = _align_signs(ours.embedding_, ref.embedding_)
    np.testing.assert_allclose(E, ref.embedding_, atol=1e-6)
    assert abs(ours.reconstruction_error_ - ref.reconstruction_error_) < 1e-8


@pytest.mark.parametrize("method", ["modified", "ltsa"])
def test_other_methods_match_sklearn(roll, method):
    X, _ = roll
    X = X[:800]
    ours = LLE(n_neighbors=12, method=method, eigen_solver="dense").fit(X)
    ref = LocallyLinearEmbedding(n_neighbors=12, method=method,
                                 eigen_solver="dense").fit(X)
    E = _align_signs(ours.embedding_, ref.embedding_)
    np.testing.assert_allclose(E, ref.embedding_, atol=1e-6)
    assert abs(ours.reconstruction_error_ - ref.reconstruction_error_) < 1e-8


@pytest.mark.parametrize("method", ["standard", "modified", "hessian", "ltsa"])
def test_every_method_unrolls_the_swiss_roll(roll, method):
    # The roll's angle t is recovered by one embedding coordinate.
    X, t = roll
    emb = LLE(n_neighbors=12, method=method, random_state=0).fit(X).embedding_
    assert max(abs(np.corrcoef(emb[:, j], t)[0, 1]) for j in range(2)) > 0.95


@pytest.mark.parametrize("solver", ["arpack", "lobpcg"])
def test_iterative_solvers_match_dense(roll, solver):
    X, _ = roll
    dense = LLE(n_neighbors=12, eigen_solver="dense").fit(X)
    it = LLE(n_neighbors=12, eigen_solver=solver, tol=1e-10, max_iter=500,
             random_state=0).fit(X)
    np.testing.assert_allclose(_align_signs(it.embedding_, dense.embedding_),
                               dense.embedding_, atol=1e-6)
    np.testing.assert_allclose(it.reconstruction_error_,
                               dense.reconstruction_error_, rtol=1e-6)
    assert it.n_iter_ >= 1


def test_null_space_survives_exactly_singular_m():
    # A path graph: M has an exact zero eigenvalue (the constant) and rational
    # entries, where a factorisation at shift 0 is exactly singular.
    n = 400
    ind = np.stack([np.r_[max(i - 1, 0):i, i + 1:min(i + 2, n)] for i in range(1, n - 1)])
    ind = np.vstack([[1, 2], ind, [n - 3, n - 2]]).astype(np.int64)
    w = np.full(ind.shape, 0.5)
    blocks = np.empty((n, 3, 3))
    standard_blocks(w, blocks)
    M = assemble(ind, blocks)
    vectors, error, _ = null_space(M, 2, eigen_solver="arpack", random_state=0)
    assert np.all(np.isfinite(vectors)) and error >= -1e-12
    np.testing.assert_allclose(vectors.T @ vectors, np.eye(2), atol=1e-8)


# --- the estimator's maps ---------------------------------------------------------

def test_transform_matches_sklearn(roll):
    X, _ = roll
    X_new = make_swiss_roll(300, random_state=1)[0]
    ours = LLE(n_neighbors=12, eigen_solver="dense").fit(X)
    ref = LocallyLinearEmbedding(n_neighbors=12, eigen_solver="dense").fit(X)
    sign = np.sign(np.sum(ours.embedding_ * ref.embedding_, axis=0))
    np.testing.assert_allclose(ours.transform(X_new) * sign, ref.transform(X_new),
                               atol=1e-6)


def test_inverse_transform_rebuilds_held_out_points(roll):
    X, _ = roll
    X_new = make_swiss_roll(200, random_state=2)[0]
    lle = LLE(n_neighbors=12, random_state=0).fit(X)
    back = lle.inverse_transform(lle.transform(X_new))
    spacing = np.median(NearestNeighbors(n_neighbors=2).fit(X).kneighbors(X)[0][:, 1])
    # Back within a few neighbour spacings (the roll is 15 units across).
    assert np.median(np.linalg.norm(back - X_new, axis=1)) < 3 * spacing


def test_sample_is_reproducible_and_on_the_roll(roll):
    X, _ = roll
    lle = LLE(n_neighbors=12, random_state=0).fit(X)
    a = lle.sample(50, random_state=3)
    b = lle.sample(50, random_state=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (50, 3)
    dist = NearestNeighbors(n_neighbors=1).fit(X).kneighbors(a)[0]
    assert np.median(dist) < 2.0
    with pytest.raises(ValueError, match="n_samples"):
        lle.sample(0)


def test_score_is_trustworthiness_and_drives_grid_search(roll):
    X, _ = roll
    lle = LLE(n_neighbors=12, random_state=0).fit(X[:1000])
    X_test = X[1000:1500]
    expected = trustworthiness(X_test, lle.transform(X_test), n_neighbors=5)
    assert lle.score(X_test) == pytest.approx(expected, abs=1e-12)
    search = GridSearchCV(LLE(random_state=0), {"n_neighbors": [5, 12]}, cv=2)
    search.fit(X[:1000])
    assert search.best_params_["n_neighbors"] == 12


def test_same_random_state_same_embedding_and_threads(roll):
    X, _ = roll
    a = LLE(n_neighbors=10, random_state=0).fit(X).embedding_
    b = LLE(n_neighbors=10, random_state=0, n_jobs=1).fit(X).embedding_
    np.testing.assert_allclose(a, b, atol=1e-10)


# --- bad input --------------------------------------------------------------------

def test_n_neighbors_at_or_above_n_samples():
    X = np.random.RandomState(0).randn(10, 3)
    with pytest.raises(ValueError, match="n_neighbors < n_samples"):
        LLE(n_neighbors=10).fit(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_inf(bad):
    X = np.random.RandomState(0).randn(50, 3)
    X[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        LLE().fit(X)
    lle = LLE().fit(np.random.RandomState(0).randn(50, 3))
    with pytest.raises(ValueError, match="NaN|infinity"):
        lle.transform(X)


@pytest.mark.parametrize("method", ["standard", "modified", "hessian", "ltsa"])
def test_duplicate_points_give_a_finite_embedding(method):
    X = np.random.RandomState(0).randn(300, 3)
    X = np.vstack([X, X[:100], X[:20]])  # up to triplicates: zero distances
    lle = LLE(n_neighbors=10, method=method, random_state=0).fit(X)
    assert np.all(np.isfinite(lle.embedding_))
    assert np.all(np.isfinite(lle.transform(X[:5])))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_samples", [200, 2400])  # LAPACK and LOBPCG paths
def test_disconnected_graph_warns_and_embeds_each_component(seed, n_samples):
    """Two far blobs: a warning (as SpectralEmbedding's), the first axis sets the
    components apart (constant on each), the second embeds within them; each
    component's own LLE cost is the eigenvalue reported."""
    X, labels = make_blobs(n_samples=n_samples, centers=[[0, 0, 0], [100, 100, 100]],
                           cluster_std=1.0, random_state=seed)
    with pytest.warns(UserWarning, match="disconnected: 2 components"):
        lle = LLE(n_neighbors=5, random_state=seed).fit(X)
    emb = lle.embedding_
    assert np.all(np.isfinite(emb))
    for part in (0, 1):
        np.testing.assert_allclose(emb[labels == part, 0], emb[labels == part, 0][0],
                                   atol=1e-10)
    assert abs(emb[labels == 0, 0][0] - emb[labels == 1, 0][0]) > 1e-3
    np.testing.assert_allclose(np.linalg.norm(emb, axis=0), 1.0, rtol=1e-8)
    assert abs(emb[:, 0] @ emb[:, 1]) < 1e-6
    assert np.std(emb[:, 1]) > 0
    assert np.isfinite(lle.score(X))


def _laplacian_blocks(sizes, extra_null, rng):
    """Block-diagonal graph Laplacians (PSD, each block's constant vector in
    its null space), each with ``extra_null`` more null vectors projected in, as
    LLE's M has when the local fits are exact; and the block labels."""
    import scipy.sparse as sp

    blocks, labels = [], []
    for part, size in enumerate(sizes):
        W = rng.uniform(size=(size, size)) * (rng.uniform(size=(size, size)) < 0.2)
        W = np.triu(W, 1)
        W = W + W.T + np.diag(np.ones(size - 1), 1) + np.diag(np.ones(size - 1), -1)
        L = np.diag(W.sum(axis=1)) - W
        for _ in range(extra_null):
            u = rng.standard_normal(size)
            u -= u.mean()
            u /= np.linalg.norm(u)
            P = np.eye(size) - np.outer(u, u)
            L = P @ L @ P
        blocks.append(L)
        labels += [part] * size
    return sp.csr_matrix(sp.block_diag(blocks)), np.array(labels)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("sizes, extra_null", [((60, 45, 50), 0), ((60, 45, 50), 2),
                                               ((900, 700, 600), 0), ((300, 2, 250), 3)])
def test_null_space_of_a_disconnected_graph_against_the_restricted_problem(sizes,
                                                                          extra_null, seed):
    # Reference: the bottom eigenpairs of M restricted to the complement of the
    # components' indicators (an orthonormal basis of it from SVD). With extra
    # null vectors (LLE's M on the digits with 5 neighbours) the old LAPACK path
    # returned an axis half along an indicator.
    from scipy.linalg import eigh, null_space as complement

    rng = np.random.default_rng(seed)
    M, labels = _laplacian_blocks(sizes, extra_null, rng)
    n_parts = len(sizes)
    n_components = n_parts + 1  # the indicators set apart, then two eigenvectors
    vectors, error, _ = null_space(M, n_components, labels=labels, random_state=0)
    basis = _component_basis(labels, n_parts)
    found = vectors[:, n_parts - 1:]
    assert np.abs(basis.T @ found).max() < 1e-8
    np.testing.assert_allclose(found.T @ found, np.eye(2), atol=1e-8)
    Q = complement(basis.T)
    reference = eigh(Q.T @ M.toarray() @ Q, eigvals_only=True, subset_by_index=(0, 1))
    rayleigh = np.einsum("ij,ij->j", found, M @ found)
    scale = np.abs(M).sum(axis=1).max()
    np.testing.assert_allclose(rayleigh, reference, atol=1e-6 * scale)
    np.testing.assert_allclose(error, reference.sum(), atol=2e-6 * scale)


def test_disconnected_graph_with_one_axis_per_component():
    X, labels = make_blobs(n_samples=90, centers=[[0, 0], [50, 0], [0, 50]],
                           cluster_std=0.5, random_state=0)
    with pytest.warns(UserWarning, match="3 components"):
        emb = LLE(n_neighbors=4).fit(X).embedding_
    # Three groups, each a single point of the 2-D embedding.
    assert len({tuple(np.round(emb[labels == p].mean(0), 8)) for p in range(3)}) == 3
    np.testing.assert_allclose(emb, np.round(emb, 10), atol=1e-9)


def test_too_many_components_or_too_few_neighbours():
    X = np.random.RandomState(0).randn(100, 3)
    with pytest.raises(ValueError, match="n_components = 4 must be <= n_features"):
        LLE(n_components=4).fit(X)
    with pytest.raises(ValueError, match="hessian"):
        LLE(n_neighbors=5, method="hessian").fit(X)
    with pytest.raises(ValueError, match="modified"):
        LLE(n_neighbors=2, n_components=3, method="modified").fit(X)


def test_unfitted_and_wrong_widths():
    X = np.random.RandomState(0).randn(60, 3)
    with pytest.raises(NotFittedError):
        LLE().transform(X)
    with pytest.raises(NotFittedError):
        LLE().inverse_transform(X[:, :2])
    lle = LLE().fit(X)
    with pytest.raises(ValueError, match="3 features"):
        lle.transform(X[:, :2])
    with pytest.raises(ValueError, match="expects 2"):
        lle.inverse_transform(X)
    with pytest.raises(ValueError, match="at least 3 samples"):
        lle.score(X[:2])


def test_hessian_follows_the_paper_not_sklearns_ltsa_equivalent():
    """scikit-learn's 'hessian' keeps all k - d - 1 columns orthogonal to the
    tangent space: its embedding is its 'ltsa' one. Ours keeps the d (d + 1) / 2
    Hessian columns of Donoho & Grimes (2003) and differs from LTSA, whose own
    embedding equals scikit-learn's."""
    import warnings

    from sklearn.manifold import LocallyLinearEmbedding as SkLLE

    X = load_digits().data[:500]

    def corr(a, b):
        return min(abs(np.corrcoef(a[:, i], b[:, i])[0, 1]) for i in range(a.shape[1]))

    kw = dict(n_neighbors=12, n_components=2, eigen_solver="dense")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk_h = SkLLE(method="hessian", **kw).fit_transform(X)
        sk_l = SkLLE(method="ltsa", **kw).fit_transform(X)
    ours_h = LLE(method="hessian", **kw).fit_transform(X)
    ours_l = LLE(method="ltsa", **kw).fit_transform(X)
    assert corr(sk_h, sk_l) > 1 - 1e-9
    assert corr(ours_l, sk_l) > 1 - 1e-9
    assert corr(ours_h, ours_l) < 0.99


def test_locally_linear_embedding_function_equals_sklearns():
    from sklearn.manifold import locally_linear_embedding as sk_lle

    from skgen.manifold import locally_linear_embedding

    X = load_digits().data[:300]
    Y, err = locally_linear_embedding(X, n_neighbors=10, n_components=2,
                                      eigen_solver="dense")
    Y_sk, err_sk = sk_lle(X, n_neighbors=10, n_components=2, eigen_solver="dense")
    assert err == pytest.approx(err_sk, rel=1e-6)
    for i in range(2):
        assert abs(np.corrcoef(Y[:, i], Y_sk[:, i])[0, 1]) > 1 - 1e-8


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", [0, 1])
def test_eigen_solve_runs_on_one_blas_thread_and_restores_the_limit(roll, monkeypatch,
                                                                   dtype, seed):
    # OpenBLAS's idle threads spin after a threaded call; on 2 cores they slowed
    # the next fit's OpenMP neighbour search 2-10x, and the solve gained nothing.
    import threadpoolctl

    import skgen.manifold._lle as lle_module

    seen = []

    def recording(*args, **kwargs):
        seen.extend(info["num_threads"] for info in threadpoolctl.threadpool_info()
                    if info["user_api"] == "blas")
        return null_space(*args, **kwargs)

    before = [info["num_threads"] for info in threadpoolctl.threadpool_info()
              if info["user_api"] == "blas"]
    monkeypatch.setattr(lle_module, "null_space", recording)
    X = roll[0][np.random.RandomState(seed).permutation(2000)[:300]].astype(dtype)
    embedding = LLE(n_neighbors=10, random_state=seed).fit(X).embedding_
    assert seen and all(n == 1 for n in seen)
    after = [info["num_threads"] for info in threadpoolctl.threadpool_info()
             if info["user_api"] == "blas"]
    assert after == before
    monkeypatch.undo()
    np.testing.assert_array_equal(
        embedding, LLE(n_neighbors=10, random_state=seed).fit(X).embedding_)
