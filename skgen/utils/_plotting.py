"""Figures for reports and examples (matplotlib, written to PNG files)."""

import numpy as np
from sklearn.base import clone

__all__ = ["plot_images", "plot_bic"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_images(images, image_shape, path, *, title=None, n_cols=10):
    """Draw rows of ``images`` as a grid of grey images and save a PNG.

    Parameters
    ----------
    images : array-like of shape (n_images, prod(image_shape))
        One flattened image per row; values are drawn from black (min) to white
        (max) per image.
    image_shape : tuple of int
        (height, width) of one image.
    path : str or path-like
        Output PNG file.
    title : str, optional
        Figure title.
    n_cols : int, default=10
        Images per grid row.

    Returns
    -------
    path : str or path-like
        ``path``, once written.
    """
    plt = _pyplot()
    images = np.asarray(images)
    n = images.shape[0]
    n_cols = min(n_cols, n)
    n_rows = int(np.ceil(n / n_cols))
    # A gap between tiles, so that images with bright borders do not run together.
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.2 * n_cols, 1.2 * n_rows + 0.4),
                             squeeze=False,
                             gridspec_kw={"wspace": 0.08, "hspace": 0.08})
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image in zip(axes.ravel(), images):
        ax.imshow(image.reshape(image_shape), cmap="gray", interpolation="nearest")
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_bic(estimator, X, n_components_grid, path, *, max_extensions=4):
    """Fit clones of a mixture for several K and plot their BIC on ``X``.

    The grid is extended upwards (by half its largest K each time, at most
    ``max_extensions`` times) while the smallest BIC is at its largest K, so
    that the minimum is inside the plotted range.

    Parameters
    ----------
    estimator : mixture estimator
        Template; a clone is fitted for each number of components.
    X : array-like of shape (n_samples, n_features)
        Data for fitting and for the BIC.
    n_components_grid : list of int
        Numbers of components to try first (those above n_samples are skipped).
    path : str or path-like
        Output PNG file.
    max_extensions : int, default=4
        Most extensions of the grid.

    Returns
    -------
    bics : dict of int to float
        BIC for each K tried.
    """
    import warnings

    plt = _pyplot()
    bics = {}

    def fit(k):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = clone(estimator).set_params(n_components=k).fit(X)
        bics[k] = model.bic(X)

    for k in n_components_grid:
        if k <= X.shape[0]:
            fit(k)
    for _ in range(max_extensions):
        best = min(bics, key=bics.get)
        top = max(bics)
        nxt = top + max(top // 2, 1)
        if best != top or nxt > X.shape[0]:
            break
        fit(nxt)
    ks = sorted(bics)
    best = min(bics, key=bics.get)
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.plot(ks, [bics[k] for k in ks], "o-")
    ax.plot([best], [bics[best]], "o", color="C3", label=f"minimum: K = {best}")
    ax.legend()
    ax.set_xlabel("number of components")
    ax.set_ylabel("BIC (lower is better)")
    ax.set_title(type(estimator).__name__)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return bics
