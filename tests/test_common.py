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

ESTIMATORS = [getattr(skgen, name)() for name in skgen.ESTIMATORS]

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


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


def test_every_export_is_checked():
    assert {type(e).__name__ for e in ESTIMATORS} == set(skgen.ESTIMATORS)
    assert len(ESTIMATORS) >= 2


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# The hyperparameter each estimator is tuned on in the GridSearchCV test.
GRID = {
    "GaussianMixtureEM": {"covariance_type": ["diag"], "n_components": [2, 5]},
    "BernoulliMixture": {"binarize": [0.5], "n_components": [2, 5]},
}


@pytest.fixture(scope="module")
def digits():
    return load_digits().data[:600]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_pipeline_grid_search_on_digits(estimator, digits):
    name = type(estimator).__name__
    grid = {f"{type(estimator).__name__.lower()}__{k}": v for k, v in GRID[name].items()}
    pipe = make_pipeline(MinMaxScaler(), clone(estimator).set_params(random_state=0))
    search = GridSearchCV(pipe, grid, cv=3).fit(digits)
    assert np.isfinite(search.best_score_)
    best = search.best_estimator_
    assert best[-1].n_components in GRID[name]["n_components"]
    # Finite, higher-is-better scores for every candidate.
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_pickle_round_trip(estimator, digits):
    X = digits / 16.0
    fitted = clone(estimator).set_params(random_state=0).fit(X)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))
    assert restored.score(X) == fitted.score(X)
