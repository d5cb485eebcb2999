"""
A Gaussian mixture fitted on a dask array
=========================================

The data never sit in one array: 1,000,000 rows are generated lazily in chunks
of 100,000, and each EM iteration of :class:`skgen.GaussianMixtureEM` is one pass
over the chunks (each chunk's responsibilities and centred moments, merged
pairwise as a tree). Here a local cluster of two workers runs the passes; with
``Client("tcp://scheduler:8786")`` the same code runs on a real cluster, and a
``dask.array.from_zarr`` array larger than memory fits the same way.

``predict`` of a dask array is itself lazy and chunk-aligned: only the rows
plotted are computed.
"""

import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster

from skgen import GaussianMixtureEM

cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                       dashboard_address=None)
client = Client(cluster)

rng = da.random.default_rng(0)
n, chunk = 1_000_000, 100_000
centres = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])
labels = rng.integers(0, 3, size=n, chunks=chunk)
X = rng.standard_normal((n, 2), chunks=(chunk, 2)) * [1.0, 0.5] + da.from_array(centres)[labels]
X = X.persist()  # a real data set would be read from zarr or parquet chunk by chunk
print(X)

gm = GaussianMixtureEM(3, covariance_type="full", random_state=0).fit(X)
print(f"{gm.n_iter_} EM iterations, lower bound {gm.lower_bound_:.4f} nats per row")
print("means:\n", np.round(gm.means_, 3))

predicted = gm.predict(X)  # lazy, chunked like X
shown = slice(0, 5_000)
points, colours = X[shown].compute(), predicted[shown].compute()

fig, ax = plt.subplots(figsize=(5, 5))
ax.scatter(points[:, 0], points[:, 1], c=colours, s=2, cmap="viridis")
theta = np.linspace(0, 2 * np.pi, 100)
circle = np.stack([np.cos(theta), np.sin(theta)])
for mean, cov in zip(gm.means_, gm.covariances_):
    ellipse = np.linalg.cholesky(cov) @ circle * 2 + mean[:, None]
    ax.plot(ellipse[0], ellipse[1], "k-", lw=1)
ax.set_title("GaussianMixtureEM on a 1,000,000-row dask array\n(2-sigma ellipses)")
fig.tight_layout()
plt.show()

client.close()
cluster.close()
