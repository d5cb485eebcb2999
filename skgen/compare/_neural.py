"""``skgen compare`` rows of the autoencoders: the VAE vs probabilistic PCA and a
Bernoulli mixture, the DenoisingAE vs PCA on masked data."""

import warnings

import numpy as np

from ._mixture import N_COMPONENTS
from ._runner import Comparison


N_LATENT = 8
DAE_MASKING = 0.25


def _neural_params(ctx):
    # Enough optimiser steps on the 1347 training digits; fewer epochs on MNIST.
    epochs = 60 if ctx.n_samples <= 5000 else 10
    return dict(hidden_layer_sizes=(256,), batch_size=64 if ctx.n_samples <= 5000
                else 128, max_iter=epochs, tol=0, n_iter_no_change=10**6,
                random_state=ctx.random_state)


def _make_vae_gaussian(ctx):
    from .. import VAE

    return VAE(N_LATENT, likelihood="gaussian", **_neural_params(ctx))


def _make_vae_bernoulli(ctx):
    from .. import VAE

    return VAE(N_LATENT, likelihood="bernoulli", **_neural_params(ctx))


def _make_latent_pca(ctx):
    from ..decomposition import PCA

    return PCA(N_LATENT, random_state=ctx.random_state)


def _make_bernoulli_baseline(ctx):
    from ..mixture import BernoulliMixture

    return BernoulliMixture(N_COMPONENTS, binarize=None, random_state=ctx.random_state)


def _make_dae(ctx):
    from .. import DenoisingAE

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
    from ..utils._plotting import plot_images

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
    """Posterior means of a 2-D VAE fitted for the figure, coloured by label."""
    from .. import VAE
    from ..utils._plotting import _pyplot

    params = {**_neural_params(ctx), "max_iter": 30 if ctx.n_samples <= 5000 else 15}
    vae = VAE(2, likelihood="bernoulli", **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae.fit(X_train)
    Z = vae.transform(X_train)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    if ctx.y_train is not None:
        points = ax.scatter(Z[:, 0], Z[:, 1], s=3, c=ctx.y_train, cmap="tab10")
        fig.colorbar(points, ax=ax, ticks=np.unique(ctx.y_train), label="label")
        ax.set_title("2-D VAE latent map (posterior means; the labels,\n"
                     "not used in training, give the colours)")
    else:
        ax.scatter(Z[:, 0], Z[:, 1], s=3, c="k")
        ax.set_title("2-D VAE latent map (posterior means; no labels)")
    path = folder / "VAE_latent_map.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return ("2-D latent map of the training data", path)


def _dae_figures(estimator, ctx, X_train, folder):
    from ..utils._plotting import plot_images

    if ctx.image_shape is None:
        return []
    X = X_train[:10]
    masked = _masked(X)
    pairs = np.vstack([X, masked, np.clip(_reconstruct(estimator, masked), 0, 1)])
    path = folder / "DenoisingAE_pairs.png"
    plot_images(pairs, ctx.image_shape, path,
                title="DenoisingAE: clean / masked 25% / reconstructed")
    return [("corrupted and reconstructed digits", path)]


COMPARISONS = [
    Comparison(
        name="VAE",
        make=_make_vae_gaussian,
        baselines={"PCA (probabilistic, same latent dim)": _make_latent_pca},
        figures=_vae_figures,
        max_train=10000,
    ),
    Comparison(
        name="VAE-bernoulli",
        make=_make_vae_bernoulli,
        baselines={"BernoulliMixture": _make_bernoulli_baseline},
        data="binary",
        figures=_vae_figures,
        max_train=10000,
    ),
    Comparison(
        name="DenoisingAE",
        make=_make_dae,
        baselines={"PCA (same code size)": _make_latent_pca},
        scorers={"PCA (same code size)": _denoising_score},
        metrics={"psnr_dB": _denoising_psnr},
        figures=_dae_figures,
        max_train=10000,
    ),
]
