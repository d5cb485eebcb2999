"""
LLE unrolls the swiss roll
==========================

The notes' figure: 2000 points on a rolled-up sheet in 3-D, and the 2-D
embedding that locally linear embedding finds (Roweis & Saul 2000). The colour
is the position along the roll; an embedding that unrolls the sheet keeps the
colours in order. The four local models of :class:`skgen.LLE` are shown side by
side, with their trustworthiness (k=5) and fit time.
"""

import time

import matplotlib.pyplot as plt
from sklearn.datasets import make_swiss_roll
from sklearn.manifold import trustworthiness

from skgen import LLE

X, t = make_swiss_roll(2000, random_state=0)

fig = plt.figure(figsize=(12, 3.2))
ax = fig.add_subplot(1, 5, 1, projection="3d")
ax.scatter(X[:, 0], X[:, 1], X[:, 2], c=t, cmap="Spectral", s=3)
ax.set_title("swiss roll")
ax.set_xticks([])
ax.set_yticks([])
ax.set_zticks([])
for i, method in enumerate(["standard", "modified", "hessian", "ltsa"]):
    start = time.perf_counter()
    lle = LLE(n_neighbors=12, method=method, random_state=0).fit(X)
    seconds = time.perf_counter() - start
    E = lle.embedding_
    trust = trustworthiness(X, E, n_neighbors=5)
    print(f"{method:9s} {seconds:6.2f} s  trustworthiness {trust:.4f}  "
          f"reconstruction error {lle.reconstruction_error_:.3g}")
    ax = fig.add_subplot(1, 5, i + 2)
    ax.scatter(E[:, 0], E[:, 1], c=t, cmap="Spectral", s=3)
    ax.set_title(f"{method}\ntrust {trust:.3f}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()

# %%
# New points go in by barycentric weights (``transform``); points of the
# embedding come back to 3-D the same way (``inverse_transform``), so a KDE over
# the embedding gives new points on the sheet (``sample``).
lle = LLE(n_neighbors=12, random_state=0).fit(X)
new = lle.sample(500, random_state=0)
fig = plt.figure(figsize=(4, 3.5))
ax = fig.add_subplot(projection="3d")
ax.scatter(X[:, 0], X[:, 1], X[:, 2], c="lightgrey", s=2)
ax.scatter(new[:, 0], new[:, 1], new[:, 2], c="crimson", s=4)
ax.set_title("LLE.sample: 500 new points")
plt.show()
