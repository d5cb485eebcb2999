"""Before/after timing of a refactor: one skgen source tree against another.

Run once per tree and part, alternating trees, on one machine::

    git worktree add /tmp/old <commit>
    python /tmp/old/../benchmarks/ab_trees.py /tmp/old gmm     # or tsne, dask
    python benchmarks/ab_trees.py "$PWD" gmm

``gmm``: GaussianMixtureEM full K=20 on 10,000 x 50 blobs, float64 and float32,
seconds per EM iteration from a fixed start (best of 3 x 10 iterations);
``tsne``: the whole default TSNE fit on 10,000 x 50 blobs (best of 2);
``dask``: a 2,000,000 x 50 float32 array read chunk by chunk from /tmp/ab.npy
(8 chunks, written by ``--write``) on a LocalCluster of 2 workers x 1 thread:
diagonal GaussianMixtureEM K=10 seconds per iteration, PCA(10) fit and a
transform's sum, and a full-covariance mixture on a 200,000-row dask array held
in memory. Prints one JSON line; the figures are compared in RESULTS.md.
"""
import sys, json, time, warnings
sys.path.insert(0, sys.argv[1])
warnings.filterwarnings("ignore")
import numpy as np
import skgen
assert skgen.__file__.startswith(sys.argv[1]), skgen.__file__
from sklearn.datasets import make_blobs

def _write(path="/tmp/ab.npy"):
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((10, 50)) * 3
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(2_000_000, 50))
    for s in range(0, 2_000_000, 250_000):
        labels = rng.integers(10, size=250_000)
        X[s:s + 250_000] = (rng.standard_normal((250_000, 50), dtype=np.float32)
                            + centres[labels].astype(np.float32))
    X.flush()


def main():
    if sys.argv[2] == "--write":
        return _write()
    out = {}
    which = sys.argv[2]
    if which == "gmm":
        for dtype in (np.float64, np.float32):
            X, _ = make_blobs(10000, 50, centers=20, random_state=0)
            X = X.astype(dtype)
            start = skgen.GaussianMixtureEM(20, max_iter=1, random_state=0).fit(X)
            kw = dict(weights_init=start.weights_, means_init=start.means_, precisions_init=start.precisions_)
            skgen.GaussianMixtureEM(20, max_iter=2, tol=0, **kw).fit(X)
            ts = []
            for _ in range(3):
                t = time.perf_counter(); m = skgen.GaussianMixtureEM(20, max_iter=10, tol=0, **kw).fit(X); ts.append((time.perf_counter() - t) / 10)
            out[f"gmm_{np.dtype(dtype).name}_s_per_iter"] = min(ts); out[f"gmm_{np.dtype(dtype).name}_lb"] = m.lower_bound_
    elif which == "tsne":
        X, _ = make_blobs(10000, 50, centers=10, random_state=0)
        skgen.TSNE(random_state=0, max_iter=60, early_exaggeration_iter=30, n_jobs=2).fit(X[:6000])
        ts = []
        for _ in range(2):
            t = time.perf_counter(); m = skgen.TSNE(random_state=0, n_jobs=2).fit(X); ts.append(time.perf_counter() - t)
        out["tsne_10000_fit_s"] = min(ts); out["tsne_kl"] = m.kl_divergence_
    elif which == "dask":
        import dask.array as da
        from distributed import Client, LocalCluster
        import dask

        def _load(i):
            return np.array(np.load("/tmp/ab.npy", mmap_mode="r")[i * 250_000:(i + 1) * 250_000])

        X = da.concatenate([da.from_delayed(dask.delayed(_load)(i), (250_000, 50), np.float32)
                            for i in range(8)])
        Xs = X[:200_000].compute()
        start = skgen.GaussianMixtureEM(10, covariance_type="diag", max_iter=1, random_state=0).fit(Xs)
        kw = dict(weights_init=start.weights_, means_init=start.means_, precisions_init=start.precisions_)
        with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="2GiB", dashboard_address=None) as c, Client(c):
            skgen.GaussianMixtureEM(10, covariance_type="diag", max_iter=1, tol=0, **kw).fit(X)
            t = time.perf_counter(); m = skgen.GaussianMixtureEM(10, covariance_type="diag", max_iter=3, tol=0, **kw).fit(X)
            out["ooc_gmm_diag_s_per_iter"] = (time.perf_counter() - t) / 3; out["ooc_lb"] = m.lower_bound_
            skgen.PCA(10).fit(X)
            ts = []
            for _ in range(2):
                t = time.perf_counter(); p = skgen.PCA(10).fit(X); ts.append(time.perf_counter() - t)
            out["ooc_pca_s"] = min(ts); out["ooc_pca_evr"] = float(p.explained_variance_ratio_.sum())
            t = time.perf_counter(); p.transform(X).sum(axis=0).compute(); out["ooc_pca_transform_s"] = time.perf_counter() - t
        Xd = da.from_array(Xs, chunks=(25_000, -1))
        skgen.GaussianMixtureEM(10, covariance_type="full", max_iter=2, tol=0, random_state=0).fit(Xd)
        t = time.perf_counter(); skgen.GaussianMixtureEM(10, covariance_type="full", max_iter=10, tol=0, random_state=0).fit(Xd)
        out["small_dask_gmm_full_10it_s"] = time.perf_counter() - t
    print(json.dumps(out))


if __name__ == '__main__':
    main()
