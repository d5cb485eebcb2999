"""Weighted centred moments and Chan et al.'s pairwise merge against NumPy references."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skgen.utils._moments import (
    _centred_square_sums,
    block_moments,
    merge_moments,
    moments,
    reduce_moments,
)


def _reference(X, resp):
    """Two-pass float64 weights, means and full scatter of every group."""
    X = X.astype(np.float64)
    resp = resp.astype(np.float64)
    w = resp.sum(axis=0)
    means = (resp.T @ X) / np.where(w > 0, w, 1)[:, None]
    scatter = np.stack(
        [(resp[:, k, None] * (X - means[k])).T @ (X - means[k]) for k in range(resp.shape[1])]
    )
    return w, means, scatter


def _data(seed, n=200, d=4, K=3, dtype=np.float64, offset=0.0):
    rng = np.random.RandomState(seed)
    X = (rng.randn(n, d) * rng.uniform(0.1, 3, size=d) + offset).astype(dtype)
    resp = rng.dirichlet(np.full(K, 0.3), size=n).astype(dtype)
    return X, resp


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("kind", ["full", "tied", "diag", "mean"])
def test_block_moments_match_two_pass_reference(seed, kind):
    X, resp = _data(seed)
    w, means, scatter = _reference(X, resp)
    got = block_moments(X, resp, kind)
    np.testing.assert_allclose(got.weight, w, rtol=1e-12)
    np.testing.assert_allclose(got.mean, means, rtol=1e-10, atol=1e-12)
    expected = {
        "full": scatter,
        "tied": scatter.sum(axis=0),
        "diag": np.diagonal(scatter, axis1=1, axis2=2),
        "mean": None,
    }[kind]
    if expected is None:
        assert got.scatter is None
    else:
        np.testing.assert_allclose(got.scatter, expected, rtol=1e-10, atol=1e-10)


def test_no_resp_is_one_group_of_unit_weights():
    X, _ = _data(0)
    got = block_moments(X)
    np.testing.assert_allclose(got.weight, [X.shape[0]])
    np.testing.assert_allclose(got.mean[0], X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(got.scatter[0], np.cov(X.T, bias=True) * X.shape[0], rtol=1e-10)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    cuts=st.lists(st.integers(1, 199), min_size=0, max_size=6),
    kind=st.sampled_from(["full", "tied", "diag", "mean"]),
)
def test_merge_of_any_split_equals_whole(seed, cuts, kind):
    """Chan's rule: merging the moments of any partition gives the whole's moments."""
    X, resp = _data(seed % 1000)
    resp[: seed % 7] = 0  # groups may be empty in a part
    bounds = [0, *sorted(set(cuts)), X.shape[0]]
    parts = [block_moments(X[a:b], resp[a:b], kind) for a, b in zip(bounds, bounds[1:]) if b > a]
    whole = block_moments(X, resp, kind)
    merged = reduce_moments(parts)
    np.testing.assert_allclose(merged.weight, whole.weight, rtol=1e-12)
    np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-10, atol=1e-12)
    if kind != "mean":
        np.testing.assert_allclose(merged.scatter, whole.scatter, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_blocked_moments_equal_one_block(seed):
    X, resp = _data(seed, n=3000, d=6, K=4)
    blocked = moments(X, resp, "full", block_bytes=4096)  # many small blocks
    whole = block_moments(X, resp, "full")
    np.testing.assert_allclose(blocked.scatter, whole.scatter, rtol=1e-10)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("kind", ["full", "tied", "diag"])
def test_float32_far_from_origin_keeps_small_variances(seed, kind):
    """Tight groups offset by 1e4, one of a single row: float32 scatter within 1% of
    the float64 scatter of the same (quantised) rows, and never negative. Scatter
    about the origin (or a global centre) loses every digit here."""
    rng = np.random.RandomState(seed)
    X = (1e4 + 0.1 * rng.randn(501, 3)).astype(np.float32)
    X[:250] += 5
    resp = np.zeros((501, 3), dtype=np.float32)
    resp[:250, 0] = resp[250:500, 1] = resp[500, 2] = 1
    got = moments(X, resp, kind, block_bytes=2048)
    _, _, ref = _reference(X, resp)
    ref = {"full": ref, "tied": ref.sum(0), "diag": np.diagonal(ref, axis1=1, axis2=2)}[kind]
    np.testing.assert_allclose(got.scatter, ref, rtol=1e-2, atol=1e-2 * np.abs(ref).max())
    diag = got.scatter if kind == "diag" else np.diagonal(got.scatter, axis1=-2, axis2=-1)
    assert np.all(diag >= 0)
    if kind != "tied":
        assert np.all(diag[2] == 0)  # a single row has no spread


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_square_sum_kernel_matches_numpy(dtype):
    X, resp = _data(3, dtype=dtype)
    resp[resp < 0.2] = 0  # exercises the zero-weight skip
    means = np.random.RandomState(1).randn(3, 4).astype(dtype)
    out = np.zeros((3, 4), dtype=dtype)
    _centred_square_sums(X, resp, means, out)
    expected = np.einsum("nk,knd->kd", resp, (X[None] - means[:, None]) ** 2)
    np.testing.assert_allclose(out, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_bad_arguments_raise():
    X, resp = _data(0)
    with pytest.raises(ValueError, match="kind"):
        block_moments(X, resp, "spherical")
    with pytest.raises(ValueError, match="rows"):
        block_moments(X, resp[:10])
    with pytest.raises(ValueError, match="merge"):
        merge_moments(block_moments(X, resp, "full"), block_moments(X, resp, "diag"))
    with pytest.raises(ValueError, match="at least one"):
        reduce_moments([])


@pytest.mark.parametrize("kind", ["full", "tied"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unweighted_block_moments_equal_the_one_group_of_unit_weights(kind, dtype):
    # resp=None takes a one-pass path; it must equal resp = ones((n, 1)) and
    # the naive centred sums.
    rng = np.random.RandomState(0)
    X = (rng.randn(257, 6) * [1, 2, 3, 4, 5, 6] + 1e3).astype(dtype)
    fast = block_moments(X, None, kind)
    general = block_moments(X, np.ones((257, 1), dtype), kind)
    naive = np.cov(X.astype(np.float64), rowvar=False, bias=True) * 257
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    for m in (fast, general):
        np.testing.assert_allclose(m.weight, [257])
        np.testing.assert_allclose(m.mean[0], X.astype(np.float64).mean(0), rtol=rtol)
        np.testing.assert_allclose(np.reshape(m.scatter, (6, 6)), naive, rtol=rtol, atol=rtol)
    assert block_moments(X[:0], None, kind).weight[0] == 0
