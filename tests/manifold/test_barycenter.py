"""The barycentric-weights kernel against a plain NumPy reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.neighbors import NearestNeighbors

from skgen.manifold._barycenter import barycenter_weights


def _reference(X, Y, indices, reg):
    """Roweis & Saul's weights, one NumPy solve per point."""
    W = np.empty(indices.shape)
    for i, nbrs in enumerate(indices):
        Z = Y[nbrs] - X[i]
        C = Z @ Z.T
        trace = np.trace(C)
        C += np.eye(len(nbrs)) * (reg * trace if trace > 0 else reg)
        w = np.linalg.solve(C, np.ones(len(nbrs)))
        W[i] = w / w.sum()
    return W


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 40), d=st.integers(1, 6), k=st.integers(1, 8),
       reg=st.sampled_from([1e-3, 1e-1]), seed=st.integers(0, 2**16))
def test_matches_numpy_reference(n, d, k, reg, seed):
    rng = np.random.RandomState(seed)
    Y = rng.randn(n + k, d)
    X = rng.randn(n, d)
    indices = np.stack([rng.choice(n + k, k, replace=False) for _ in range(n)])
    out = np.empty((n, k))
    barycenter_weights(X, Y, indices.astype(np.int64), reg, out)
    np.testing.assert_allclose(out, _reference(X, Y, indices, reg), rtol=1e-9,
                               atol=1e-9)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)


def test_reconstructs_points_in_the_span_of_their_neighbours():
    # A point that is an affine combination of its neighbours is rebuilt (reg -> 0).
    rng = np.random.RandomState(0)
    Y = rng.randn(30, 5)
    ind = NearestNeighbors(n_neighbors=8).fit(Y).kneighbors(Y[:10], 9)[1][:, 1:]
    w_true = rng.dirichlet(np.ones(8), size=10)
    X = np.einsum("ik,ikd->id", w_true, Y[ind])
    out = np.empty((10, 8))
    barycenter_weights(X, Y, ind.astype(np.int64), 1e-12, out)
    np.testing.assert_allclose(np.einsum("ik,ikd->id", out, Y[ind]), X, atol=1e-6)


def test_zero_trace_uses_absolute_regularisation():
    Y = np.ones((4, 3))
    X = np.ones((1, 3))
    out = np.empty((1, 3))
    barycenter_weights(X, Y, np.array([[0, 1, 2]], dtype=np.int64), 1e-3, out)
    np.testing.assert_allclose(out, 1 / 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reg_zero_with_singular_gram_gives_finite_weights(dtype):
    """Regression: reg=0 with more neighbours than dimensions made the numba
    solve raise LinAlgError, which surfaced as a SystemError."""
    rng = np.random.RandomState(0)
    Y = rng.randn(30, 2).astype(dtype)
    X = Y[:5] + np.asarray(0.01, dtype)
    indices = np.argsort(((X[:, None] - Y[None]) ** 2).sum(-1), axis=1)[:, :8]
    out = np.empty((5, 8), dtype=dtype)
    barycenter_weights(X, Y, indices.astype(np.int64), 0.0, out)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    # Still rebuilds the point: the ridge is 100 eps of the trace.
    np.testing.assert_allclose(np.einsum("ik,ikf->if", out, Y[indices]), X, atol=1e-3)


def test_lle_reg_zero_fits():
    from skgen import LLE

    X = np.random.RandomState(0).randn(200, 3)
    emb = LLE(n_neighbors=10, reg=0.0).fit_transform(X)
    assert np.all(np.isfinite(emb))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 3, 12, 40])
def test_cholesky_solve_equals_numpy(dtype, k):
    # The kernel's in-place SPD solve, through barycenter_weights (x at the
    # origin, its k neighbours the rows of Z: C = Z Z^T plus the ridge), against
    # numpy.linalg.solve. Well conditioned (a ridge of 1e-3 of the trace): the
    # same normalised weights. At LLE's smallest ridge (reg=0: 100 eps of the
    # trace, condition ~1e13 in float64) the solution itself is ill-determined:
    # the solve must be backward stable, C w = lambda 1 up to
    # 10 k eps ||C|| ||w||, as LAPACK's.
    rng = np.random.RandomState(k)
    eps = float(np.finfo(dtype).eps)
    for reg in (1e-3, 0.0):
        Z = rng.randn(k, max(k // 2, 1)).astype(dtype)
        X = np.zeros((1, Z.shape[1]), dtype=dtype)
        w = np.empty((1, k), dtype=dtype)
        barycenter_weights(X, Z, np.arange(k, dtype=np.int64)[np.newaxis], reg, w)
        Z64 = Z.astype(np.float64)
        C64 = Z64 @ Z64.T
        C64[np.diag_indices(k)] += max(reg, 100 * eps) * np.trace(C64)
        w64 = w[0].astype(np.float64)
        assert w64.sum() == pytest.approx(1.0, rel=10 * k * eps)
        Cw = C64 @ w64
        residual = np.abs(Cw - Cw.mean()).max()
        assert residual <= 10 * k * eps * np.abs(C64).max() * np.abs(w64).sum()
        if reg == 1e-3:
            expected = np.linalg.solve(C64, np.ones(k))
            rtol = 1e-3 if dtype == np.float32 else 1e-9
            np.testing.assert_allclose(w64, expected / expected.sum(), rtol=rtol)
