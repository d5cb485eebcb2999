"""
Denoising autoencoder: removing masking noise from digits
=========================================================

A denoising autoencoder learns to rebuild clean digits from copies with 25% of
their pixels zeroed (masking noise). On held-out digits its reconstructions are
compared with the corrupted input and with PCA of the same code size, by PSNR
(higher is better). The last row shows samples from the generative Markov chain
of Bengio et al. (2013).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skgen import PCA, DenoisingAE

X = (load_digits().data / 16.0).astype(np.float32)
X_train, X_test = train_test_split(X, random_state=0)

dae = DenoisingAE(n_components=16, hidden_layer_sizes=(128,), corruption="masking",
                  noise_level=0.25, loss="bce", batch_size=32, max_iter=150,
                  random_state=0).fit(X_train)
rng = np.random.RandomState(0)
corrupted = np.where(rng.uniform(size=X_test.shape) < 0.25, 0, X_test)
denoised = dae.inverse_transform(dae.transform(corrupted))
pca = PCA(16, random_state=0).fit(X_train)
pca_rec = np.clip(pca.inverse_transform(pca.transform(corrupted)), 0, 1)


def psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((a - b) ** 2))


for name, rec in [("corrupted input", corrupted), ("PCA, 16 components", pca_rec),
                  ("DenoisingAE, code 16", denoised)]:
    print(f"{name:22s} PSNR {psnr(rec, X_test):5.2f} dB")

# %%
rows = [X_test[:10], corrupted[:10], pca_rec[:10], denoised[:10],
        dae.sample(10, n_steps=20, random_state=0)]
titles = ["clean", "masked 25%", "PCA", "DenoisingAE", "chain samples"]
fig, axes = plt.subplots(len(rows), 10, figsize=(9, 5))
for r, (images, title) in enumerate(zip(rows, titles)):
    for c in range(10):
        axes[r, c].imshow(images[c].reshape(8, 8), cmap="gray", vmin=0, vmax=1)
        axes[r, c].axis("off")
    axes[r, 0].set_title(title, fontsize=8, loc="left")
plt.tight_layout()
plt.show()
