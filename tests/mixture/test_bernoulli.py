"""BernoulliMixture against a naive NumPy EM written from the notes' formulas."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp

from skgen import BernoulliMixture


def naive_bernoulli_em(X, weights, means, n_iter, alpha, weight_prior):
    """EM for a mixture of Bernoullis, one loop per component (Bishop 9.3.3).

    E-step (9.56): gamma_nk = pi_k p(x_n | mu_k) / sum_j pi_j p(x_n | mu_j) with
    p(x | mu) = prod_i mu_i^x_i (1 - mu_i)^(1 - x_i).
    M-step (9.59-9.60), MAP: mu_k = (sum_n gamma_nk x_n + alpha) / (N_k + 2 alpha),
    pi_k = (N_k + a - 1) / (N + K (a - 1)).
    """
    N, D = X.shape
    K = len(weights)
    history = []
    for _ in range(n_iter):
        log_joint = np.empty((N, K))
        for k in range(K):
            log_px = np.zeros(N)
            for i in range(D):
                log_px += X[:, i] * np.log(means[k, i]) + (1 - X[:, i]) * np.log(1 - means[k, i])
            log_joint[:, k] = np.log(weights[k]) + log_px
        log_norm = logsumexp(log_joint, axis=1)
        gamma = np.exp(log_joint - log_norm[:, None])
        # MAP objective: mean log-likelihood + log prior / N (constants dropped).
        log_prior = alpha * np.sum(np.log(means) + np.log(1 - means))
        log_prior += (weight_prior - 1) * np.sum(np.log(weights))
        history.append(log_norm.mean() + log_prior / N)
        Nk = gamma.sum(0)
        means = np.array([(gamma[:, k] @ X + alpha) / (Nk[k] + 2 * alpha) for k in range(K)])
        weights = (Nk + weight_prior - 1) / (N + K * (weight_prior - 1))
    return weights, means, np.array(history)


@pytest.fixture
def binary_data():
    rng = np.random.RandomState(0)
    protos = rng.uniform(0.05, 0.95, size=(3, 12))
    z = rng.randint(3, size=400)
    return (rng.uniform(size=(400, 12)) < protos[z]).astype(float)


@pytest.mark.parametrize("alpha,weight_prior", [(1e-2, 1.01), (0.5, 2.0), (0.0, 1.0)])
def test_matches_naive_em(binary_data, alpha, weight_prior):
    X = binary_data
    rng = np.random.RandomState(1)
    w0 = np.array([0.2, 0.3, 0.5])
    mu0 = rng.uniform(0.2, 0.8, size=(3, 12))
    bm = BernoulliMixture(
        3, binarize=None, alpha=alpha, weight_concentration_prior=weight_prior,
        weights_init=w0, means_init=mu0, tol=0, max_iter=12,
    )
    with pytest.warns(Warning):
        bm.fit(X)
    w, mu, history = naive_bernoulli_em(X, w0, mu0, 12, alpha, weight_prior)
    np.testing.assert_allclose(bm.weights_, w, rtol=1e-10)
    np.testing.assert_allclose(bm.means_, mu, rtol=1e-10)
    np.testing.assert_allclose(bm.lower_bounds_, history, rtol=1e-10)
    assert np.all(np.diff(history) >= -1e-12)


def test_sparse_equals_dense(binary_data):
    X = binary_data
    kw = dict(binarize=None, random_state=0, n_init=2, init_params="random")
    dense = BernoulliMixture(3, **kw).fit(X)
    sparse = BernoulliMixture(3, **kw).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(sparse.means_, dense.means_, rtol=1e-10)
    np.testing.assert_allclose(sparse.lower_bound_, dense.lower_bound_, rtol=1e-12)
    np.testing.assert_allclose(
        sparse.score_samples(sp.csr_matrix(X)), dense.score_samples(X), rtol=1e-12
    )
    # Other sparse formats are used as CSR.
    np.testing.assert_allclose(dense.predict_proba(sp.csc_matrix(X)), dense.predict_proba(X))


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random_from_data",
                                         "random"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sparse_equals_dense_for_every_start(init_params, seed):
    """Regression: with the default 'kmeans' start, scikit-learn's KMeans broke the
    ties between binary rows differently on CSR input (binarized digits > 7,
    K=10: means 8e-3 apart, 12 vs 13 iterations)."""
    from sklearn.datasets import load_digits

    X = (load_digits().data > 7).astype(np.float64)
    kw = dict(random_state=seed, init_params=init_params)
    dense = BernoulliMixture(10, **kw).fit(X)
    sparse = BernoulliMixture(10, **kw).fit(sp.csr_matrix(X))
    assert sparse.n_iter_ == dense.n_iter_
    np.testing.assert_allclose(sparse.means_, dense.means_, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_rows_held_as_csr_equal_the_dense_path(dtype, seed, monkeypatch):
    """Large, sparse dense binary rows go through the CSR kernels (above
    CSR_MIN_ENTRIES); the dense path gives the same fit."""
    from skgen.utils import _csr

    rng = np.random.RandomState(seed)
    X = (rng.uniform(size=(700, 400)) < 0.1).astype(dtype)
    assert X.size >= _csr.CSR_MIN_ENTRIES
    assert _csr.dense_to_csr(X, exact=True) is not None
    kw = dict(binarize=None, random_state=seed, max_iter=5, tol=0)
    csr = BernoulliMixture(4, **kw).fit(X)
    monkeypatch.setattr(_csr, "CSR_MIN_ENTRIES", X.size + 1)
    assert _csr.dense_to_csr(X, exact=True) is None
    dense = BernoulliMixture(4, **kw).fit(X)
    # float32: the dense path's products round in float32, the CSR counts
    # accumulate in float64.
    rtol, atol = (1e-4, 1e-5) if dtype == np.float32 else (1e-10, 1e-12)
    np.testing.assert_allclose(csr.means_, dense.means_, rtol=rtol, atol=atol)
    np.testing.assert_allclose(csr.score_samples(X), dense.score_samples(X), rtol=rtol)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_negligible_responsibilities_left_out_change_nothing(seed, dtype, monkeypatch):
    """The CSR pass leaves responsibilities below eps min(alpha, prior - 1) /
    n_samples out of the counts (most of them on well-separated rows): the fit
    equals the one that adds every responsibility, to rounding."""
    rng = np.random.RandomState(seed)
    protos = rng.uniform(size=(8, 120)) ** 2
    X = (rng.uniform(size=(1500, 120)) < protos[rng.randint(8, size=1500)]).astype(dtype)
    Xs = sp.csr_matrix(X)
    kw = dict(n_components=8, random_state=seed, max_iter=8, tol=0)
    cut = BernoulliMixture(**kw).fit(Xs)
    assert cut._negligible_responsibility(1500, np.dtype(dtype)) > 0
    # 1.1-1.5 of a row's 8 responsibilities are above 1e-22: most rows take
    # the one-component path. (A threshold of 1e-9 moves the means by 4e-12
    # to 3e-8 relative.)
    assert np.mean(np.sum(cut.predict_proba(Xs) > 1e-22, axis=1)) < 2
    monkeypatch.setattr(BernoulliMixture, "_negligible_responsibility",
                        lambda self, n, dtype: 0.0)
    full = BernoulliMixture(**kw).fit(Xs)
    # EM's iterations amplify the first one-ulp differences (up to 4e-13).
    rtol = 1e-5 if dtype == np.float32 else 2e-12
    np.testing.assert_allclose(cut.means_, full.means_, rtol=rtol)
    np.testing.assert_allclose(cut.weights_, full.weights_, rtol=rtol)
    np.testing.assert_allclose(cut.lower_bounds_, full.lower_bounds_, rtol=rtol)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_label_statistics_are_those_of_one_hot_responsibilities(binary_data, weighted,
                                                                dtype, seed):
    """The 'kmeans' start's assignment on CSR rows sums each row into its
    label's counts: the statistics of the one-hot responsibilities, bit for bit
    (float32 weighted: the one-hot rows round the weights to float32 first)."""
    from skgen.mixture._passes import one_hot

    X = sp.csr_matrix(binary_data.astype(dtype))
    rng = np.random.RandomState(seed)
    labels = rng.randint(3, size=X.shape[0])
    labels[:5] = 0  # component 2 may be empty below: a label no row has
    labels[labels == 2] = 1 if seed == 2 else 2
    weights = rng.uniform(0.5, 2.0, size=X.shape[0]) if weighted else None
    bm = BernoulliMixture(3)
    fast = bm._label_statistics(X, labels, weights)
    slow = bm._statistics(X, one_hot(labels, 3, X.dtype, weights))
    rtol = 1e-6 if weighted and dtype == np.float32 else 0
    for a, b in zip(fast[:2], slow[:2]):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=0)
    assert fast[2] is None and slow[2] is None


def test_label_statistics_with_missing_entries_keep_their_missing_mass(binary_data):
    """A stored NaN (missing) takes the one-hot product, which keeps the mass of
    the rows that observed each pixel."""
    from skgen.mixture._passes import one_hot

    X = binary_data.copy()
    X[3, 4] = X[10, 0] = np.nan
    S = sp.csr_matrix(X)
    labels = np.random.RandomState(0).randint(3, size=X.shape[0])
    bm = BernoulliMixture(3)
    fast = bm._label_statistics(S, labels, None)
    slow = bm._statistics(S, one_hot(labels, 3, S.dtype, None))
    assert fast[2] is not None
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(fast[1]).all()


def test_sparse_is_not_densified(binary_data, monkeypatch):
    X = sp.csr_matrix(binary_data)

    def forbid(*args, **kwargs):
        raise AssertionError("densified")

    monkeypatch.setattr(sp.csr_matrix, "toarray", forbid)
    monkeypatch.setattr(sp.csr_matrix, "todense", forbid)
    BernoulliMixture(2, binarize=None, init_params="random", random_state=0).fit(X).score(X)


def test_binarize_threshold_like_bernoulli_nb():
    X = np.array([[0.0, 0.2, 0.7], [1.0, -1.0, 0.5]] * 10)
    bm = BernoulliMixture(1, binarize=0.5, alpha=0.0).fit(X)
    expected = (X > 0.5).mean(axis=0)
    np.testing.assert_allclose(bm.means_[0], np.clip(expected, 1e-15, 1 - 1e-15), atol=1e-12)
    bm0 = BernoulliMixture(1, alpha=0.0).fit(X)  # default threshold 0.0
    np.testing.assert_allclose(bm0.means_[0], np.clip((X > 0).mean(0), 1e-15, 1 - 1e-15), atol=1e-12)


def test_non_binary_input_names_offending_values():
    X = np.array([[0, 1, 0.5], [1, 0, 2.0], [0, 0, 1]] * 4)
    with pytest.raises(ValueError, match=r"binary.*0\.5, 2"):
        BernoulliMixture(2, binarize=None).fit(X)
    fitted = BernoulliMixture(2, binarize=None).fit((X >= 1).astype(float))
    with pytest.raises(ValueError, match="binary"):
        fitted.predict(X)
    with pytest.raises(ValueError, match="binary"):
        BernoulliMixture(2, binarize=None).fit(sp.csr_matrix(X))


def test_empty_component_falls_back_to_prior(binary_data):
    # A component that owns no points: its means go to the prior's 0.5, no NaN.
    X = np.zeros((50, 6))
    X[25:] = 1
    means_init = np.array([[0.01] * 6, [0.99] * 6, [0.5] * 6])
    bm = BernoulliMixture(
        3, binarize=None, means_init=means_init, weights_init=[0.5, 0.5 - 1e-12, 1e-12],
        max_iter=20,
    ).fit(X)
    assert np.all(np.isfinite(bm.means_)) and np.all(np.isfinite(bm.weights_))
    assert np.all((bm.means_ > 0) & (bm.means_ < 1))
    assert np.all(bm.weights_ > 0)
    assert np.all(np.isfinite(bm.score_samples(X)))


def test_no_prior_keeps_log_likelihood_finite():
    X = np.zeros((40, 5))
    X[20:, :2] = 1
    bm = BernoulliMixture(2, binarize=None, alpha=0.0, weight_concentration_prior=1.0,
                          random_state=0).fit(X)
    assert np.all(np.isfinite(bm.score_samples(X)))
    assert np.all(np.isfinite(bm.lower_bounds_))


def test_float32_end_to_end(binary_data):
    X32 = binary_data.astype(np.float32)
    bm = BernoulliMixture(3, random_state=0).fit(X32)
    assert bm.means_.dtype == bm.weights_.dtype == np.float32
    assert bm.predict_proba(X32).dtype == np.float32
    assert bm.score_samples(X32).dtype == np.float32
    assert bm.sample(5)[0].dtype == np.float32
    bm64 = BernoulliMixture(3, random_state=0).fit(binary_data)
    np.testing.assert_allclose(bm.lower_bound_, bm64.lower_bound_, rtol=1e-5)


@pytest.mark.parametrize(
    "params,match",
    [
        (dict(means_init=np.full((2, 12), 1.0)), "means_init"),
        (dict(means_init=np.full((3, 12), 0.5)), "means_init"),
        (dict(weights_init=[1.0, 1.0]), "sum to 1"),
        (dict(alpha=-1.0), "alpha"),
        (dict(weight_concentration_prior=0.5), "weight_concentration_prior"),
        (dict(binarize="yes"), "binarize"),
    ],
)
def test_invalid_parameters(binary_data, params, match):
    with pytest.raises(ValueError, match=match):
        BernoulliMixture(2, **params).fit(binary_data)
