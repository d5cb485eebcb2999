"""Sparse-coding kernels against plain NumPy references and scikit-learn; the
SparseCoder and DictionaryLearning estimators; bad input."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import DictionaryLearning as SkDictionaryLearning
from sklearn.decomposition import MiniBatchDictionaryLearning
from sklearn.decomposition import sparse_encode as sk_sparse_encode
from sklearn.exceptions import ConvergenceWarning

from skgen import DictionaryLearning, SparseCoder
from skgen.decomposition import sparse_encode


def _problem(n=60, d=20, K=50, nnz=3, noise=0.01, seed=0, dtype=np.float64):
    """Unit-norm Gaussian dictionary and noisy sparse combinations of its atoms."""
    rng = np.random.RandomState(seed)
    D = rng.randn(K, d)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    Z = np.zeros((n, K))
    for i in range(n):
        Z[i, rng.choice(K, nnz, replace=False)] = rng.randn(nnz) * 2
    X = Z @ D + noise * rng.randn(n, d)
    return X.astype(dtype), D.astype(dtype)


# ------------------------------------------------------------ references
def _omp_reference(x, D, n_nonzero):
    """Textbook OMP: pick the atom most correlated with the residual, refit."""
    support, r = [], x.copy()
    for _ in range(n_nonzero):
        support.append(int(np.argmax(np.abs(D @ r))))
        coef, *_ = np.linalg.lstsq(D[support].T, x, rcond=None)
        r = x - coef @ D[support]
    z = np.zeros(D.shape[0])
    z[support] = coef
    return z


def _lar_reference(x, D, n_steps):
    """LAR (Efron et al. 2004, section 2) with dense solves, no updates."""
    K = D.shape[0]
    G, c0 = D @ D.T, D @ x
    z = np.zeros(K)
    active = []
    for step in range(n_steps):
        c = c0 - G @ z
        inactive = [j for j in range(K) if j not in active]
        if not active:
            active.append(inactive[int(np.argmax(np.abs(c[inactive])))])
        C = np.abs(c[active[0]])
        s = np.sign(c[active])
        w = np.linalg.solve(G[np.ix_(active, active)], s)
        AA = 1 / np.sqrt(s @ w)
        u = AA * w
        a = G[:, active] @ u
        inactive = [j for j in range(K) if j not in active]
        steps = [C / AA]
        for j in inactive:
            for g in ((C - c[j]) / (AA - a[j]), (C + c[j]) / (AA + a[j])):
                if g > 1e-12:
                    steps.append(g)
        gamma = min(steps)
        z[active] += gamma * u
        if step + 1 < n_steps:
            c = c0 - G @ z
            new = max(inactive, key=lambda j: abs(c[j]))
            active.append(new)
    return z


def _lasso_kkt_violation(X, D, Z, alpha):
    """Largest violation of the lasso optimality conditions (absolute)."""
    g = (X - Z @ D) @ D.T
    on = Z != 0
    worst_on = np.abs(g[on] - alpha * np.sign(Z[on])).max(initial=0)
    worst_off = np.maximum(np.abs(g[~on]) - alpha, 0).max(initial=0)
    return max(worst_on, worst_off)


def _lars_tolerance(X):
    """The path may stop once max |c_j| is within n_features * float32 eps of
    alpha (scikit-learn's lars_path rule, which the kernel follows)."""
    return X.shape[1] * np.finfo(np.float32).eps + 1e-9


# ---------------------------------------------------------- kernels
@pytest.mark.parametrize("n_nonzero", [1, 3, 8])
def test_omp_matches_reference_and_sklearn(n_nonzero):
    X, D = _problem()
    code = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=n_nonzero)
    ref = np.array([_omp_reference(x, D, n_nonzero) for x in X])
    np.testing.assert_allclose(code, ref, atol=1e-10)
    sk = sk_sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=n_nonzero)
    np.testing.assert_allclose(code, sk, atol=1e-8)
    assert np.all((code != 0).sum(axis=1) == n_nonzero)


def test_omp_error_target_stops_at_tolerance():
    X, D = _problem(noise=0.05)
    tol = 0.5
    code = sparse_encode(X, D, algorithm="omp", alpha=tol)
    resid = ((X - code @ D) ** 2).sum(axis=1)
    assert np.all(resid <= tol + 1e-10)
    # One atom fewer would not have met the target.
    for x, z in zip(X, code):
        k = int((z != 0).sum())
        if k > 1:
            shorter = _omp_reference(x, D, k - 1)
            assert ((x - shorter @ D) ** 2).sum() > tol


@pytest.mark.parametrize("n_steps", [1, 2, 4])
def test_lar_matches_reference_and_sklearn(n_steps):
    X, D = _problem(nnz=4)
    code = sparse_encode(X, D, algorithm="lars", n_nonzero_coefs=n_steps)
    ref = np.array([_lar_reference(x, D, n_steps) for x in X])
    np.testing.assert_allclose(code, ref, atol=1e-9)
    # scikit-learn flips the sign of an active atom whose coefficient crosses zero,
    # which leaves its path; compare where no crossing happens (few steps).
    sk = sk_sparse_encode(X, D, algorithm="lars", n_nonzero_coefs=n_steps)
    np.testing.assert_allclose(code, sk, atol=1e-8)


def test_lar_keeps_equal_correlations():
    # LAR's defining property (Efron et al. 2004, eq. 2.10): every active atom has
    # the same absolute correlation with the residual, no smaller than any other.
    X, D = _problem(K=80, nnz=8, seed=3)
    code = sparse_encode(X, D, algorithm="lars", n_nonzero_coefs=10)
    c = (X - code @ D) @ D.T
    for ci, zi in zip(c, code):
        on = zi != 0
        assert np.ptp(np.abs(ci[on])) < 1e-9
        assert np.abs(ci[~on]).max() <= np.abs(ci[on]).max() + 1e-9


@pytest.mark.parametrize("alpha", [0.01, 0.1, 0.5])
@pytest.mark.parametrize("positive", [False, True])
def test_lasso_lars_is_the_lasso_solution(alpha, positive):
    X, D = _problem()
    code = sparse_encode(X, D, algorithm="lasso_lars", alpha=alpha, positive=positive)
    if positive:
        assert code.min() >= 0
    else:
        assert _lasso_kkt_violation(X, D, code, alpha) <= _lars_tolerance(X)
    sk = sk_sparse_encode(X, D, algorithm="lasso_lars", alpha=alpha, positive=positive)
    np.testing.assert_allclose(code, sk, atol=1e-8)


@pytest.mark.parametrize("alpha", [0.05, 0.5])
def test_lasso_cd_agrees_with_lasso_lars(alpha):
    X, D = _problem()
    lars = sparse_encode(X, D, algorithm="lasso_lars", alpha=alpha)
    cd = sparse_encode(X, D, algorithm="lasso_cd", alpha=alpha)
    np.testing.assert_allclose(cd, lars, atol=1e-5)
    sk = sk_sparse_encode(X, D, algorithm="lasso_cd", alpha=alpha)
    np.testing.assert_allclose(cd, sk, atol=1e-5)


def test_threshold_matches_sklearn():
    X, D = _problem()
    for positive in (False, True):
        np.testing.assert_array_equal(
            sparse_encode(X, D, algorithm="threshold", alpha=0.3, positive=positive),
            sk_sparse_encode(X, D, algorithm="threshold", alpha=0.3, positive=positive),
        )


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), alpha=st.floats(0.005, 1.0),
       K=st.integers(5, 40))
def test_lasso_lars_kkt_property(seed, alpha, K):
    X, D = _problem(n=5, d=12, K=K, seed=seed)
    code = sparse_encode(X, D, algorithm="lasso_lars", alpha=alpha)
    assert np.all(np.isfinite(code))
    assert _lasso_kkt_violation(X, D, code, alpha) <= _lars_tolerance(X)


def test_kernels_without_jit_match_compiled():
    # The same kernels interpreted by Python (NUMBA_DISABLE_JIT=1) give the same
    # codes: the compiled code is the code that was reviewed.
    script = (
        "import numpy as np\n"
        "from tests.decomposition.test_sparse_coding import _problem\n"
        "from skgen.decomposition import sparse_encode\n"
        "X, D = _problem(n=8)\n"
        "out = [sparse_encode(X, D, algorithm=a, n_nonzero_coefs=3, alpha=0.1)\n"
        "       for a in ('omp', 'lars', 'lasso_lars', 'lasso_cd')]\n"
        "np.save(__import__('sys').argv[1], np.stack(out))\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"nojit_{os.getpid()}.npy")
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    subprocess.run([sys.executable, "-c", script, path], check=True, cwd=root, env=env)
    interpreted = np.load(path)
    os.remove(path)
    X, D = _problem(n=8)
    compiled = [sparse_encode(X, D, algorithm=a, n_nonzero_coefs=3, alpha=0.1)
                for a in ("omp", "lars", "lasso_lars", "lasso_cd")]
    np.testing.assert_allclose(interpreted, np.stack(compiled), atol=1e-12)


@pytest.mark.parametrize("n_jobs", [2, -1])
@pytest.mark.parametrize("n", [101, 700])
@pytest.mark.parametrize("algorithm", ["omp", "lars", "lasso_lars", "lasso_cd"])
def test_thread_count_does_not_change_codes(n_jobs, n, algorithm):
    """Bit for bit: the row blocks (each one product X_b D^T) do not follow the
    threads, which follow the machine's load (n_jobs=None). 700 rows are
    several blocks; one product of all of them rounds some rows otherwise."""
    X, D = _problem(n=n)
    kw = dict(algorithm=algorithm, alpha=0.1, n_nonzero_coefs=3)
    ref = sparse_encode(X, D, n_jobs=1, **kw)
    np.testing.assert_array_equal(sparse_encode(X, D, n_jobs=n_jobs, **kw), ref)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(6))
def test_omp_picks_the_largest_correlation_on_magnitude_bits(seed, dtype):
    """OMP's search on the magnitude bits picks NumPy's argmax of |c| (the
    lowest index on ties of either sign; signed zeros and subnormals among
    the values): with orthonormal atoms, one step codes that atom with c_j."""
    from skgen.decomposition._omp import omp_gram

    rng = np.random.RandomState(seed)
    K = int(rng.randint(1, 70))
    c = (rng.randn(K) * 10.0 ** rng.randint(-30, 30, K)).astype(dtype)
    c[rng.rand(K) < 0.2] = -c[0]  # ties in magnitude, of either sign
    c[rng.rand(K) < 0.1] = -0.0
    c[rng.rand(K) < 0.1] = np.finfo(dtype).tiny / 4  # subnormal
    c[rng.randint(K)] = 7.0  # a best correlation well above the tiny stop
    code = np.full((1, K), np.nan, dtype=dtype)
    status = np.zeros(1, dtype=np.int8)
    omp_gram(np.eye(K, dtype=dtype), c[np.newaxis], np.zeros(1, dtype), 1, -1.0, 1e-12,
             code, status, 0, 1)
    j = int(np.argmax(np.abs(c)))
    assert status[0] == 0 and np.flatnonzero(code[0]).tolist() == [j]
    assert code[0, j] == c[j]


def test_dependent_atoms_stop_omp_early():
    X, D = _problem(n=5, d=6, K=8)
    D = np.vstack([D, D[:1]])  # a duplicated atom
    code = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=9)
    assert np.all(np.isfinite(code))
    assert np.all((code != 0).sum(axis=1) <= 6)


# ---------------------------------------------------------- SparseCoder
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("algorithm", ["omp", "lasso_lars", "lars", "lasso_cd",
                                       "threshold"])
def test_sparse_coder_dtypes_orders(dtype, order, algorithm):
    X, D = _problem(dtype=dtype)
    X = np.asarray(X, order=order)
    D = np.asarray(D, order=order)
    coder = SparseCoder(D, transform_algorithm=algorithm, transform_alpha=0.1,
                        transform_n_nonzero_coefs=3).fit(X)
    code = coder.transform(X)
    assert code.dtype == dtype
    ref = SparseCoder(D.astype(np.float64), transform_algorithm=algorithm,
                      transform_alpha=0.1, transform_n_nonzero_coefs=3
                      ).transform(X.astype(np.float64))
    np.testing.assert_allclose(code, ref, atol=1e-3 if dtype == np.float32 else 1e-12)
    assert coder.inverse_transform(code).dtype == dtype
    assert coder.sample(2, random_state=0).dtype == dtype


def test_sparse_coder_score_and_inverse():
    X, D = _problem()
    coder = SparseCoder(D, transform_algorithm="lasso_lars", transform_alpha=0.1)
    code = coder.transform(X)
    np.testing.assert_allclose(coder.inverse_transform(code), code @ D)
    expected = -(0.5 * ((X - code @ D) ** 2).sum(axis=1) + 0.1 * np.abs(code).sum(1))
    np.testing.assert_allclose(coder.score_samples(X), expected, rtol=1e-12)
    assert coder.score(X) == pytest.approx(expected.mean())
    omp = SparseCoder(D, transform_n_nonzero_coefs=3)
    code = omp.transform(X)
    np.testing.assert_allclose(omp.score_samples(X),
                               -0.5 * ((X - code @ D) ** 2).sum(axis=1))


def test_split_sign_round_trip():
    X, D = _problem()
    coder = SparseCoder(D, transform_algorithm="lasso_lars", transform_alpha=0.1,
                        split_sign=True)
    code = coder.transform(X)
    assert code.shape == (X.shape[0], 2 * D.shape[0]) and code.min() >= 0
    plain = SparseCoder(D, transform_algorithm="lasso_lars", transform_alpha=0.1)
    np.testing.assert_allclose(coder.inverse_transform(code),
                               plain.inverse_transform(plain.transform(X)))


def test_sample_follows_fitted_laplace_scales():
    X, D = _problem(n=400)
    coder = SparseCoder(D, transform_algorithm="lasso_lars", transform_alpha=0.05)
    coder.fit(X)
    code = coder.transform(X)
    np.testing.assert_allclose(coder.code_scale_, np.abs(code).mean(axis=0))
    n = 50_000
    Xs = coder.sample(n, random_state=0)
    # Laplace(0, b) codes: E x = 0 and Cov x = D^T diag(2 b^2) D + sigma^2 I.
    cov = (D.T * (2 * coder.code_scale_**2)) @ D + coder.noise_variance_ * np.eye(
        D.shape[1])
    emp = np.cov(Xs, rowvar=False)
    se = np.sqrt(np.outer(np.diag(cov), np.diag(cov)) * 6 / n)  # heavy tails
    assert np.all(np.abs(emp - cov) < 6 * se)


# --------------------------------------------------------- bad input
def test_zero_atom():
    X, D = _problem()
    D[4] = 0
    with pytest.raises(ValueError, match=r"all-zero atoms \(rows \[4\]\)"):
        SparseCoder(D).transform(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_atom_and_input(bad):
    X, D = _problem()
    Dbad = D.copy()
    Dbad[2, 3] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        SparseCoder(Dbad).transform(X)
    Xbad = X.copy()
    Xbad[0, 0] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        SparseCoder(D).transform(Xbad)


def test_too_many_nonzeros():
    X, D = _problem(K=10)
    with pytest.raises(ValueError, match="n_nonzero_coefs=11 is larger than the "
                                         "number of atoms"):
        SparseCoder(D, transform_n_nonzero_coefs=11).transform(X)


def test_width_mismatch_and_positive_omp():
    X, D = _problem()
    with pytest.raises(ValueError, match="features but the dictionary has"):
        SparseCoder(D).transform(X[:, :5])
    with pytest.raises(ValueError, match="positive codes are not supported"):
        SparseCoder(D, positive_code=True).transform(X)


def test_lasso_max_iter_warns():
    X, D = _problem()
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        SparseCoder(D, transform_algorithm="lasso_lars", transform_alpha=0.001,
                    transform_max_iter=1).transform(X)


# ----------------------------------------------------- DictionaryLearning
def _faces_like(n=60, d=30, seed=0):
    X, _ = _problem(n=n, d=d, K=12, nnz=3, seed=seed)
    return X


def test_batch_learning_matches_sklearn():
    X = _faces_like()
    kw = dict(n_components=8, alpha=0.1, max_iter=15, tol=0, random_state=0,
              transform_algorithm="lasso_lars")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = DictionaryLearning(**kw).fit(X)
    ref = SkDictionaryLearning(**kw).fit(X)
    np.testing.assert_allclose(ours.error_, ref.error_, rtol=1e-8)
    np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-7)


def test_batch_objective_decreases_and_atoms_bounded():
    X = _faces_like()
    dl = DictionaryLearning(10, alpha=0.05, max_iter=30, tol=1e-10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dl.fit(X)
    assert np.all(np.diff(dl.error_) <= 1e-9 * dl.error_[0])
    assert np.all(np.linalg.norm(dl.components_, axis=1) <= 1 + 1e-12)
    assert dl.n_iter_ == len(dl.error_)


def test_online_learning_reaches_batch_objective():
    X = _faces_like(n=300)
    kw = dict(n_components=10, alpha=0.1, random_state=0, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        batch = DictionaryLearning(max_iter=50, **kw).fit(X)
    online = DictionaryLearning(max_iter=20, batch_size=32, **kw).fit(X)
    ref = MiniBatchDictionaryLearning(max_iter=20, batch_size=32, **kw).fit(X)

    def objective(D):
        code = sparse_encode(X, D, algorithm="lasso_lars", alpha=0.1)
        return 0.5 * ((X - code @ D) ** 2).sum() + 0.1 * np.abs(code).sum()

    assert objective(online.components_) <= 1.10 * objective(batch.components_)
    # Same start, same shuffling, same updates: scikit-learn's iterates.
    assert objective(online.components_) == pytest.approx(objective(ref.components_),
                                                          rel=1e-6)
    np.testing.assert_allclose(online.components_, ref.components_, atol=1e-5)
    assert online.n_iter_ == 20 and online.n_steps_ == 20 * 10
    assert np.all(np.linalg.norm(online.components_, axis=1) <= 1 + 1e-12)


def test_cd_fit_and_positive_dict():
    X = np.abs(_faces_like())
    dl = DictionaryLearning(6, alpha=0.1, max_iter=10, fit_algorithm="cd",
                            positive_dict=True, positive_code=True,
                            transform_algorithm="lasso_cd", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dl.fit(X)
    assert dl.components_.min() >= 0
    assert dl.transform(X).min() >= 0


def test_dict_init_and_bad_init_shapes():
    X = _faces_like()
    D0 = np.random.RandomState(0).randn(5, X.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dl = DictionaryLearning(5, alpha=0.1, max_iter=1, dict_init=D0).fit(X)
    assert dl.components_.shape == (5, X.shape[1])
    with pytest.raises(ValueError, match="dict_init has shape"):
        DictionaryLearning(4, dict_init=D0).fit(X)
    D0[1] = 0
    with pytest.raises(ValueError, match="all-zero atoms"):
        DictionaryLearning(5, dict_init=D0).fit(X)


def test_learning_is_reproducible_and_samples():
    X = _faces_like()
    kw = dict(n_components=6, alpha=0.1, max_iter=5, batch_size=16, random_state=1)
    a = DictionaryLearning(**kw).fit(X)
    b = DictionaryLearning(**kw).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    assert a.sample(3, random_state=0).shape == (3, X.shape[1])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_learning_rejects_non_finite(bad):
    X = _faces_like()
    X[1, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        DictionaryLearning(4).fit(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("batch_size", [None, 16])
def test_learning_dtypes_and_orders(dtype, order, batch_size):
    X = np.asarray(_faces_like(), dtype=dtype, order=order)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dl = DictionaryLearning(5, alpha=0.1, max_iter=3, batch_size=batch_size,
                                random_state=0).fit(X)
    assert dl.components_.dtype == dtype
    assert dl.transform(X).dtype == dtype
    assert np.all(np.isfinite(dl.error_))
    ref = DictionaryLearning(5, alpha=0.1, max_iter=3, batch_size=batch_size,
                             random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(np.ascontiguousarray(X, dtype=np.float64))
    tol = 1e-3 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(dl.components_, ref.components_, atol=tol)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_nonzero", [None, 3])
def test_dictionary_learning_omp_transform_gives_n_nonzero_coefs(seed, dtype, n_nonzero):
    """Regression: transform_alpha=None made OMP take ``alpha`` (the learning
    penalty) as a residual target, ignoring transform_n_nonzero_coefs. scikit-learn
    gives exactly that many non-zeros per row (default max(n_features / 10, 1))."""
    X = _faces_like(seed=seed).astype(dtype)
    kw = dict(n_components=8, max_iter=3, random_state=seed, transform_algorithm="omp",
              transform_n_nonzero_coefs=n_nonzero)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = DictionaryLearning(**kw).fit(X)
        ref = SkDictionaryLearning(**kw).fit(X)
    expected = n_nonzero or max(X.shape[1] // 10, 1)
    counts = (ours.transform(X) != 0).sum(axis=1)
    assert np.all(counts == expected)
    np.testing.assert_array_equal(counts, (ref.transform(X) != 0).sum(axis=1))


@pytest.mark.parametrize("params,match", [
    (dict(positive_code=True, transform_algorithm="omp"), "positive codes"),
    (dict(positive_code=True, transform_algorithm="lars"), "positive codes"),
    (dict(transform_algorithm="omp", transform_n_nonzero_coefs=9), "larger than"),
    (dict(transform_algorithm="lars", transform_n_nonzero_coefs=9), "larger than"),
])
def test_transform_parameters_refused_in_transform(params, match):
    """scikit-learn's DictionaryLearning fits with any transform option and refuses
    it in transform (its faces gallery example fits positive_code with 'omp')."""
    X = _faces_like()
    model = DictionaryLearning(n_components=6, max_iter=1, **params).fit(X)
    assert np.all(np.isfinite(model.components_))
    assert np.isfinite(model.noise_variance_)
    with pytest.raises(ValueError, match=match):
        model.transform(X)
    D = np.random.RandomState(0).randn(6, X.shape[1])
    with pytest.raises(ValueError, match=match):
        SparseCoder(D, **params).fit(X)


@pytest.mark.parametrize("scale", [1e200, 1e300])
@pytest.mark.parametrize("batch_size", [None, 10])
def test_overflowing_input_raises_instead_of_hanging(scale, batch_size):
    """Regression: finite X whose products overflow sent NaN into the LARS kernel,
    whose regularisation loop never ended (DictionaryLearning hung)."""
    X = _faces_like() * scale
    with pytest.raises(ValueError, match="overflow"):
        DictionaryLearning(n_components=4, max_iter=2, batch_size=batch_size,
                           random_state=0).fit(X)
    # sparse_encode itself codes X * 2^-k with the penalty scaled alike: the
    # same codes as the unit-scale problem, times the scale, no overflow.
    D = np.random.RandomState(0).randn(3, X.shape[1])
    unit = sparse_encode(X / scale, D, algorithm="lasso_lars", alpha=0.1)
    big = sparse_encode(X, D, algorithm="lasso_lars", alpha=0.1 * scale)
    assert np.all(np.isfinite(big))
    np.testing.assert_allclose(big / scale, unit, rtol=1e-6, atol=1e-12)


def test_lars_kernel_terminates_on_nan_gram():
    """The kernel's own guard: a NaN Gram stops the path with a status, no hang."""
    from skgen.decomposition._lars import STOP_NONFINITE, lars_gram

    G = np.full((3, 3), np.nan)
    cov = np.ones((2, 3))
    codes = np.zeros((2, 3))
    status = np.zeros(2, dtype=np.int8)
    lars_gram(G, cov, 0.0, 1e-6, False, False, 3, 100, codes, status, 0, len(cov))
    assert set(status) <= {STOP_NONFINITE, 1}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("positive", [False, True])
def test_largest_correlation_matches_numpy(seed, positive, dtype):
    """The masked max on integer keys and its index: NumPy's argmax over the
    free atoms (ties of equal values and of either sign, magnitudes from
    subnormal to large, the lowest free index winning)."""
    from skgen.decomposition._lars import _integer_views, _largest_correlation

    rng = np.random.RandomState(seed)
    K = int(rng.randint(1, 70))
    c = (rng.randn(K) * 10.0 ** rng.randint(-30, 30, K)).astype(dtype)
    c[rng.rand(K) < 0.2] = c[0]  # ties: the lowest free index wins
    c[rng.rand(K) < 0.2] = -c[0]
    c[rng.rand(K) < 0.1] = np.finfo(dtype).tiny / 4  # subnormal
    if seed % 2:
        c = -np.abs(c)  # positive=True over negative correlations only
    free = rng.rand(K) < 0.7
    bias = np.where(free, 0.0, -np.inf).astype(dtype)
    C, j = _largest_correlation(c, positive, *_integer_views(c, bias))
    if not free.any():
        assert (C, j) == (0.0, -1)
        return
    v = np.where(free, c if positive else np.abs(c), -np.inf)
    assert j == int(np.argmax(v)) and C == v[j]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("ties", [False, True])
def test_step_length_matches_numpy(seed, positive, ties):
    """gamma-hat (eq. 2.13) of the kernel's first step: the least positive ratio
    over the free atoms. One active atom of unit norm (AA = 1, ls = s), so the
    code after one step is s gamma and corr_j = G[j0, j] s. With ``ties``, most
    ratios equal one value up to rounding: the screen in front of the exact
    tests must not drop the least."""
    from skgen.decomposition._lars import _TINY32, lars_gram

    rng = np.random.RandomState(seed)
    K = 40
    c = rng.uniform(-1, 1, K)
    j0 = int(np.argmax(c if positive else np.abs(c)))
    C = float(c[j0] if positive else abs(c[j0]))
    s = 1.0 if positive or c[j0] > 0 else -1.0
    corr = rng.uniform(-3, 3, K)
    if ties:
        g0 = 0.3 * C
        side = rng.rand(K) < 0.5
        # (C - c) / (1 - corr) = g0, or (C + c) / (1 + corr) = g0.
        corr = np.where(side | positive, 1 - (C - c) / g0, (C + c) / g0 - 1)
        corr *= 1 + rng.choice([-1, 0, 1], K) * np.finfo(float).eps
    G = np.eye(K)
    G[j0, :] = G[:, j0] = corr * s
    G[j0, j0] = 1.0
    free = np.arange(K) != j0
    ratios = [(C - c) / (1.0 - corr + _TINY32)]
    if not positive:
        ratios.append((C + c) / (1.0 + corr + _TINY32))
    r = np.concatenate([np.where(free & (q > 0), q, np.inf) for q in ratios])
    expected = min(C, r.min())
    codes = np.zeros((1, K))
    status = np.zeros(1, dtype=np.int8)
    lars_gram(G, c[np.newaxis], 0.0, 1e-300, True, positive, 1, 10, codes, status, 0, 1)
    assert codes[0, j0] == s * expected
    assert np.count_nonzero(codes) == 1


def _lasso_path_drops(x, D, alpha):
    """Atoms that leave scikit-learn's LARS-lasso path of x before alpha (its
    lars_path, with sparse_encode's scaling of alpha)."""
    from sklearn.linear_model import lars_path

    G = D @ D.T
    _, _, coefs = lars_path(D.T, x, Xy=D @ x, Gram=G, method="lasso",
                            alpha_min=alpha / D.shape[1])
    on = coefs != 0
    return int(np.sum(on[:, :-1] & ~on[:, 1:]))


@pytest.mark.parametrize("seed", range(3))
def test_lasso_path_with_drops_matches_sklearn(seed):
    """Paths on which atoms leave (the Givens downdate of the factor, the
    forward solve again from the removed row, the returning atom's exact
    correlation): the codes equal scikit-learn's."""
    X, D = _problem(n=40, d=16, K=60, nnz=6, noise=0.05, seed=seed)
    alpha = 0.02
    drops = [_lasso_path_drops(x, D, alpha) for x in X]
    assert sum(drops) >= 5 and max(drops) >= 2
    code = sparse_encode(X, D, algorithm="lasso_lars", alpha=alpha)
    sk = sk_sparse_encode(X, D, algorithm="lasso_lars", alpha=alpha)
    np.testing.assert_allclose(code, sk, atol=1e-8)
    assert _lasso_kkt_violation(X, D, code, alpha) <= _lars_tolerance(X)


@pytest.mark.parametrize("seed", [0, 3, 5])
def test_lasso_with_duplicate_atoms_stays_finite(seed):
    """Dependent atoms (duplicates, of either sign) are skipped, never divided
    by: the codes are finite, and their lasso objective is within 1% of
    scikit-learn's (which of the duplicates is taken, hence the path, follows
    the last bits of the correlations: measured within 7e-4 of it, and below
    it on most rows)."""
    X, D = _problem(n=30, d=12, K=20, nnz=4, seed=seed)
    D = np.vstack([D, D[:5], -D[5:8]])
    code = sparse_encode(X, D, algorithm="lasso_lars", alpha=0.05)
    assert np.all(np.isfinite(code))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = sk_sparse_encode(X, D, algorithm="lasso_lars", alpha=0.05)

    def objective(Z):
        return 0.5 * ((X - Z @ D) ** 2).sum(axis=1) + 0.05 * np.abs(Z).sum(axis=1)

    assert np.all(objective(code) <= 1.01 * objective(sk))


# ----------------------------------------- online stopping, partial_fit, callback
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("tol,max_no_improvement", [(1e-3, 10), (0.0, 3), (1e-8, 10)])
def test_online_stops_at_sklearns_step(seed, tol, max_no_improvement):
    """MiniBatchDictionaryLearning's stopping rule: the same arguments stop at the
    same step (the issue: 6,700 steps where scikit-learn stopped after 111)."""
    from skgen import MiniBatchDictionaryLearning as OurMiniBatch

    X = _faces_like(n=200, seed=seed)
    kw = dict(n_components=8, alpha=0.1, batch_size=5, max_iter=30, tol=tol,
              max_no_improvement=max_no_improvement)
    ref = MiniBatchDictionaryLearning(random_state=seed, **kw).fit(X)
    ours = OurMiniBatch(random_state=seed, **kw).fit(X)
    same = DictionaryLearning(random_state=seed, **kw).fit(X)
    assert ours.n_steps_ == ref.n_steps_ == same.n_steps_
    assert ours.n_iter_ == ref.n_iter_
    assert ref.n_steps_ < 30 * 40  # the rule did stop
    np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-6)


def test_minibatch_defaults_are_sklearns():
    from skgen import MiniBatchDictionaryLearning as OurMiniBatch

    ours, ref = OurMiniBatch().get_params(), MiniBatchDictionaryLearning().get_params()
    assert ours == ref


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_partial_fit_follows_sklearn(dtype):
    X = _faces_like(n=90).astype(dtype)
    from skgen import MiniBatchDictionaryLearning as OurMiniBatch

    kw = dict(n_components=6, alpha=0.1, random_state=0)
    ours, ref = OurMiniBatch(**kw), MiniBatchDictionaryLearning(**kw)
    for start in range(0, 90, 15):
        ours.partial_fit(X[start:start + 15])
        ref.partial_fit(X[start:start + 15])
    assert ours.n_steps_ == ref.n_steps_ == 6
    assert ours.components_.dtype == dtype
    np.testing.assert_allclose(ours.components_, ref.components_,
                               atol=1e-4 if dtype == np.float32 else 1e-8)
    # sample and score work after partial_fit alone.
    assert ours.sample(3, random_state=0).shape == (3, X.shape[1])
    assert np.isfinite(ours.score(X))
    with pytest.raises(ValueError, match="features"):
        ours.partial_fit(X[:5, :10])


def test_partial_fit_after_fit_continues():
    X = _faces_like(n=120)
    model = DictionaryLearning(n_components=6, alpha=0.1, batch_size=20, max_iter=2,
                               random_state=0).fit(X)
    steps, before = model.n_steps_, model.components_.copy()
    model.partial_fit(X[:20])
    assert model.n_steps_ == steps + 1
    assert not np.array_equal(model.components_, before)


@pytest.mark.parametrize("batch_size", [None, 10])
def test_callback_is_called_each_step(batch_size):
    X = _faces_like()
    seen = []
    model = DictionaryLearning(n_components=6, alpha=0.1, max_iter=3, tol=0,
                               batch_size=batch_size, max_no_improvement=None,
                               callback=lambda env: seen.append(sorted(env)),
                               random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    assert len(seen) == model.n_steps_ and all("self" in env for env in seen)


def test_sparse_encode_has_sklearns_signature_and_codes():
    import inspect

    from sklearn.decomposition import sparse_encode as sk

    assert list(inspect.signature(sk).parameters) == list(
        inspect.signature(sparse_encode).parameters)
    for name, p in inspect.signature(sk).parameters.items():
        assert inspect.signature(sparse_encode).parameters[name].default == p.default
    X, D = _problem()
    cov, gram = D @ X.T, D @ D.T
    # (For 'omp', scikit-learn 1.9 ignores alpha although its docstring says it
    # is the residual target; ours does what the docstring says, so alpha is
    # left out there.)
    for algorithm, alpha in (("omp", None), ("lasso_lars", 0.1), ("threshold", 0.1)):
        ref = sk(X.tolist(), D, gram=gram, cov=cov, algorithm=algorithm, alpha=alpha)
        ours = sparse_encode(X.tolist(), D, gram=gram, cov=cov, algorithm=algorithm,
                             alpha=alpha, copy_cov=False, verbose=0)
        np.testing.assert_allclose(ours, ref, atol=1e-8)
    with pytest.raises(ValueError, match="cov has shape"):
        sparse_encode(X, D, cov=cov.T)
    with pytest.raises(ValueError, match="NaN|infinity"):
        sparse_encode(np.full_like(X, np.nan), D)
    with pytest.raises(ValueError, match="features but the dictionary"):
        sparse_encode(X[:, :3], D)
