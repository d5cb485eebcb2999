"""
t-SNE of MNIST, and held-out digits placed by ``transform``
===========================================================

:class:`skgen.TSNE` embeds 20000 MNIST training images (after PCA to 50
dimensions; FFT-accelerated gradients, openTSNE's defaults), then places 2000
held-out test images with ``transform``, which optimises each new point against
the frozen embedding. A 10-nearest-neighbour classifier in the embedding tells
how well the classes separate; the held-out points land among their own class.

The images are read from ``../shared/data`` beside the repository (the full
70000-image figures are in ``benchmarks/RESULTS.md``). Where that folder is
absent the example runs on scikit-learn's bundled 8x8 digits instead, and its
first printed line says so: the numbers below are then not MNIST's.
"""

import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier

from skgen import TSNE

data_home = Path.cwd()
for parent in [Path.cwd(), *Path.cwd().parents]:
    if (parent / "shared" / "data" / "mnist").is_dir():
        data_home = parent / "shared" / "data"
        break
try:
    from skgen.datasets import load_mnist

    train = load_mnist(data_home, subset="train", download_if_missing=False)
    test = load_mnist(data_home, subset="test", download_if_missing=False)
    rng = np.random.RandomState(0)
    keep = rng.choice(len(train.data), 20000, replace=False)
    X_train, y_train = train.data[keep] / 255.0, train.target[keep]
    X_test, y_test = test.data[:2000] / 255.0, test.target[:2000]
    print(f"MNIST: {len(X_train)} training and {len(X_test)} held-out images")
except FileNotFoundError:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X_train, y_train, X_test, y_test = X[:1500] / 16, y[:1500], X[1500:] / 16, y[1500:]
    print(f"MNIST is not in {data_home}: this build uses scikit-learn's 8x8 digits "
          f"instead ({len(X_train)} training and {len(X_test)} held-out images)")

pca = PCA(50, random_state=0).fit(X_train)
Z_train, Z_test = pca.transform(X_train), pca.transform(X_test)

start = time.perf_counter()
tsne = TSNE(random_state=0).fit(Z_train)
print(f"fit: {time.perf_counter() - start:.1f} s ({tsne.method_} gradients), "
      f"KL divergence {tsne.kl_divergence_:.3f} nats, {tsne.n_iter_} iterations")
start = time.perf_counter()
placed = tsne.transform(Z_test)
print(f"transform of {len(Z_test)} held-out images: {time.perf_counter() - start:.1f} s")

knn = KNeighborsClassifier(10).fit(tsne.embedding_, y_train)
print(f"10-NN accuracy of the held-out images placed by transform: "
      f"{knn.score(placed, y_test):.3f}")

# %%
# The embedding coloured by digit, and the held-out images (black-edged) where
# ``transform`` placed them.
fig, ax = plt.subplots(figsize=(7, 7))
E = tsne.embedding_
ax.scatter(E[:, 0], E[:, 1], c=y_train, cmap="tab10", s=1, alpha=0.5)
ax.scatter(placed[:, 0], placed[:, 1], c=y_test, cmap="tab10", s=8,
           edgecolors="k", linewidths=0.3)
for digit in range(10):
    cx, cy = np.median(E[y_train == digit], axis=0)
    ax.text(cx, cy, str(digit), fontsize=16, weight="bold")
ax.set_xticks([])
ax.set_yticks([])
ax.set_title("t-SNE of the training images; held-out images placed by transform")
plt.show()
