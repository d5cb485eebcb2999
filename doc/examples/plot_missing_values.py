"""
Fitting and imputing digits with missing pixels
===============================================

A quarter of the pixels of scikit-learn's digits (1797 images of 8 x 8, grey
levels 0-16) are removed at random. :class:`skgen.GaussianMixtureEM` is fitted to
what remains, marginalising the missing pixels exactly, and
:class:`skgen.GenerativeImputer` fills them from the fitted model's conditional
distribution p(x_m | x_o): one full-covariance Gaussian (the classical EM for the
multivariate normal), and a mixture of 5. The figure shows a few digits with
their holes, the two imputations, and the originals; the printout compares the
imputation error with the column mean and with scikit-learn's KNNImputer.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.impute import KNNImputer, SimpleImputer

from skgen import GaussianMixtureEM, GenerativeImputer

X = load_digits().data
rng = np.random.RandomState(0)
X_missing = X.copy()
X_missing[rng.uniform(size=X.shape) < 0.25] = np.nan
missing = np.isnan(X_missing)
print(f"{missing.mean():.0%} of the pixels missing; {np.isnan(X_missing).any(axis=1).sum()} "
      f"of {len(X)} images incomplete")

imputers = {
    "column mean": SimpleImputer(),
    "KNNImputer": KNNImputer(),
    "one Gaussian": GenerativeImputer(),
    "mixture of 5": GenerativeImputer(GaussianMixtureEM(5, covariance_type="full",
                                                        reg_covar=1e-2, max_iter=40,
                                                        random_state=0)),
}
filled = {}
for name, imputer in imputers.items():
    tic = time.perf_counter()
    filled[name] = imputer.fit_transform(X_missing)
    rmse = np.sqrt(np.mean((filled[name][missing] - X[missing]) ** 2))
    print(f"{name:>14}: RMSE of the missing pixels {rmse:.2f} grey levels "
          f"({time.perf_counter() - tic:.1f} s)")

# The mixture's held-out log-likelihood of the observed pixels (nats per image).
model = imputers["mixture of 5"].estimator_
print(f"mixture: mean log p(x_o) = {model.score(X_missing):.1f} nats per image")

rows = ["with holes", "one Gaussian", "mixture of 5", "original"]
shown = [0, 11, 22, 33, 44, 55, 66, 77]
fig, axes = plt.subplots(len(rows), len(shown), figsize=(8, 4.4),
                         gridspec_kw={"wspace": 0.08, "hspace": 0.12})
for r, row in enumerate(rows):
    for c, i in enumerate(shown):
        image = {"with holes": np.where(missing[i], np.nan, X[i]),
                 "original": X[i]}.get(row, filled.get(row, X)[i])
        cmap = plt.get_cmap("gray_r").copy()
        cmap.set_bad("tab:red")
        axes[r, c].imshow(np.clip(image, 0, 16).reshape(8, 8) if row != "with holes"
                          else image.reshape(8, 8), cmap=cmap, vmin=0, vmax=16)
        axes[r, c].set_xticks([])
        axes[r, c].set_yticks([])
    axes[r, 0].set_ylabel(row, fontsize=8)
fig.suptitle("Missing pixels (red) filled by E[x_m | x_o]")
plt.show()
