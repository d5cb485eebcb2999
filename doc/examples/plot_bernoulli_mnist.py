"""
Mixture of Bernoullis on MNIST digits 3, 5 and 8
================================================

Binarized images of three digit classes are modelled as a mixture of products of
independent Bernoullis (Bishop 2006, section 9.3.3). Without seeing the labels,
EM finds components whose means look like the digits; the figure shows the learned
means (the probability that each pixel is on) and samples drawn from the model.

MNIST is read from ``../shared/data`` beside the repository. Where that folder
is absent the example runs on scikit-learn's bundled 8x8 digits instead, and its
first printed line says so.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from skgen import BernoulliMixture

data_home = Path.cwd()
for parent in [Path.cwd(), *Path.cwd().parents]:
    if (parent / "shared" / "data" / "mnist").is_dir():
        data_home = parent / "shared" / "data"
        break

try:
    from skgen.datasets import load_mnist

    mnist = load_mnist(data_home, subset="train", download_if_missing=False)
    X, y, shape = mnist.data / 255.0, mnist.target, (28, 28)
    print("MNIST training images")
except FileNotFoundError:
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y, shape = digits.data / 16.0, digits.target, (8, 8)
    print(f"MNIST is not in {data_home}: this build uses scikit-learn's 8x8 digits "
          "instead")

keep = np.isin(y, [3, 5, 8])
X, y = X[keep], y[keep]
print(f"{X.shape[0]} images of 3, 5 and 8, {X.shape[1]} pixels")

# %%
# Fit a mixture of 6 Bernoullis on the images binarized at 0.5.
bm = BernoulliMixture(n_components=6, binarize=0.5, n_init=2, random_state=0).fit(X)
print(f"converged after {bm.n_iter_} iterations, "
      f"log-likelihood {bm.score(X):.1f} nats per image")

# How the unsupervised components line up with the labels.
labels = bm.predict(X)
for k in np.argsort(-bm.weights_):
    counts = [int(np.sum((labels == k) & (y == digit))) for digit in (3, 5, 8)]
    print(f"component {k}: weight {bm.weights_[k]:.2f}, (3, 5, 8) counts {counts}")

# %%
# The learned means, and samples from the fitted mixture.
samples, _ = bm.sample(12, random_state=0)
fig, axes = plt.subplots(2, 6, figsize=(9, 3.4))
for ax, mean, w in zip(axes[0], bm.means_, bm.weights_):
    ax.imshow(mean.reshape(shape), cmap="gray")
    ax.set_title(f"weight {w:.2f}", fontsize=9)
for ax, sample in zip(axes[1], samples[::2]):
    ax.imshow(sample.reshape(shape), cmap="gray")
for ax in axes.ravel():
    ax.axis("off")
axes[0, 0].set_ylabel("means")
fig.suptitle("Mixture of Bernoullis: component means (top), samples (bottom)")
plt.tight_layout()
plt.show()
