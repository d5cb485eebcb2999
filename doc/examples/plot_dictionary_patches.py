"""
Dictionary learning on image patches, and OMP reconstruction
============================================================

A dictionary of 100 atoms is learned online (mini-batches, Mairal et al. 2010) from
7 x 7 patches of the left half of a photograph. The right half, which the dictionary
has not seen, is then coded patch by patch with orthogonal matching pursuit
(Batch-OMP, numba, parallel over patches) using 1, 2 and 5 atoms per patch, and
rebuilt by averaging the overlapping patches.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image
from sklearn.feature_extraction.image import (
    extract_patches_2d,
    reconstruct_from_patches_2d,
)

from skgen import DictionaryLearning, SparseCoder

image = load_sample_image("china.jpg").mean(axis=2) / 255.0
image = image[::4, ::4]  # 107 x 160 pixels
height, width = image.shape
left, right = image[:, : width // 2], image[:, width // 2:]

patch = (7, 7)
train = extract_patches_2d(left, patch, max_patches=5000, random_state=0)
train = train.reshape(len(train), -1)
mean = train.mean(axis=1, keepdims=True)
train = train - mean  # code the texture, not the brightness
print(f"{train.shape[0]} training patches of {train.shape[1]} pixels")

# %%
# Learn the dictionary online: 20 epochs of mini-batches of 256 patches.
start = time.perf_counter()
dl = DictionaryLearning(n_components=100, alpha=0.1, batch_size=256, max_iter=20,
                        tol=0, random_state=0).fit(train)
print(f"learned in {time.perf_counter() - start:.1f} s, "
      f"{dl.n_steps_} mini-batch steps")

# %%
# Code every patch of the right half with OMP and rebuild the half image.
test = extract_patches_2d(right, patch)
test = test.reshape(len(test), -1)
test_mean = test.mean(axis=1, keepdims=True)
reconstructions = {}
for n_nonzero in (1, 2, 5):
    coder = SparseCoder(dl.components_, transform_algorithm="omp",
                        transform_n_nonzero_coefs=n_nonzero)
    start = time.perf_counter()
    code = coder.transform(test - test_mean)
    seconds = time.perf_counter() - start
    patches = (coder.inverse_transform(code) + test_mean).reshape(-1, *patch)
    rebuilt = reconstruct_from_patches_2d(patches, right.shape)
    rmse = np.sqrt(np.mean((rebuilt - right) ** 2))
    reconstructions[n_nonzero] = (rebuilt, rmse)
    print(f"OMP, {n_nonzero} atoms per patch: {len(test)} patches in {seconds:.3f} s, "
          f"RMSE {rmse:.4f}")

# %%
fig = plt.figure(figsize=(9, 6))
ax = fig.add_subplot(2, 4, (1, 3))
ax.imshow(dl.components_.reshape(10, 10, *patch).transpose(0, 2, 1, 3)
          .reshape(10 * patch[0], 10 * patch[1]), cmap="gray")
ax.set_title("learned atoms (7 x 7)")
ax.axis("off")
ax = fig.add_subplot(2, 4, 4)
ax.imshow(right, cmap="gray", vmin=0, vmax=1)
ax.set_title("right half (unseen)")
ax.axis("off")
for i, (k, (rebuilt, rmse)) in enumerate(reconstructions.items()):
    ax = fig.add_subplot(2, 4, 6 + i)
    ax.imshow(np.clip(rebuilt, 0, 1), cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"OMP, {k} atom{'s' if k > 1 else ''}\nRMSE {rmse:.3f}", fontsize=9)
    ax.axis("off")
plt.tight_layout()
plt.show()
