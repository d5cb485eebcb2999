"""The hostile-input sweep: every estimator, every method, on extreme and degenerate X.

Each case either works, with finite fitted attributes and finite outputs, or
raises ValueError / TypeError whose message names the problem (the value, the
dtype and the limit of a magnitude error; sparse input where dense is needed;
zero variance): never another exception (a crash inside numba, LAPACK or JAX),
never NaN or inf, never an error on an input class that must work. Decisions
per input class:

- squares that overflow (|x| above sqrt(max / (n d)): 1e300 or finfo.max in
  float64, 1e19 and above in float32, one outlier row of 1e200) or underflow
  (nonzero |x| below sqrt(tiny / eps): 1e-300, 1e-30 in float32): ValueError from
  ``check_magnitude``, except in BernoulliMixture, which thresholds X and squares
  nothing; VAE and DenoisingAE compute in float32 and check against its limits;
- all-zero and constant X: every estimator fits; PCA's probabilistic density is
  then a point mass, so its score / score_samples raise ValueError;
- duplicated rows, binary data, float32: work.

Small data and few iterations keep the whole sweep to a few seconds per estimator.
"""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

import skgen

_D = np.random.RandomState(0).randn(6, 5)
ESTIMATORS = {
    "GaussianMixtureEM": skgen.GaussianMixtureEM(2, random_state=0),
    "GaussianMixtureEM-diag": skgen.GaussianMixtureEM(2, covariance_type="diag",
                                                      random_state=0),
    "BernoulliMixture": skgen.BernoulliMixture(2, random_state=0),
    "PCA": skgen.PCA(2),
    "PCA-arpack": skgen.PCA(2, svd_solver="arpack", random_state=0),
    "PCA-full": skgen.PCA(2, svd_solver="full"),
    "PCA-randomized": skgen.PCA(2, svd_solver="randomized", random_state=0),
    "SparseCoder": skgen.SparseCoder(_D),
    "SparseCoder-lasso_lars": skgen.SparseCoder(_D, transform_algorithm="lasso_lars"),
    "DictionaryLearning": skgen.DictionaryLearning(3, max_iter=3, random_state=0),
    "DictionaryLearning-online": skgen.DictionaryLearning(3, max_iter=2, batch_size=10,
                                                          random_state=0),
    "LLE": skgen.LLE(n_neighbors=8, random_state=0),
    "LLE-reg0": skgen.LLE(n_neighbors=8, reg=0.0, random_state=0),
    "TSNE": skgen.TSNE(max_iter=100, random_state=0),
    "VAE": skgen.VAE(2, hidden_layer_sizes=(8,), max_iter=2, random_state=0),
    "DenoisingAE": skgen.DenoisingAE(2, hidden_layer_sizes=(8,), max_iter=2,
                                     random_state=0),
}


def _inputs():
    base = np.random.RandomState(0).randn(40, 5)
    outlier = base.copy()
    outlier[3] = 1e200
    return {
        "1e150": base * 1e150,
        "1e300": base * 1e300,
        "float32-1e19": (base * 1e19).astype(np.float32),
        "float32-1e30": (base * 1e30).astype(np.float32),
        "finfo-max": np.sign(base) * np.finfo(np.float64).max,
        "float32-finfo-max": (np.sign(base) * np.finfo(np.float32).max).astype(np.float32),
        "outlier-row-1e200": outlier,
        "1e-300": base * 1e-300,
        "float32-1e-30": (base * 1e-30).astype(np.float32),
        "zeros": np.zeros((40, 5)),
        "constant": np.full((40, 5), 3.0),
        "duplicates": np.repeat(base[:4], 10, axis=0),
        "binary": (base > 0).astype(np.float64),
        "float32": base.astype(np.float32),
        "csr-zeros": sp.csr_matrix((40, 5)),
    }


INPUTS = _inputs()

# What a refusal of each input class must say (None: the class must work).
_MAGNITUDE = (r"X holds values (up to|no larger than) \S+ in absolute value.*"
              r"(overflow|underflow) float(32|64) \(limit \S+")
REFUSALS = {
    **dict.fromkeys(["1e300", "float32-1e19", "float32-1e30", "finfo-max",
                     "float32-finfo-max", "outlier-row-1e200", "1e-300", "float32-1e-30"],
                    _MAGNITUDE),
    # PCA's density of zero-variance data is a point mass: score refuses it.
    "zeros": r"zero variance \(every column constant\)",
    "constant": r"zero variance \(every column constant\)",
    "csr-zeros": r"Sparse data was passed for X, but dense data is required|"
                 r"does not support sparse input",
    "1e150": None, "duplicates": None, "binary": None, "float32": None,
}
assert set(REFUSALS) == set(_inputs())


def _check_refusal(input_name, where, exc):
    pattern = REFUSALS[input_name]
    assert pattern is not None, f"{where} refused {input_name!r}: {exc}"
    assert re.search(pattern, str(exc)), (
        f"{where} on {input_name!r}: the message does not name the problem: {exc}")


METHODS = ["transform", "inverse_transform", "score", "score_samples", "predict", "sample"]


def _finite(value):
    if isinstance(value, tuple):
        return all(_finite(v) for v in value)
    if sp.issparse(value):
        value = value.data
    value = np.asarray(value)
    return value.dtype.kind not in "fc" or bool(np.all(np.isfinite(value)))


def _call(estimator, method, X):
    if method == "sample":
        return estimator.sample(5, random_state=0)
    if method == "inverse_transform":
        return estimator.inverse_transform(estimator.transform(X))
    return getattr(estimator, method)(X)


@pytest.mark.parametrize("input_name", list(INPUTS))
@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_hostile_input_works_or_raises_value_error(name, input_name):
    X = INPUTS[input_name]
    estimator = clone(ESTIMATORS[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            estimator.fit(X)
        except (ValueError, TypeError) as exc:
            _check_refusal(input_name, "fit", exc)
            return
        attributes = {a: v for a, v in vars(estimator).items()
                      if a.endswith("_") and not a.startswith("_")
                      and isinstance(v, (np.ndarray, float))}
        bad = sorted(a for a, v in attributes.items() if not _finite(v))
        assert not bad, f"non-finite fitted attributes {bad}"
        for method in METHODS:
            if not hasattr(estimator, method):
                continue
            try:
                out = _call(estimator, method, X)
            except (ValueError, TypeError) as exc:
                _check_refusal(input_name, method, exc)
                continue
            assert _finite(out), f"{method} gave NaN or inf"


@pytest.mark.parametrize("input_name", ["1e300", "float32-1e30", "outlier-row-1e200",
                                        "1e-300"])
def test_magnitude_errors_name_the_problem(input_name):
    with pytest.raises(ValueError, match="overflow|underflow"):
        skgen.GaussianMixtureEM(2).fit(INPUTS[input_name])


def test_neural_rescale_before_casting_to_float32():
    """1e150 became inf (NaN codes) when cast to float32, then was refused; now the
    networks see X times a power of two and the outputs come back in X's units
    (float64 where float32 cannot hold them)."""
    X = np.random.RandomState(0).randn(30, 4) * 1e150
    vae = skgen.VAE(2, hidden_layer_sizes=(4,), max_iter=1).fit(X)
    back = vae.inverse_transform(vae.transform(X))
    assert back.dtype == np.float64 and np.all(np.isfinite(back))
    assert np.max(np.abs(back)) > 1e148
    assert np.isfinite(vae.score(X))
    # A row far beyond the training data's scale is refused, naming the limit.
    with pytest.raises(ValueError, match="float32"):
        vae.transform(X * 1e150)


def test_pca_zero_variance_score_is_refused():
    pca = skgen.PCA(2).fit(np.zeros((20, 4)))
    assert np.all(pca.transform(np.zeros((3, 4))) == 0)
    with pytest.raises(ValueError, match="zero variance"):
        pca.score(np.zeros((5, 4)))


@pytest.mark.parametrize("solver", ["arpack", "randomized"])
def test_pca_iterative_solvers_on_constant_data(solver):
    """Regression: ARPACK refused the zero operator ('Starting vector is zero')."""
    for X in (np.full((30, 4), 2.0), sp.csr_matrix((30, 4))):
        pca = skgen.PCA(2, svd_solver=solver, random_state=0).fit(X)
        np.testing.assert_array_equal(pca.explained_variance_, 0)
        np.testing.assert_allclose(pca.components_ @ pca.components_.T, np.eye(2))


def test_parameters_of_the_wrong_kind():
    X = np.random.RandomState(0).randn(30, 3)
    for est in (skgen.PCA(2).fit(X), skgen.GaussianMixtureEM(2).fit(X)):
        with pytest.raises(ValueError, match="n_samples"):
            est.sample(True)
    for sizes in ([[8]], (8.5,), (0,), (True,)):
        with pytest.raises(ValueError, match="hidden_layer_sizes"):
            skgen.VAE(hidden_layer_sizes=sizes, max_iter=1).fit(X)
    with pytest.raises(ValueError, match="binarize"):
        skgen.BernoulliMixture(2, binarize=float("nan")).fit(X)


def test_mixture_max_iter_zero_and_warm_start_width():
    X = np.random.RandomState(0).randn(60, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = skgen.GaussianMixtureEM(2, max_iter=0, random_state=0).fit(X)
    assert np.isfinite(gm.lower_bound_)
    np.testing.assert_allclose(gm.lower_bound_, gm.score(X))
    gm = skgen.GaussianMixtureEM(2, warm_start=True, random_state=0).fit(X)
    with pytest.raises(ValueError, match="warm_start=True"):
        gm.fit(X[:, :2])
