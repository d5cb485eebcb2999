"""
Eigenfaces, and faces sampled from probabilistic PCA
====================================================

PCA of the Olivetti faces (400 images of 64 x 64 pixels) gives the "eigenfaces":
the principal axes, drawn as images. Because :class:`skgen.PCA` is also the
maximum-likelihood probabilistic PCA (Tipping & Bishop 1999), it scores held-out
faces in nats and draws new faces x = W z + mean + noise.

The faces are read from ``../shared/data`` beside the repository when they are
there; otherwise the example falls back to scikit-learn's bundled 8x8 digits.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skgen import PCA

data_home = Path.cwd()
for parent in [Path.cwd(), *Path.cwd().parents]:
    if (parent / "shared" / "data" / "olivetti").is_dir():
        data_home = parent / "shared" / "data"
        break

try:
    from skgen.datasets import load_olivetti_faces

    X, shape = load_olivetti_faces(data_home, download_if_missing=False).data, (64, 64)
except FileNotFoundError:
    from sklearn.datasets import load_digits

    X, shape = load_digits().data / 16.0, (8, 8)
X = X.astype(np.float64)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)

# %%
# Held-out log-likelihood against the number of components: the probabilistic
# model tells how many components the data supports.
k_max = min(X_train.shape) - 1
for k in sorted({min(k, k_max) for k in (5, 20, 50, 100)}):
    pca = PCA(k, random_state=0).fit(X_train)
    print(f"{k:4d} components: {pca.explained_variance_ratio_.sum():.1%} of the "
          f"variance, held-out log-likelihood {pca.score(X_test):9.1f} nats")

# %%
# The first 15 eigenfaces, then faces drawn from the 50-component model.
pca = PCA(min(50, k_max), random_state=0).fit(X_train)
samples = pca.sample(5, random_state=0)

fig, axes = plt.subplots(4, 5, figsize=(7.5, 6.4))
images = [pca.mean_, *pca.components_[:14], *samples]
titles = ["mean"] + [f"axis {i + 1}" for i in range(14)] + ["sample"] * 5
for ax, img, title in zip(axes.ravel(), images, titles):
    ax.imshow(img.reshape(shape), cmap="gray")
    ax.set_title(title, fontsize=8)
    ax.axis("off")
fig.suptitle("Eigenfaces (rows 1-3) and samples from probabilistic PCA (row 4)")
plt.tight_layout()
plt.show()
