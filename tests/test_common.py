"""scikit-learn's estimator checks, Pipeline + GridSearchCV and pickling, for every
public estimator, discovered from ``skgen.ESTIMATORS`` so that later estimators join
by being exported."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import skgen

_RNG = np.random.RandomState(0)
# Constructor arguments of estimators that have required parameters.
REQUIRED_ARGS = {
    "SparseCoder": {"dictionary": _RNG.normal(size=(5, 3))},
}
# Every DEFAULT instance is checked: defaults must work on any real X (the checks'
# 10-30-row data sets, separated blobs, float32, pandas and polars output).
ESTIMATORS = [getattr(skgen, name)(**REQUIRED_ARGS.get(name, {}))
              for name in skgen.ESTIMATORS]
# Extra, tuned cases that reach other code paths.
EXTRA_ESTIMATORS = [
    skgen.VAE(n_components=2, hidden_layer_sizes=(), max_iter=5),
    skgen.TSNE(perplexity=2.0, method="exact"),
    skgen.LLE(n_neighbors=8, method="modified"),
    skgen.GaussianMixtureEM(2, covariance_type="diag", init_params="k-means++"),
]

# A fixed dictionary fixes n_features: the checks that use other widths get a
# dictionary of their width (the widths scikit-learn uses for its SparseCoder).
_SPARSE_CODER_WIDTHS = {
    "check_estimators_dtypes": 5,
    "check_dtype_object": 10,
    "check_transformers_unfitted_stateless": 5,
    "check_fit_idempotent": 2,
    "check_set_output_transform": 5,
    "check_global_output_transform_pandas": 5,
    "check_set_output_transform_pandas": 5,
    "check_set_output_transform_polars": 5,
    "check_global_set_output_transform_polars": 5,
    "check_dataframe_column_names_consistency": 8,
    "check_estimators_overwrite_params": 2,
    "check_estimators_fit_returns_self": 2,
    "check_readonly_memmap_input": 2,
    "check_n_features_in_after_fitting": 4,
    "check_transformer_preserve_dtypes": 3,
    "check_array_api_input": 10,
    "check_fit_check_is_fitted": 2,
    "check_n_features_in": 2,
    "check_positive_only_tag_during_fit": 4,
    "check_fit2d_1sample": 10,
    "check_fit2d_1feature": 1,
}

# name -> {check name: reason the method's mathematics rules the check out}
_SPARSE_REASON = (
    "scikit-learn's sparse check assumes that an estimator with predict_proba is a "
    "classifier and reads its classifier tags (None for a density estimator). "
    "BernoulliMixture accepts CSR input; tests/mixture/test_bernoulli.py checks that "
    "sparse and dense input give the same fit."
)
EXPECTED_FAILED_CHECKS = {
    "BernoulliMixture": {
        "check_estimator_sparse_array": _SPARSE_REASON,
        "check_estimator_sparse_matrix": _SPARSE_REASON,
    }
}


_KMEANSPP_WEIGHTS = (
    "k-means++ with sample_weight draws its centres with probability proportional to "
    "weight x squared distance: repeated rows give the same distribution but other "
    "draws of the random state (scikit-learn's kmeans_plusplus behaves the same). "
    "From the same start a weighted fit equals the repeated rows: "
    "tests/dask/test_mixture_dask.py (in memory and on dask)."
)


def _expected_failed_checks(estimator):
    expected = dict(EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {}))
    if getattr(estimator, "init_params", None) == "k-means++":
        expected["check_sample_weight_equivalence_on_dense_data"] = _KMEANSPP_WEIGHTS
    return expected


def test_every_export_is_checked():
    assert {type(e).__name__ for e in ESTIMATORS} == set(skgen.ESTIMATORS)
    assert len(ESTIMATORS) >= 2


@parametrize_with_checks(ESTIMATORS + EXTRA_ESTIMATORS,
                         expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    name = getattr(check, "func", check).__name__
    if isinstance(estimator, skgen.SparseCoder) and name in _SPARSE_CODER_WIDTHS:
        width = _SPARSE_CODER_WIDTHS[name]
        estimator = clone(estimator).set_params(
            dictionary=np.random.RandomState(0).normal(size=(5, width))
        )
    check(estimator)


# The hyperparameter each estimator is tuned on in the GridSearchCV test.
GRID = {
    "GaussianMixtureEM": {"covariance_type": ["diag"], "n_components": [2, 5]},
    "BernoulliMixture": {"binarize": [0.5], "n_components": [2, 5]},
    "PCA": {"n_components": [5, 20]},
    "SparseCoder": {"transform_algorithm": ["lasso_lars"],
                    "transform_alpha": [0.05, 0.5]},
    "DictionaryLearning": {"n_components": [8, 16], "max_iter": [5]},
    "MiniBatchDictionaryLearning": {"n_components": [8, 16], "max_iter": [5]},
    "VAE": {"n_components": [2, 4], "max_iter": [3]},
    "DenoisingAE": {"n_components": [4, 8], "max_iter": [3]},
    "LLE": {"n_neighbors": [8, 16]},
    "TSNE": {"perplexity": [10, 30], "max_iter": [300]},
    "GenerativeImputer": {"add_indicator": [False, True]},
}


def _for_digits(estimator):
    """The estimator with a fixed seed, and a 64-pixel dictionary if it needs one."""
    params = estimator.get_params()
    if "random_state" in params:
        estimator = clone(estimator).set_params(random_state=0)
    if "dictionary" in params:
        atoms = load_digits().data[600:632] / 16.0
        estimator = clone(estimator).set_params(
            dictionary=atoms / np.linalg.norm(atoms, axis=1, keepdims=True)
        )
    return estimator


@pytest.fixture(scope="module")
def digits():
    return load_digits().data[:600]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_pipeline_grid_search_on_digits(estimator, digits):
    name = type(estimator).__name__
    grid = {f"{type(estimator).__name__.lower()}__{k}": v for k, v in GRID[name].items()}
    pipe = make_pipeline(MinMaxScaler(), _for_digits(estimator))
    search = GridSearchCV(pipe, grid, cv=3).fit(digits)
    assert np.isfinite(search.best_score_)
    best = search.best_estimator_[-1].get_params()
    assert all(best[k] in v for k, v in GRID[name].items())
    # Finite, higher-is-better scores for every candidate.
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_pickle_round_trip(estimator, digits):
    X = digits / 16.0
    fitted = _for_digits(estimator).fit(X)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))
    assert restored.score(X) == fitted.score(X)
