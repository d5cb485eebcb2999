"""``skgen compare`` rows of the mixtures: GaussianMixtureEM vs GaussianMixture,
BernoulliMixture vs a diagonal Gaussian mixture and independent Bernoullis."""

import numpy as np

from ._runner import Comparison


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
    from ..utils._plotting import plot_bic, plot_images

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
    plot_bic(estimator, X_train[np.sort(rows)], [1, 2, 5, 10, 15, 20], path)
    figures.append((f"BIC against the number of components ({n_bic} training samples)", path))
    return figures


def _make_gaussian(ctx):
    from ..mixture import GaussianMixtureEM

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
    from ..mixture import BernoulliMixture

    return BernoulliMixture(N_COMPONENTS, binarize=None, random_state=ctx.random_state)


COMPARISONS = [
    Comparison(
        name="GaussianMixtureEM",
        make=_make_gaussian,
        baselines={"GaussianMixture": _make_sklearn_gaussian},
        figures=_mixture_figures,
        max_train=5000,
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
        max_train=10000,
    ),
]
