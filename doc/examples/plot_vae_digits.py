"""
VAE: samples and the latent space of the digits
===============================================

A variational autoencoder with a 2-D latent space, trained on scikit-learn's 8x8
digits (Bernoulli decoder on intensities in [0, 1]). Left: the posterior means
of the digits, coloured by label; without labels the classes separate. Middle:
decoder means over a grid of latent points (the learned "manifold"). Right:
samples z ~ N(0, I) decoded. The held-out ELBO and the tighter
importance-weighted bound are printed in nats.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skgen import VAE

digits = load_digits()
X = (digits.data / 16.0).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, digits.target, random_state=0)

# Early stopping on a held-out tenth ends the training when its ELBO stops rising.
vae = VAE(n_components=2, likelihood="bernoulli", hidden_layer_sizes=(128,), batch_size=32,
          max_iter=500, early_stopping=True, n_iter_no_change=20,
          random_state=0).fit(X_train)
print(f"{vae.n_iter_} epochs; held-out ELBO {vae.score(X_test):.2f} nats")
vae.set_params(n_importance_samples=100)
print(f"held-out importance-weighted bound (k=100) {vae.score(X_test):.2f} nats")

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 4))
Z = vae.transform(X_test)
scatter = axes[0].scatter(Z[:, 0], Z[:, 1], c=y_test, cmap="tab10", s=8)
axes[0].legend(*scatter.legend_elements(), fontsize=6, loc="best")
axes[0].set_title("posterior means of held-out digits")

def mosaic(tiles):
    """Tiles (rows, cols, 8, 8) side by side, a 1-pixel grey gap between them."""
    padded = np.pad(tiles, ((0, 0), (0, 0), (0, 1), (0, 1)), constant_values=np.nan)
    rows, cols, h, w = padded.shape
    return padded.transpose(0, 2, 1, 3).reshape(rows * h, cols * w)[:-1, :-1]


gray = plt.get_cmap("gray").copy()
gray.set_bad("0.55")

n = 12
grid = norm.ppf(np.linspace(0.03, 0.97, n))
zz = np.array([[a, b] for b in grid[::-1] for a in grid], dtype=np.float32)
tiles = vae.inverse_transform(zz).reshape(n, n, 8, 8)
axes[1].imshow(mosaic(tiles), cmap=gray)
axes[1].set_title("decoder means over the latent grid")
axes[1].axis("off")

samples = vae.sample(36, random_state=0).reshape(6, 6, 8, 8)
axes[2].imshow(mosaic(samples), cmap=gray)
axes[2].set_title("samples z ~ N(0, I), decoded")
axes[2].axis("off")
plt.tight_layout()
plt.show()
