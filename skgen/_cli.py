"""``skgen compare``: fit each skgen estimator and its scikit-learn baseline side by side.

Adding a row is adding one :class:`Comparison` to ``COMPARISONS``: a name, a
factory for the skgen estimator, factories for its baselines, and which view of
the data it takes ('continuous' in [0, 1], or 'binary').
"""

import argparse
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from sklearn.model_selection import train_test_split

__all__ = ["Comparison", "COMPARISONS", "load_data", "run_compare", "main"]


@dataclass
class DataContext:
    """What a factory may need to know about the data.

    Attributes
    ----------
    n_samples, n_features : int
        Shape of the training split.
    image_shape : tuple of int or None
        Shape of one image, when the features are pixels.
    random_state : int
        Seed for every estimator.
    X_train : ndarray of shape (n_samples, n_features) or None
        The training split, for factories whose estimator is built from data
        (SparseCoder's dictionary of training examples).
    y_train : ndarray of shape (n_samples,) or None
        Labels of the training split, when the data set has them (the
        embeddings' kNN accuracy).
    """

    n_samples: int
    n_features: int
    image_shape: tuple
    random_state: int
    X_train: np.ndarray = None
    y_train: np.ndarray = None


@dataclass
class Comparison:
    """One row group of the comparison table.

    Attributes
    ----------
    name : str
        Row label of the skgen estimator.
    make : callable
        ``make(ctx) -> estimator``, the skgen estimator.
    baselines : dict of str to callable
        ``{label: make(ctx) -> estimator}``, scikit-learn baselines fitted on the
        same split. Each must have ``fit`` and either ``score`` or a
        ``scorer`` given in ``scorers``.
    data : {'continuous', 'binary'}
        Features scaled to [0, 1], or binarized at 0.5.
    scorers : dict of str to callable
        Optional ``{label: scorer(estimator, X) -> float}`` for baselines whose
        ``score`` does not mean what the contract's ``score`` means.
    figures : callable or None
        ``figures(estimator, ctx, X_train, folder) -> list of (title, path)``.
    metrics : dict of str to callable
        Optional ``{label: metric(estimator, X_test) -> float}`` reported for the
        estimator and every baseline (e.g. reconstruction error, mean non-zeros).
    timed : {'fit', 'transform'}
        What the seconds columns measure: ``fit`` on the training split, or
        ``transform`` of the test split (for estimators whose work is coding).
    warm_up : callable or None
        ``warm_up(X_train)`` run before timing, for estimators whose kernels a
        fit on a few rows does not reach (TSNE picks its gradient by size);
        None: fit and score on 64 rows.
    """

    name: str
    make: Callable
    baselines: dict
    data: str = "continuous"
    scorers: dict = field(default_factory=dict)
    figures: Callable = None
    metrics: dict = field(default_factory=dict)
    timed: str = "fit"
    warm_up: Callable = None


def _gaussian_covariance(ctx):
    # Full covariances cost O(n d^2 K) per iteration: keep them for small d.
    return "full" if ctx.n_features <= 100 else "diag"


# Components of every mixture in the comparison.
N_COMPONENTS = 10


def _independent_bernoulli_score(estimator, X):
    # BernoulliNB fitted on a single class is the independent-Bernoulli model.
    return float(np.mean(estimator.predict_joint_log_proba(X)[:, 0]))


class _OneClassBernoulliNB:
    """BernoulliNB on a single class: the independent-Bernoulli density model."""

    def __init__(self):
        from sklearn.naive_bayes import BernoulliNB

        self.model = BernoulliNB(alpha=1e-2, binarize=None)

    def fit(self, X):
        self.model.fit(X, np.zeros(X.shape[0], dtype=int))
        return self

    def predict_joint_log_proba(self, X):
        return self.model.predict_joint_log_proba(X)


def _mixture_figures(estimator, ctx, X_train, folder):
    from .utils._plotting import plot_bic, plot_images

    figures = []
    name = type(estimator).__name__
    if ctx.image_shape is not None:
        path = folder / f"{name}_means.png"
        plot_images(estimator.means_, ctx.image_shape, path, title=f"{name}: component means")
        figures.append(("component means", path))
        samples, _ = estimator.sample(min(40, 4 * estimator.n_components), random_state=0)
        path = folder / f"{name}_samples.png"
        plot_images(samples, ctx.image_shape, path, title=f"{name}: samples")
        figures.append(("samples", path))
    # The BIC curve refits the model for every K: a subsample keeps MNIST-sized
    # reports quick, and is enough to see where the curve bends.
    n_bic = min(X_train.shape[0], 5000)
    rows = np.random.RandomState(ctx.random_state).choice(X_train.shape[0], n_bic, replace=False)
    path = folder / f"{name}_bic.png"
    plot_bic(estimator, X_train[np.sort(rows)], [2, 5, 10, 15, 20], path)
    figures.append((f"BIC against the number of components ({n_bic} training samples)", path))
    return figures


def _make_gaussian(ctx):
    from .mixture import GaussianMixtureEM

    return GaussianMixtureEM(
        N_COMPONENTS,
        covariance_type=_gaussian_covariance(ctx),
        reg_covar=1e-3,
        random_state=ctx.random_state,
    )


def _make_sklearn_gaussian(ctx, covariance_type=None):
    from sklearn.mixture import GaussianMixture

    return GaussianMixture(
        N_COMPONENTS,
        covariance_type=covariance_type or _gaussian_covariance(ctx),
        reg_covar=1e-3,
        random_state=ctx.random_state,
    )


def _make_bernoulli(ctx):
    from .mixture import BernoulliMixture

    return BernoulliMixture(N_COMPONENTS, binarize=None, random_state=ctx.random_state)


# ---------------------------------------------------------------- decomposition
def _n_pca(ctx):
    return 20 if ctx.n_features <= 100 else 50


def _make_pca(ctx):
    from .decomposition import PCA

    return PCA(_n_pca(ctx), random_state=ctx.random_state)


def _make_sklearn_pca(ctx):
    from sklearn.decomposition import PCA

    return PCA(_n_pca(ctx), random_state=ctx.random_state)


def _pca_figures(estimator, ctx, X_train, folder):
    from .utils._plotting import plot_images

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
    from .decomposition import SparseCoder

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
        from .decomposition._sparse_coding import objective_rows

        return -float(np.mean(objective_rows(X, estimator.transform(X),
                                             _atoms(estimator), alpha)))

    return score


def _relative_error(estimator, X):
    code = estimator.transform(X)
    return float(np.linalg.norm(X - code @ _atoms(estimator)) / np.linalg.norm(X))


def _mean_nonzeros(estimator, X):
    return float(np.mean(np.sum(estimator.transform(X) != 0, axis=1)))


_SPARSE_METRICS = {"rel_error": _relative_error, "nonzeros": _mean_nonzeros}

# Dictionary learning: batch below this many training samples, online above.
DICT_ALPHA = 0.1
ONLINE_ABOVE = 5000


def _n_atoms(ctx):
    return 32 if ctx.n_features <= 100 else 100


def _dict_params(ctx):
    params = dict(alpha=DICT_ALPHA, max_iter=10, random_state=ctx.random_state,
                  transform_algorithm="lasso_lars")
    if ctx.n_samples > ONLINE_ABOVE:
        params.update(batch_size=256, tol=0)
    return params


def _make_dictionary_learning(ctx):
    from .decomposition import DictionaryLearning

    return DictionaryLearning(_n_atoms(ctx), **_dict_params(ctx))


def _make_sklearn_dictionary_learning(ctx):
    from sklearn.decomposition import DictionaryLearning, MiniBatchDictionaryLearning

    params = _dict_params(ctx)
    if "batch_size" in params:
        return MiniBatchDictionaryLearning(_n_atoms(ctx), max_no_improvement=None,
                                           **params)
    return DictionaryLearning(_n_atoms(ctx), **params)


def _atom_figures(estimator, ctx, X_train, folder):
    from .utils._plotting import plot_images

    if ctx.image_shape is None:
        return []
    path = folder / "DictionaryLearning_atoms.png"
    plot_images(estimator.components_[:40], ctx.image_shape, path,
                title="DictionaryLearning: learned atoms")
    return [("learned dictionary atoms", path)]


# ------------------------------------------------------------------ neural
N_LATENT = 8
DAE_MASKING = 0.25


def _neural_params(ctx):
    # Enough optimiser steps on the 1347 training digits; fewer epochs on MNIST.
    epochs = 60 if ctx.n_samples <= 5000 else 10
    return dict(hidden_layer_sizes=(256,), batch_size=64 if ctx.n_samples <= 5000
                else 128, max_iter=epochs, tol=0, n_iter_no_change=10**6,
                random_state=ctx.random_state)


def _make_vae_gaussian(ctx):
    from . import VAE

    return VAE(N_LATENT, likelihood="gaussian", **_neural_params(ctx))


def _make_vae_bernoulli(ctx):
    from . import VAE

    return VAE(N_LATENT, likelihood="bernoulli", **_neural_params(ctx))


def _make_latent_pca(ctx):
    from .decomposition import PCA

    return PCA(N_LATENT, random_state=ctx.random_state)


def _make_bernoulli_baseline(ctx):
    from .mixture import BernoulliMixture

    return BernoulliMixture(N_COMPONENTS, binarize=None, random_state=ctx.random_state)


def _make_dae(ctx):
    from . import DenoisingAE

    return DenoisingAE(N_LATENT, corruption="masking", noise_level=DAE_MASKING,
                       **_neural_params(ctx))


def _masked(X, random_state=0):
    rng = np.random.RandomState(random_state)
    return np.where(rng.uniform(size=X.shape) < DAE_MASKING, 0.0, X)


def _reconstruct(estimator, X):
    return estimator.inverse_transform(estimator.transform(X))


def _denoising_score(estimator, X):
    """Minus the mean squared error of rebuilding X from its masked copy."""
    return -float(np.mean((np.clip(_reconstruct(estimator, _masked(X)), 0, 1) - X) ** 2))


def _denoising_psnr(estimator, X):
    return -10 * np.log10(-_denoising_score(estimator, X))


def _vae_figures(estimator, ctx, X_train, folder):
    from .utils._plotting import plot_images

    if ctx.image_shape is None:
        return []
    path = folder / f"VAE_{estimator.likelihood}_samples.png"
    plot_images(np.clip(estimator.sample(40, random_state=0), 0, 1), ctx.image_shape,
                path, title=f"VAE ({estimator.likelihood} decoder): samples")
    figures = [("samples z ~ N(0, I) through the decoder", path)]
    if estimator.likelihood == "bernoulli":
        figures.append(_latent_map(ctx, X_train, folder))
    return figures


def _latent_map(ctx, X_train, folder):
    """Posterior means of a 2-D VAE fitted for the figure."""
    from . import VAE
    from .utils._plotting import _pyplot

    params = {**_neural_params(ctx), "max_iter": 30}
    vae = VAE(2, likelihood="bernoulli", **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae.fit(X_train)
    Z = vae.transform(X_train)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    projection = np.random.RandomState(0).randn(X_train.shape[1], 10)
    ax.scatter(Z[:, 0], Z[:, 1], s=3, c=np.argmax(X_train @ projection, 1), cmap="tab10")
    ax.set_title("2-D VAE latent map (posterior means; colours: a random\n"
                 "projection's argmax, no labels are used)")
    path = folder / "VAE_latent_map.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return ("2-D latent map of the training data", path)


def _dae_figures(estimator, ctx, X_train, folder):
    from .utils._plotting import plot_images

    if ctx.image_shape is None:
        return []
    X = X_train[:10]
    masked = _masked(X)
    pairs = np.vstack([X, masked, np.clip(_reconstruct(estimator, masked), 0, 1)])
    path = folder / "DenoisingAE_pairs.png"
    plot_images(pairs, ctx.image_shape, path,
                title="DenoisingAE: clean / masked 25% / reconstructed")
    return [("corrupted and reconstructed digits", path)]


# --- embeddings ------------------------------------------------------------------

class _Embedding:
    """An embedding method (ours or a baseline) fitted on the training split.

    Every row of the manifold comparisons is scored the same way, on the
    training embedding (scikit-learn's TSNE has no ``transform``): ``score`` is
    its trustworthiness (k=5, on at most 3000 sampled points); the metrics are
    the KL divergence each t-SNE reports and the 10-NN accuracy of the training
    labels in the embedding (5-fold cross-validation).
    """

    def __init__(self, estimator, ctx):
        self.estimator = estimator
        self.ctx = ctx

    def fit(self, X):
        fitted = self.estimator.fit(X)
        embedding = getattr(fitted, "embedding_", fitted)
        self.embedding_ = np.asarray(embedding, dtype=np.float64)
        self.kl_divergence_ = float(getattr(fitted, "kl_divergence_",
                                            getattr(fitted, "kl_divergence", np.nan)))
        self._rows = np.random.RandomState(0).permutation(X.shape[0])[:3000]
        self._X = X[self._rows]
        return self

    def score(self, X=None):
        from sklearn.manifold import trustworthiness

        return float(trustworthiness(self._X, self.embedding_[self._rows], n_neighbors=5))

    def knn_accuracy(self):
        from sklearn.model_selection import cross_val_score
        from sklearn.neighbors import KNeighborsClassifier

        if self.ctx.y_train is None:
            return np.nan
        return float(np.mean(cross_val_score(KNeighborsClassifier(10), self.embedding_,
                                             self.ctx.y_train, cv=5)))


_EMBEDDING_METRICS = {
    "kl": lambda est, X: est.kl_divergence_,
    "knn_acc": lambda est, X: est.knn_accuracy(),
}
# Neighbours of LLE's rows: the digits' 5-NN graph can split into pieces.
LLE_NEIGHBORS = 12


def _make_lle(ctx):
    from .manifold import LLE

    return _Embedding(LLE(n_neighbors=LLE_NEIGHBORS, random_state=ctx.random_state), ctx)


def _make_sklearn_lle(ctx):
    from sklearn.manifold import LocallyLinearEmbedding

    return _Embedding(LocallyLinearEmbedding(n_neighbors=LLE_NEIGHBORS,
                                             random_state=ctx.random_state), ctx)


def _make_tsne(ctx):
    from .manifold import TSNE

    return _Embedding(TSNE(random_state=ctx.random_state), ctx)


def _make_sklearn_tsne(ctx):
    from sklearn.manifold import TSNE as SkTSNE

    if ctx.n_samples > 20_000:  # tens of minutes on a small machine: skipped
        return None
    return _Embedding(SkTSNE(max_iter=750, init="pca", random_state=ctx.random_state), ctx)


def _make_open_tsne(ctx):
    try:
        import openTSNE
    except ImportError:
        return None
    return _Embedding(openTSNE.TSNE(random_state=ctx.random_state), ctx)


def _tsne_warm_up(X_train):
    from .manifold import TSNE

    # Compile (or load from numba's cache) every gradient's kernels.
    X = X_train[:300]
    for method in ("barnes_hut", "fft"):
        TSNE(method=method, max_iter=2, perplexity=min(30.0, len(X) / 4)).fit(X)


def _embedding_figures(estimator, ctx, X_train, folder):
    from .utils._plotting import _pyplot, plot_images

    plt = _pyplot()
    name = type(estimator.estimator).__name__
    E = estimator.embedding_
    fig, ax = plt.subplots(figsize=(6, 6))
    colours = ctx.y_train if ctx.y_train is not None else "k"
    sc = ax.scatter(E[:, 0], E[:, 1], c=colours, cmap="tab10", s=3)
    if ctx.y_train is not None:
        fig.colorbar(sc, ax=ax, ticks=range(10))
    ax.set_title(f"{name} of the training split")
    ax.set_xticks([])
    ax.set_yticks([])
    path = folder / f"{name}_embedding.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    figures = [("embedding coloured by label", path)]
    if ctx.image_shape is not None:
        samples = estimator.estimator.sample(40, random_state=ctx.random_state)
        path = folder / f"{name}_samples.png"
        plot_images(np.clip(samples, 0, 1), ctx.image_shape, path,
                    title=f"{name}: KDE draws in the embedding, mapped back")
        figures.append(("samples mapped back to images", path))
    return figures


COMPARISONS = [
    Comparison(
        name="GaussianMixtureEM",
        make=_make_gaussian,
        baselines={"GaussianMixture": _make_sklearn_gaussian},
        figures=_mixture_figures,
    ),
    Comparison(
        name="BernoulliMixture",
        make=_make_bernoulli,
        baselines={
            "GaussianMixture(diag)": lambda ctx: _make_sklearn_gaussian(ctx, "diag"),
            "independent Bernoulli (BernoulliNB)": lambda ctx: _OneClassBernoulliNB(),
        },
        data="binary",
        scorers={"independent Bernoulli (BernoulliNB)": _independent_bernoulli_score},
        figures=_mixture_figures,
    ),
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
    ),
    Comparison(
        name="DictionaryLearning",
        make=_make_dictionary_learning,
        baselines={"DictionaryLearning (MiniBatch above 5000)":
                   _make_sklearn_dictionary_learning},
        scorers={"DictionaryLearning (MiniBatch above 5000)":
                 _minus_objective(DICT_ALPHA)},
        metrics=_SPARSE_METRICS,
        figures=_atom_figures,
    ),
    Comparison(
        name="VAE",
        make=_make_vae_gaussian,
        baselines={"PCA (probabilistic, same latent dim)": _make_latent_pca},
        figures=_vae_figures,
    ),
    Comparison(
        name="VAE-bernoulli",
        make=_make_vae_bernoulli,
        baselines={"BernoulliMixture": _make_bernoulli_baseline},
        data="binary",
        figures=_vae_figures,
    ),
    Comparison(
        name="DenoisingAE",
        make=_make_dae,
        baselines={"PCA (same code size)": _make_latent_pca},
        scorers={"PCA (same code size)": _denoising_score},
        metrics={"psnr_dB": _denoising_psnr},
        figures=_dae_figures,
    ),
    Comparison(
        name="LLE",
        make=_make_lle,
        baselines={"LocallyLinearEmbedding": _make_sklearn_lle},
        metrics=_EMBEDDING_METRICS,
        figures=_embedding_figures,
    ),
    Comparison(
        name="TSNE",
        make=_make_tsne,
        baselines={"TSNE (scikit-learn)": _make_sklearn_tsne,
                   "openTSNE": _make_open_tsne},
        metrics=_EMBEDDING_METRICS,
        figures=_embedding_figures,
        warm_up=_tsne_warm_up,
    ),
]

DATASETS = ("digits", "mnist", "binarized_mnist", "olivetti")


def load_data(name="digits", data_home=None, max_samples=None, random_state=0,
              return_labels=False):
    """Load a data set for ``skgen compare``, features scaled to [0, 1].

    Parameters
    ----------
    name : {'digits', 'mnist', 'binarized_mnist', 'olivetti'}, default='digits'
        scikit-learn's bundled 8x8 digits, or a real set read from ``data_home``.
    data_home : str or path-like, optional
        Data folder for the real sets (see :func:`skgen.datasets.get_data_home`).
    max_samples : int, optional
        Keep at most this many samples (a random subset).
    random_state : int, default=0
        Seed of the subset.
    return_labels : bool, default=False
        Also return the labels (None for the binarized MNIST, which has none).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64 in [0, 1]
    image_shape : tuple of int
        Shape of one image.
    y : ndarray of shape (n_samples,) or None
        Labels; only with ``return_labels``.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    from . import datasets

    y = None
    if name == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        X, y, shape = bunch.data / 16.0, bunch.target, (8, 8)
    elif name == "mnist":
        bunch = datasets.load_mnist(data_home, subset="all")
        X, y, shape = bunch.data / 255.0, bunch.target, (28, 28)
    elif name == "binarized_mnist":
        X, shape = datasets.load_binarized_mnist(data_home).data.astype(float), (28, 28)
    elif name == "olivetti":
        bunch = datasets.load_olivetti_faces(data_home)
        X, y, shape = bunch.data.astype(float), getattr(bunch, "target", None), (64, 64)
    else:
        raise ValueError(f"Unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if max_samples is not None and X.shape[0] > max_samples:
        rng = np.random.RandomState(random_state)
        keep = np.sort(rng.choice(X.shape[0], max_samples, replace=False))
        X = X[keep]
        y = None if y is None else y[keep]
    X = np.ascontiguousarray(X, dtype=np.float64)
    return (X, shape, y) if return_labels else (X, shape)


def _fit_and_score(estimator, X_train, X_test, scorer=None, timed="fit"):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X_train)
        seconds = time.perf_counter() - start
        if timed == "transform":
            start = time.perf_counter()
            estimator.transform(X_test)
            seconds = time.perf_counter() - start
    score = scorer(estimator, X_test) if scorer is not None else estimator.score(X_test)
    return seconds, float(score)


def _warm_up(estimator, X_train, X_test, timed):
    """Run the estimator once on a few rows so that the timed run does not
    include numba's one-off compilation (cached on disk after the first use)."""
    try:
        _fit_and_score(estimator, X_train[:64], X_test[:64], timed=timed)
    except Exception:  # a tiny subset may not suit every setting; it is only a warm-up
        pass


def _metrics(comp, estimator, X_test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {label: float(fn(estimator, X_test)) for label, fn in comp.metrics.items()}


def run_compare(X, image_shape, *, y=None, comparisons=None, report=None,
                random_state=0, progress=None, test_size=0.25):
    """Fit each comparison's estimator and baselines on one split; return the rows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data scaled to [0, 1].
    image_shape : tuple of int or None
        Shape of one image, for the figures.
    y : ndarray of shape (n_samples,), optional
        Labels, split with X (the embeddings' kNN accuracy and figure colours).
    comparisons : list of Comparison, optional
        Defaults to every entry of ``COMPARISONS``.
    report : str or path-like, optional
        Folder that receives ``report.md`` and the PNG figures.
    random_state : int, default=0
        Seed of the split and of every estimator.
    progress : bool or None, default=None
        Progress bar on stderr; None shows it when stderr is a terminal.
    test_size : float, default=0.25
        Held-out fraction.

    Returns
    -------
    rows : list of dict
        One per (estimator, baseline) pair: ``estimator``, ``baseline``,
        ``fit_s``, ``baseline_fit_s`` (seconds), ``score``, ``baseline_score``
        (the contract's held-out score: mean log-likelihood in nats for the
        mixtures and PCA, minus the mean sparse-coding objective for sparse
        coding), ``speedup`` (baseline seconds / ours), ``score_diff`` and
        ``metrics`` (text: each extra metric, ours vs the baseline's).
    """
    from .utils import progress_bar

    comparisons = COMPARISONS if comparisons is None else comparisons
    if y is None:
        X_train, X_test = train_test_split(X, test_size=test_size,
                                           random_state=random_state)
        y_train = None
    else:
        X_train, X_test, y_train, _ = train_test_split(X, y, test_size=test_size,
                                                       random_state=random_state)
    views = {
        "continuous": (X_train, X_test),
        "binary": ((X_train > 0.5).astype(np.float64), (X_test > 0.5).astype(np.float64)),
    }
    ctx = DataContext(X_train.shape[0], X_train.shape[1], image_shape, random_state,
                      X_train, y_train)
    folder = Path(report) if report is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    steps = sum(1 + len(c.baselines) for c in comparisons)
    rows, figures = [], []
    with progress_bar(total=steps, desc="skgen compare", disable=None if progress is None else not progress) as bar:
        for comp in comparisons:
            train, test = views[comp.data]
            ours = comp.make(ctx)
            bar.set_postfix_str(comp.name)
            if comp.warm_up is not None:
                comp.warm_up(train)
            else:
                _warm_up(comp.make(ctx), train, test, comp.timed)
            fit_s, score = _fit_and_score(ours, train, test, timed=comp.timed)
            ours_metrics = _metrics(comp, ours, test)
            bar.update()
            for label, make in comp.baselines.items():
                bar.set_postfix_str(label)
                baseline = make(ctx)
                if baseline is None:  # not installed, or too slow at this size
                    bar.update()
                    continue
                base_s, base_score = _fit_and_score(
                    baseline, train, test, comp.scorers.get(label), comp.timed
                )
                base_metrics = _metrics(comp, baseline, test)
                bar.update()
                rows.append(
                    dict(
                        estimator=comp.name,
                        baseline=label,
                        fit_s=fit_s,
                        baseline_fit_s=base_s,
                        score=score,
                        baseline_score=base_score,
                        speedup=base_s / max(fit_s, 1e-12),
                        score_diff=score - base_score,
                        metrics=", ".join(
                            f"{k} {ours_metrics[k]:.4g} vs {base_metrics[k]:.4g}"
                            for k in ours_metrics
                        ),
                    )
                )
            if folder is not None and comp.figures is not None:
                figures.extend(
                    (comp.name, title, path)
                    for title, path in comp.figures(ours, ctx, train, folder)
                )
    if folder is not None:
        (folder / "report.md").write_text(_markdown(rows, figures, ctx, folder))
    return rows


# (key, width, decimals); decimals None for text.
_COLUMNS = [
    ("estimator", 18, None),
    ("baseline", 36, None),
    ("fit_s", 9, 3),
    ("baseline_fit_s", 14, 3),
    ("speedup", 8, 2),
    ("score", 10, 3),
    ("baseline_score", 14, 3),
    ("score_diff", 10, 3),
    ("metrics", 0, None),
]


def _cell(value, width, decimals):
    if decimals is None:
        return f"{value:<{width}}"
    return f"{value:>{width}.{decimals}f}"


def format_table(rows):
    """The rows of :func:`run_compare` as a fixed-width text table.

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`run_compare`.

    Returns
    -------
    table : str
    """
    header = " ".join(
        f"{key:<{width}}" if decimals is None else f"{key:>{width}}"
        for key, width, decimals in _COLUMNS
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(" ".join(_cell(row[key], w, d) for key, w, d in _COLUMNS))
    return "\n".join(lines)


def _markdown(rows, figures, ctx, folder):
    lines = [
        "# skgen compare",
        "",
        f"Training split: {ctx.n_samples} samples x {ctx.n_features} features. "
        "Scores are held-out means of each estimator's `score` (nats per sample for "
        "mixtures, PCA and the VAE (the VAE's is the ELBO, a lower bound); minus the "
        "sparse-coding objective per sample for sparse coding; minus the mean squared "
        "error of rebuilding masked data for the DenoisingAE; trustworthiness (k=5) of the "
        "training embedding for LLE and TSNE, whose metrics add the reported KL "
        "divergence and the 10-NN accuracy of the labels in the embedding; higher is "
        "better). speedup = baseline seconds / skgen seconds, of `fit` "
        "(SparseCoder: of `transform` on the test split, its dictionary being fixed); "
        "skgen's numba kernels are compiled before timing (once per machine, then "
        "cached). "
        "On the binary view, a Gaussian baseline's score is a log-density on a degenerate "
        "set, not a log-probability: it is not comparable with the Bernoulli models' "
        "scores, and is listed because it is what a scikit-learn user would try first.",
        "",
        "| " + " | ".join(key for key, _, _ in _COLUMNS) + " |",
        "|" + "---|" * len(_COLUMNS),
    ]
    for row in rows:
        cells = [_cell(row[key], 0, d).strip() for key, _, d in _COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for name, title, path in figures:
        lines += [f"## {name}: {title}", "", f"![{title}]({Path(path).relative_to(folder)})", ""]
    return "\n".join(lines)


def main(argv=None):
    """Entry point of the ``skgen`` console script.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success.
    """
    parser = argparse.ArgumentParser(prog="skgen", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cmp = sub.add_parser("compare", help="fit skgen estimators and their baselines side by side")
    cmp.add_argument("--data", choices=DATASETS, default="digits")
    cmp.add_argument("--data-home", default=None, help="folder of the real data sets")
    cmp.add_argument("--max-samples", type=int, default=None, help="random subset size")
    cmp.add_argument("--report", default="skgen-report", help="report folder ('' for none)")
    cmp.add_argument("--random-state", type=int, default=0)
    cmp.add_argument("--estimators", nargs="*", default=None, help="names to run (default all)")
    cmp.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)

    X, image_shape, y = load_data(args.data, args.data_home, args.max_samples,
                                  args.random_state, return_labels=True)
    comparisons = COMPARISONS
    if args.estimators:
        unknown = set(args.estimators) - {c.name for c in COMPARISONS}
        if unknown:
            parser.error(f"unknown estimators: {', '.join(sorted(unknown))}")
        comparisons = [c for c in COMPARISONS if c.name in args.estimators]
    print(f"skgen compare on {args.data}: {X.shape[0]} samples x {X.shape[1]} features")
    rows = run_compare(
        X,
        image_shape,
        y=y,
        comparisons=comparisons,
        report=args.report or None,
        random_state=args.random_state,
        progress=False if args.no_progress else True,
    )
    print(format_table(rows))
    if args.report:
        print(f"report: {Path(args.report) / 'report.md'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
