"""A scikit-learn user's script runs with only the import changed (issue 18).

Every parameter and method of each scikit-learn counterpart exists here with the
same name and default; the deliberate differences are listed below with the
reason, and each is documented in the estimator's docstring.
"""

import importlib
import inspect

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.decomposition as skd
import sklearn.manifold as skm
import sklearn.mixture as skmix
from sklearn.datasets import load_digits

import skgen
from skgen.decomposition import sparse_encode

PAIRS = [
    (skmix.GaussianMixture, skgen.GaussianMixtureEM),
    (skd.PCA, skgen.PCA),
    (skd.SparseCoder, skgen.SparseCoder),
    (skd.DictionaryLearning, skgen.DictionaryLearning),
    (skd.MiniBatchDictionaryLearning, skgen.MiniBatchDictionaryLearning),
    (skd.MiniBatchDictionaryLearning, skgen.DictionaryLearning),
    (skm.LocallyLinearEmbedding, skgen.LLE),
    (skm.TSNE, skgen.TSNE),
]
# (ours, parameter) -> why our default differs (scikit-learn's value still works).
DEFAULT_DIFFERENCES = {
    ("TSNE", "max_iter"): "openTSNE's 250 + 500 iterations reach scikit-learn's KL",
    ("TSNE", "method"): "'auto' picks exact / Barnes-Hut / FFT by size",
    # DictionaryLearning is both of scikit-learn's classes: batch by default.
    ("DictionaryLearning", "batch_size"): "None is batch learning (DictionaryLearning)",
    ("DictionaryLearning", "tol"): "DictionaryLearning's 1e-8 (MiniBatch: 1e-3)",
}
# Methods of the scikit-learn class that have no meaning for ours.
METHOD_EXCEPTIONS = {("DictionaryLearning", "partial_fit"): None}


def _public_methods(cls):
    return [m for m in dir(cls) if not m.startswith("_") and callable(getattr(cls, m))
            and m not in ("get_metadata_routing",)]


@pytest.mark.parametrize("sk_cls,ours", PAIRS, ids=lambda c: c.__name__)
def test_every_sklearn_parameter_and_default(sk_cls, ours):
    theirs = inspect.signature(sk_cls.__init__).parameters
    mine = inspect.signature(ours.__init__).parameters
    for name, p in theirs.items():
        if name == "self":
            continue
        assert name in mine, f"{ours.__name__} lacks scikit-learn's {name!r}"
        if mine[name].default != p.default:
            assert (ours.__name__, name) in DEFAULT_DIFFERENCES, (
                f"{ours.__name__}.{name} defaults to {mine[name].default!r}, "
                f"scikit-learn's to {p.default!r}")
            # The docstring says what differs.
            assert name in ours.__doc__


@pytest.mark.parametrize("sk_cls,ours", PAIRS, ids=lambda c: c.__name__)
def test_every_sklearn_method_and_its_arguments(sk_cls, ours):
    for method in _public_methods(sk_cls):
        assert hasattr(ours, method), f"{ours.__name__} lacks {method}"
        theirs = inspect.signature(getattr(sk_cls, method)).parameters
        mine = inspect.signature(getattr(ours, method)).parameters
        missing = [n for n in theirs if n not in mine
                   and not (method == "transform" and n == "y")]
        assert not missing, f"{ours.__name__}.{method} lacks {missing}"


@pytest.mark.parametrize("sk_cls,ours", [
    pair for pair in PAIRS
    if pair != (skd.MiniBatchDictionaryLearning, skgen.DictionaryLearning)],
    ids=lambda c: c.__name__)
def test_sklearns_names_import_from_the_same_modules(sk_cls, ours):
    # "from sklearn.manifold import LocallyLinearEmbedding" with skgen for sklearn.
    module = importlib.import_module(sk_cls.__module__.replace("sklearn", "skgen", 1)
                                     .rsplit(".", 1)[0])
    assert getattr(module, sk_cls.__name__) is ours
    assert sk_cls.__name__ in module.__all__


def test_a_script_with_sklearn_replaced_by_skgen_in_its_imports_runs():
    script = """
from sklearn.datasets import load_digits
from sklearn.mixture import GaussianMixture
from sklearn.manifold import LocallyLinearEmbedding, TSNE, locally_linear_embedding
from sklearn.decomposition import PCA, SparseCoder, sparse_encode
X = load_digits().data[:200]
Z = PCA(n_components=5).fit_transform(X)
labels = GaussianMixture(n_components=3, random_state=0).fit(Z).predict(Z)
E = LocallyLinearEmbedding(n_neighbors=20, n_components=2).fit_transform(Z)
Y = TSNE(perplexity=10, max_iter=250, random_state=0).fit_transform(Z)
result = (labels, E, Y)
"""
    namespace = {}
    exec(script.replace("from sklearn.mixture", "from skgen.mixture")
         .replace("from sklearn.manifold", "from skgen.manifold")
         .replace("from sklearn.decomposition", "from skgen.decomposition"), namespace)
    labels, E, Y = namespace["result"]
    assert labels.shape == (200,) and E.shape == (200, 2) and Y.shape == (200, 2)
    assert type(namespace["GaussianMixture"]()).__module__.startswith("skgen.")


def test_functions_have_sklearns_signatures():
    for theirs, mine in [(skd.sparse_encode, sparse_encode),
                         (skm.locally_linear_embedding, skgen.manifold.locally_linear_embedding)]:
        a, b = inspect.signature(theirs).parameters, inspect.signature(mine).parameters
        assert list(a) == list(b)
        assert all(b[n].default == p.default for n, p in a.items())


# ------------------------------------------------------------------ TSNE
@pytest.fixture(scope="module")
def digits():
    return load_digits().data[:300].astype(np.float64)


def test_tsne_accepts_sklearns_stopping_parameters(digits):
    kw = dict(random_state=0, max_iter=400, method="exact")
    full = skgen.TSNE(**kw).fit(digits[:150])
    assert full.n_iter_ == 400
    # A huge min_grad_norm stops at the first check after exaggeration.
    stopped = skgen.TSNE(min_grad_norm=1e9, **kw).fit(digits[:150])
    assert stopped.n_iter_ == 300
    # No progress allowed: stops once the KL fails to improve (or runs out).
    patient = skgen.TSNE(n_iter_without_progress=10_000, **kw).fit(digits[:150])
    np.testing.assert_array_equal(patient.embedding_, full.embedding_)


def test_tsne_metric_params_reach_the_metric(digits):
    X = digits[:200]
    a = skgen.TSNE(metric="minkowski", metric_params={"p": 1}, random_state=0,
                   max_iter=250).fit(X)
    b = skgen.TSNE(metric="manhattan", random_state=0, max_iter=250).fit(X)
    np.testing.assert_allclose(a.affinities_.toarray(), b.affinities_.toarray(),
                               rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("method", ["exact", "barnes_hut"])
def test_tsne_sparse_input_equals_dense(digits, method):
    X = digits[:200]
    kw = dict(random_state=0, max_iter=250, method=method, init="random")
    dense = skgen.TSNE(**kw).fit(X)
    sparse = skgen.TSNE(**kw).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(sparse.embedding_, dense.embedding_, atol=1e-8)
    # The PCA start works on sparse input too (scikit-learn refuses it).
    pca = skgen.TSNE(random_state=0, max_iter=250, method=method).fit(sp.csr_matrix(X))
    assert np.all(np.isfinite(pca.embedding_))
    new = sparse.transform(sp.csr_matrix(X[:5]))
    np.testing.assert_allclose(new, sparse.embedding_[:5])
    back = sparse.inverse_transform(sparse.embedding_[:3])
    assert back.shape == (3, X.shape[1]) and np.all(np.isfinite(back))
    assert 0 < sparse.score(sp.csr_matrix(X[:50])) <= 1


@pytest.mark.parametrize("method", ["exact", "barnes_hut"])
def test_tsne_precomputed_equals_euclidean(digits, method):
    from sklearn.metrics import pairwise_distances

    # Noise breaks the digits' distance ties (integer pixels), which the two
    # neighbour searches may break differently.
    X = digits[:200] + np.random.RandomState(0).uniform(0, 1e-3, (200, 64))
    D = pairwise_distances(X)
    kw = dict(random_state=0, max_iter=250, method=method)
    ref = skgen.TSNE(**kw).fit(X)
    pre = skgen.TSNE(metric="precomputed", **kw).fit(D)
    np.testing.assert_allclose(pre.affinities_.toarray(), ref.affinities_.toarray(),
                               atol=1e-12)
    # classical MDS of Euclidean distances is the PCA start (up to sign).
    assert abs(pre.kl_divergence_ - ref.kl_divergence_) < 0.05
    new = pre.transform(D[:4])
    np.testing.assert_allclose(new, pre.embedding_[:4])
    for call in (lambda: pre.inverse_transform(new), lambda: pre.sample(2),
                 lambda: pre.score(D)):
        with pytest.raises(ValueError, match="precomputed"):
            call()


def test_tsne_precomputed_sparse_graph(digits):
    from sklearn.neighbors import KNeighborsTransformer

    X = digits[:200] + np.random.RandomState(0).uniform(0, 1e-3, (200, 64))
    # scikit-learn's convention for a precomputed graph: KNeighborsTransformer's,
    # each row storing itself and min(n - 1, 3 perplexity + 1) = 91 neighbours.
    G = KNeighborsTransformer(n_neighbors=91, mode="distance").fit_transform(X)
    with pytest.warns(UserWarning, match="init='random'"):
        t = skgen.TSNE(metric="precomputed", random_state=0, max_iter=250,
                       method="barnes_hut").fit(G)
    ref = skgen.TSNE(random_state=0, max_iter=250, method="barnes_hut").fit(X)
    np.testing.assert_allclose(t.affinities_.toarray(), ref.affinities_.toarray(),
                               atol=1e-12)


def test_tsne_precomputed_bad_matrices():
    with pytest.raises(ValueError, match="square"):
        skgen.TSNE(metric="precomputed").fit(np.ones((5, 4)))
    D = np.ones((5, 5))
    D[1, 2] = -1
    with pytest.raises(ValueError, match="negative distances"):
        skgen.TSNE(metric="precomputed").fit(D)


# ------------------------------------------------------ set_output everywhere
@pytest.mark.parametrize("name", ["LLE", "TSNE", "PCA", "DictionaryLearning",
                                  "MiniBatchDictionaryLearning", "GaussianMixtureEM"])
def test_pandas_output_from_fit_transform_and_transform(name, digits):
    pd = pytest.importorskip("pandas")
    kw = {"random_state": 0} if "random_state" in getattr(skgen, name)().get_params() else {}
    if name == "TSNE":
        kw["max_iter"] = 250
    if "DictionaryLearning" in name:
        kw.update(n_components=5, max_iter=2)
    model = getattr(skgen, name)(**kw).set_output(transform="pandas")
    X = digits[:120] / 16
    out = model.fit_transform(X)
    assert isinstance(out, pd.DataFrame), name
    assert list(out.columns) == list(model.get_feature_names_out())
    assert isinstance(model.transform(X[:10]), pd.DataFrame)
