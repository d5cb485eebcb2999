"""``skgen compare`` rows of the embeddings: LLE vs LocallyLinearEmbedding, TSNE
vs scikit-learn's TSNE and openTSNE."""

import numpy as np

from ._runner import Comparison


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
    from ..manifold import LLE

    return _Embedding(LLE(n_neighbors=LLE_NEIGHBORS, random_state=ctx.random_state), ctx)


def _make_sklearn_lle(ctx):
    from sklearn.manifold import LocallyLinearEmbedding

    return _Embedding(LocallyLinearEmbedding(n_neighbors=LLE_NEIGHBORS,
                                             random_state=ctx.random_state), ctx)


def _make_tsne(ctx):
    from ..manifold import TSNE

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
    from ..manifold import TSNE

    # Compile (or load from numba's cache) every gradient's kernels.
    X = X_train[:300]
    for method in ("barnes_hut", "fft"):
        TSNE(method=method, max_iter=2, perplexity=min(30.0, len(X) / 4)).fit(X)


def _embedding_figures(estimator, ctx, X_train, folder):
    from ..utils._plotting import _pyplot, plot_images

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
        name="LLE",
        make=_make_lle,
        baselines={"LocallyLinearEmbedding": _make_sklearn_lle},
        metrics=_EMBEDDING_METRICS,
        figures=_embedding_figures,
        max_train=3000,
    ),
    Comparison(
        name="TSNE",
        make=_make_tsne,
        baselines={"TSNE (scikit-learn)": _make_sklearn_tsne,
                   "openTSNE": _make_open_tsne},
        metrics=_EMBEDDING_METRICS,
        figures=_embedding_figures,
        warm_up=_tsne_warm_up,
        max_train=5000,
        missing={"openTSNE": 'openTSNE is not installed (pip install openTSNE, or '
                             'the bench extra: pip install ".[bench]")',
                 "TSNE (scikit-learn)": "skipped above 20000 rows (tens of minutes "
                                        "on a small machine)"},
    ),
]
