"""GridSearchCV over skgen estimators on a LocalCluster with joblib's dask backend:
estimators pickle, numba kernels and JAX run in the worker processes."""

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skgen import PCA, VAE, GaussianMixtureEM, SparseCoder

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def digits():
    X = load_digits().data[:400] / 16.0
    return X


@pytest.mark.parametrize(
    "estimator,grid",
    [
        (GaussianMixtureEM(random_state=0, covariance_type="diag"), {"n_components": [2, 4]}),
        (PCA(), {"n_components": [5, 10]}),
        (VAE(n_components=2, hidden_layer_sizes=(16,), max_iter=2, random_state=0),
         {"n_components": [2, 3]}),
    ],
    ids=["GaussianMixtureEM", "PCA", "VAE"],
)
def test_gridsearch_on_the_cluster_equals_the_local_one(client, digits, estimator, grid):
    local = GridSearchCV(estimator, grid, cv=2).fit(digits)
    with joblib.parallel_backend("dask"):
        remote = GridSearchCV(estimator, grid, cv=2, n_jobs=-1).fit(digits)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"], rtol=1e-5)


def test_numba_kernels_run_in_worker_processes(client, digits):
    rng = np.random.RandomState(0)
    D = rng.randn(30, 64)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    coder = SparseCoder(D, transform_algorithm="omp", transform_n_nonzero_coefs=3)
    remote = client.submit(coder.transform, digits).result()
    np.testing.assert_array_equal(remote, coder.transform(digits))
    pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert __import__("os").getpid() not in pids
