"""``skgen compare`` rows of the decompositions: PCA, SparseCoder and
DictionaryLearning vs scikit-learn's."""

import numpy as np

from ._runner import Comparison


def _n_pca(ctx):
    return 20 if ctx.n_features <= 100 else 50


def _make_pca(ctx):
    from ..decomposition import PCA

    return PCA(_n_pca(ctx), random_state=ctx.random_state)


def _make_sklearn_pca(ctx):
    from sklearn.decomposition import PCA

    return PCA(_n_pca(ctx), random_state=ctx.random_state)


def _pca_figures(estimator, ctx, X_train, folder):
    from ..utils._plotting import plot_images

    if ctx.image_shape is None:
        return []
    label = "eigenfaces" if ctx.image_shape == (64, 64) else "principal components"
    path = folder / "PCA_components.png"
    plot_images(estimator.components_[:20], ctx.image_shape, path,
                title=f"PCA: {label} (first 20)")
    figures = [(label, path)]
    path = folder / "PCA_samples.png"
    plot_images(np.clip(estimator.sample(20, random_state=0), 0, 1), ctx.image_shape,
                path, title="probabilistic PCA: samples x = W z + mean + noise")
    figures.append(("samples from the probabilistic PCA", path))
    return figures


# Sparse coding: a dictionary of training examples, OMP with a few non-zeros.
N_NONZERO = 10


def _example_dictionary(ctx):
    n_atoms = min(2 * ctx.n_features, 256, ctx.n_samples)
    rows = np.random.RandomState(ctx.random_state).choice(ctx.n_samples, n_atoms,
                                                          replace=False)
    D = ctx.X_train[np.sort(rows)]
    return D / np.maximum(np.linalg.norm(D, axis=1, keepdims=True), 1e-12)


def _make_sparse_coder(ctx):
    from ..decomposition import SparseCoder

    return SparseCoder(_example_dictionary(ctx), transform_algorithm="omp",
                       transform_n_nonzero_coefs=N_NONZERO)


def _make_sklearn_sparse_coder(ctx):
    from sklearn.decomposition import SparseCoder

    return SparseCoder(_example_dictionary(ctx), transform_algorithm="omp",
                       transform_n_nonzero_coefs=N_NONZERO)


def _atoms(estimator):
    return estimator.components_ if hasattr(estimator, "components_") else np.asarray(
        estimator.dictionary)


def _minus_objective(alpha):
    """Score of the sparse-coding contract for estimators without one."""

    def score(estimator, X):
        from ..decomposition._sparse_encode import objective_rows

        return -float(np.mean(objective_rows(X, estimator.transform(X),
                                             _atoms(estimator), alpha)))

    return score


def _relative_error(estimator, X):
    code = estimator.transform(X)
    return float(np.linalg.norm(X - code @ _atoms(estimator)) / np.linalg.norm(X))


def _mean_nonzeros(estimator, X):
    return float(np.mean(np.sum(estimator.transform(X) != 0, axis=1)))


_SPARSE_METRICS = {"rel_error": _relative_error, "nonzeros": _mean_nonzeros}

# Dictionary learning: batch below this many training samples and features;
# online above (3 epochs of mini-batches; 1 on wide data: scikit-learn's
# MiniBatch LARS steps take ~4 s each on MNIST, whose codes have ~77 non-zeros).
DICT_ALPHA = 0.1
ONLINE_ABOVE = 5000
ONLINE_WIDER_THAN = 100


def _n_atoms(ctx):
    return 32 if ctx.n_features <= 100 else 100


def _dict_params(ctx):
    params = dict(alpha=DICT_ALPHA, max_iter=10, random_state=ctx.random_state,
                  transform_algorithm="lasso_lars")
    if ctx.n_features > ONLINE_WIDER_THAN:
        params.update(batch_size=256, tol=0, max_iter=1)
    elif ctx.n_samples > ONLINE_ABOVE:
        params.update(batch_size=256, tol=0, max_iter=3)
    return params


def _make_dictionary_learning(ctx):
    from ..decomposition import DictionaryLearning

    return DictionaryLearning(_n_atoms(ctx), **_dict_params(ctx))


def _make_sklearn_dictionary_learning(ctx):
    from sklearn.decomposition import DictionaryLearning, MiniBatchDictionaryLearning

    params = _dict_params(ctx)
    if "batch_size" in params:
        return MiniBatchDictionaryLearning(_n_atoms(ctx), max_no_improvement=None,
                                           **params)
    return DictionaryLearning(_n_atoms(ctx), **params)


def _atom_figures(estimator, ctx, X_train, folder):
    from ..utils._plotting import plot_images

    if ctx.image_shape is None:
        return []
    path = folder / "DictionaryLearning_atoms.png"
    plot_images(estimator.components_[:40], ctx.image_shape, path,
                title="DictionaryLearning: learned atoms")
    return [("learned dictionary atoms", path)]


COMPARISONS = [
    Comparison(
        name="PCA",
        make=_make_pca,
        baselines={"PCA": _make_sklearn_pca},
        figures=_pca_figures,
    ),
    Comparison(
        name="SparseCoder",
        make=_make_sparse_coder,
        baselines={"SparseCoder": _make_sklearn_sparse_coder},
        scorers={"SparseCoder": _minus_objective(0.0)},
        metrics=_SPARSE_METRICS,
        timed="transform",
        max_train=6000,
    ),
    Comparison(
        name="DictionaryLearning",
        make=_make_dictionary_learning,
        baselines={"DictionaryLearning (MiniBatch on large or wide data)":
                   _make_sklearn_dictionary_learning},
        scorers={"DictionaryLearning (MiniBatch on large or wide data)":
                 _minus_objective(DICT_ALPHA)},
        metrics=_SPARSE_METRICS,
        figures=_atom_figures,
        max_train=1500,
    ),
]
