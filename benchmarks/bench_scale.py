"""Scale-out benchmark (issue 11): mixtures and PCA on dask arrays.

Run ``python -m benchmarks.bench_scale`` (needs ``pip install ".[bench]"``: dask,
distributed, zarr, dask-ml). It writes a float32 array of ``--rows`` x 50
(default 50,000,000: 10 GB) to zarr under ``--workdir`` once, then measures:

1. out of core: a LocalCluster of 2 workers x 1 thread with
   ``memory_limit="2GiB"`` fits GaussianMixtureEM K=10 (diag and full) and
   PCA(10) on the zarr array; seconds per EM iteration and per PCA fit, each
   worker's peak RSS and spilled keys, and rows per second against our
   in-memory fit on the first 1,000,000 rows (goal: >= 50%);
2. strong scaling: 1 vs 2 workers on the first 2,000,000 rows (ideal 2);
3. dask-ml's PCA beside ours on the same cluster, tall (2,000,000 x 50) and
   wide (2,000 x 20,000 in column chunks): seconds and explained variance;
4. overhead on small data: a dask array in memory (threaded scheduler) against
   the NumPy fit (goal <= 1.5x).

Every EM fit starts from the same given parameters (from a fit on a 20,000-row
sample), so iterations are comparable; whole fits with default parameters are
timed in the overhead rows.

The rows are printed and written to ``--out`` (JSON lines).
"""

import argparse
import json
import os
import threading
import time
import warnings
from pathlib import Path

import numpy as np

N_FEATURES = 50
N_CENTRES = 10
CHUNK_ROWS = 250_000


def _block(block_id, rows, seed=0):
    rng = np.random.default_rng([seed, block_id])
    centres = np.random.default_rng(seed).normal(scale=3.0, size=(N_CENTRES, N_FEATURES))
    labels = rng.integers(N_CENTRES, size=rows)
    X = rng.standard_normal((rows, N_FEATURES), dtype=np.float32)
    X += centres[labels].astype(np.float32)
    return X


def make_data(path, n_rows):
    """Write the float32 mixture data set to zarr (one chunk = 250,000 rows)."""
    import dask.array as da

    if (Path(path) / "done").exists():
        return
    chunks = [CHUNK_ROWS] * (n_rows // CHUNK_ROWS) + ([n_rows % CHUNK_ROWS] if n_rows % CHUNK_ROWS else [])
    X = da.map_blocks(
        lambda block_info=None: _block(block_info[None]["chunk-location"][0],
                                       block_info[None]["chunk-shape"][0]),
        dtype=np.float32, chunks=(tuple(chunks), (N_FEATURES,)),
    )
    t = time.perf_counter()
    # Uncompressed: 4 bytes a value on disk, so the file is as large as the array.
    X.to_zarr(str(path), overwrite=True, compressors=None)
    (Path(path) / "done").write_text(f"{time.perf_counter() - t:.1f} s\n")


class WorkerMemory:
    """Peak RSS and spilled keys of every worker, sampled every 0.25 s."""

    def __init__(self, client):
        self.client, self.peak, self.spilled = client, {}, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _probe(dask_worker):
        import psutil

        data = dask_worker.data
        slow = getattr(data, "slow", None)
        return psutil.Process().memory_info().rss, (len(slow) if slow is not None else 0)

    def _run(self):
        while not self._stop.is_set():
            try:
                for worker, (rss, spilled) in self.client.run(self._probe).items():
                    self.peak[worker] = max(self.peak.get(worker, 0), rss)
                    self.spilled = max(self.spilled, spilled)
            except Exception:
                pass
            time.sleep(0.25)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self):
        return {"worker_peak_rss_gib": sorted(round(v / 2**30, 2) for v in self.peak.values()),
                "spilled_keys": self.spilled}


def _start(X_sample, covariance_type):
    from skgen import GaussianMixtureEM

    gm = GaussianMixtureEM(N_CENTRES, covariance_type=covariance_type, max_iter=5,
                           random_state=0).fit(X_sample)
    return {"weights_init": gm.weights_, "means_init": gm.means_,
            "precisions_init": gm.precisions_}


def _fit_seconds(X, covariance_type, start, n_iter):
    from skgen import GaussianMixtureEM

    gm = GaussianMixtureEM(N_CENTRES, covariance_type=covariance_type, max_iter=n_iter,
                           tol=0, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        gm.fit(X)
        seconds = time.perf_counter() - t
    return seconds / n_iter, gm


def _pca_seconds(X, n_components=10, solver="auto"):
    from skgen import PCA

    t = time.perf_counter()
    pca = PCA(n_components, svd_solver=solver, random_state=0).fit(X)
    return time.perf_counter() - t, pca


def _warm(X):
    """First use on fresh workers: imports, numba's cached kernels, one pass each."""
    small = X[: 2 * CHUNK_ROWS // 10].rechunk(CHUNK_ROWS // 10)
    start = _start(small[:20_000].compute(), "diag")
    for ct in ("diag", "full"):
        _fit_seconds(small, ct, start if ct == "diag" else _start(small[:20_000].compute(), ct), 1)
    _pca_seconds(small)


def out_of_core(path, emit, iters, which=("diag", "full", "pca")):
    import dask.array as da
    from distributed import Client, LocalCluster

    X = da.from_zarr(str(path))
    n = X.shape[0]
    sample = X[:20_000].compute()
    in_memory = X[:1_000_000].compute()
    mixtures = [ct for ct in ("diag", "full") if ct in which]
    starts = {ct: _start(sample, ct) for ct in mixtures}
    reference = {}
    for ct in mixtures:
        s, _ = _fit_seconds(in_memory, ct, starts[ct], iters[ct])
        reference[ct] = in_memory.shape[0] / s
        emit({"benchmark": f"in-memory GMM {ct} K=10", "rows": in_memory.shape[0],
              "s_per_iter": round(s, 3), "rows_per_s": round(reference[ct])})
    s = min(_pca_seconds(in_memory)[0] for _ in range(3))  # 0.1 s: best of 3
    reference["pca"] = in_memory.shape[0] / s
    emit({"benchmark": "in-memory PCA(10)", "rows": in_memory.shape[0],
          "s_per_fit": round(s, 3), "rows_per_s": round(reference["pca"])})
    del in_memory
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="2GiB",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        _warm(X)
        for ct in mixtures:
            with WorkerMemory(client) as memory:
                s, gm = _fit_seconds(X, ct, starts[ct], iters[ct])
            emit({"benchmark": f"out-of-core GMM {ct} K=10", "rows": n,
                  "gbytes": round(X.nbytes / 1e9, 2), "s_per_iter": round(s, 2),
                  "rows_per_s": round(n / s), "vs_in_memory": round(n / s / reference[ct], 3),
                  "lower_bound": round(float(gm.lower_bound_), 4), **memory.summary()})
        if "pca" not in which:
            return
        with WorkerMemory(client) as memory:
            # One pass, bound by reading the 10 GB: three fits show the spread,
            # beside a pass that only reads (X.sum()).
            fits = [_pca_seconds(X) for _ in range(3)]
        t = time.perf_counter()
        X.sum().compute()
        read_s = time.perf_counter() - t
        seconds = sorted(f[0] for f in fits)
        s, pca = seconds[1], fits[0][1]
        emit({"benchmark": "out-of-core PCA(10)", "rows": n, "s_per_fit": round(s, 2),
              "s_per_fit_min_max": [round(seconds[0], 2), round(seconds[-1], 2)],
              "read_only_pass_s": round(read_s, 2),
              "rows_per_s": round(n / s), "vs_in_memory": round(n / s / reference["pca"], 3),
              "explained_variance_ratio_sum": round(float(pca.explained_variance_ratio_.sum()), 5),
              **memory.summary()})


def strong_scaling(path, emit, n_rows=2_000_000):
    import dask.array as da
    from distributed import Client, LocalCluster

    X = da.from_zarr(str(path))[:n_rows]
    start = _start(X[:20_000].compute(), "diag")
    seconds = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, memory_limit="2GiB",
                          dashboard_address=None) as cluster, Client(cluster):
            _fit_seconds(X, "diag", start, 1)  # warm the workers (imports, numba)
            seconds[workers], _ = _fit_seconds(X, "diag", start, 3)
    emit({"benchmark": "strong scaling GMM diag K=10", "rows": n_rows,
          "s_per_iter_1_worker": round(seconds[1], 3),
          "s_per_iter_2_workers": round(seconds[2], 3),
          "speedup": round(seconds[1] / seconds[2], 2)})


def versus_dask_ml(path, emit):
    import dask.array as da
    from dask_ml.decomposition import PCA as DaskMLPCA
    from distributed import Client, LocalCluster

    rng = da.random.default_rng(1)
    # Rank 40 with a decaying spectrum (so that the top 10 axes are well
    # defined) plus noise, generated on the workers in 1,000 x 2,000 chunks.
    decay = 10.0 * 0.85 ** np.arange(40)
    wide = ((rng.standard_normal((2_000, 40), chunks=(1_000, 40)) * decay)
            @ rng.standard_normal((40, 20_000), chunks=(40, 2_000))
            + 0.1 * rng.standard_normal((2_000, 20_000), chunks=(1_000, 2_000))).astype(np.float32)
    shapes = {"tall": da.from_zarr(str(path))[:2_000_000], "wide": wide}
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="2GiB",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        _warm(shapes["tall"])
        for name, X in shapes.items():
            X = client.persist(X) if name == "wide" else X
            ours_s, ours = _pca_seconds(X)
            row = {"benchmark": f"PCA(10) {name} {X.shape[0]}x{X.shape[1]} vs dask-ml",
                   "skgen_s": round(ours_s, 2),
                   "skgen_explained_variance_ratio": round(
                       float(ours.explained_variance_ratio_.sum()), 5)}
            fast_s, fast = _pca_seconds(X, solver="randomized")
            row["skgen_randomized_s"] = round(fast_s, 2)
            row["skgen_randomized_explained_variance_ratio"] = round(
                float(fast.explained_variance_ratio_.sum()), 5)
            for solver in ("auto", "tsqr", "randomized"):
                try:
                    t = time.perf_counter()
                    theirs = DaskMLPCA(10, svd_solver=solver, random_state=0).fit(X)
                    row[f"dask_ml_{solver}_s"] = round(time.perf_counter() - t, 2)
                    row[f"dask_ml_{solver}_explained_variance_ratio"] = round(
                        float(np.sum(theirs.explained_variance_ratio_)), 5)
                    cos = np.abs(np.sum(np.asarray(theirs.components_) * ours.components_, axis=1))
                    row[f"dask_ml_{solver}_min_abs_cos_to_ours"] = round(float(cos.min()), 6)
                except Exception as error:  # recorded: dask-ml fails on some shapes
                    row[f"dask_ml_{solver}_error"] = f"{type(error).__name__}: {str(error)[:120]}"
            emit(row)


def overhead(emit, n_rows=200_000):
    import dask.array as da

    from skgen import GaussianMixtureEM

    X = _block(0, n_rows).astype(np.float64)
    Xd = da.from_array(X, chunks=(50_000, -1))
    for label, kwargs in [("same start, 10 iterations", "start"), ("default parameters", {})]:
        if kwargs == "start":
            kwargs = dict(max_iter=10, tol=0, **_start(X[:20_000], "full"))
        times = {}
        for name, data in (("numpy", X), ("dask", Xd), ("numpy ", X), ("dask ", Xd)):
            gm = GaussianMixtureEM(N_CENTRES, random_state=0, **kwargs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = time.perf_counter()
                gm.fit(data)
                times.setdefault(name.strip(), []).append(time.perf_counter() - t)
        emit({"benchmark": f"small data GMM full K=10 {n_rows}x50, {label}",
              "numpy_s": round(min(times["numpy"]), 3), "dask_s": round(min(times["dask"]), 3),
              "ratio": round(min(times["dask"]) / min(times["numpy"]), 2)})
    for rows in (n_rows, 10 * n_rows):
        X = np.concatenate([_block(i, n_rows) for i in range(rows // n_rows)])
        Xd = da.from_array(X, chunks=(CHUNK_ROWS // 5, -1))
        times = {"numpy": [], "dask": []}
        for _ in range(3):
            times["numpy"].append(_pca_seconds(X)[0])
            times["dask"].append(_pca_seconds(Xd)[0])
        emit({"benchmark": f"small data PCA(10) {rows}x50 float32",
              "numpy_s": round(min(times["numpy"]), 4), "dask_s": round(min(times["dask"]), 4),
              "ratio": round(min(times["dask"]) / min(times["numpy"]), 2)})


def _mnist_block(block_id, rows, images, labels=None):
    """Rows of MNIST-like 28x28 images: random digits shifted by up to 2 pixels.

    With ``labels`` (one per image), returns (rows, their labels).
    """
    rng = np.random.default_rng([7, block_id])
    which = rng.integers(len(images), size=rows)
    picked = images[which]
    out = np.empty((rows, 28, 28), dtype=np.float32)
    shifts = rng.integers(-2, 3, size=(rows, 2))
    for (dy, dx) in {tuple(s) for s in shifts.tolist()}:
        sel = np.all(shifts == (dy, dx), axis=1)
        out[sel] = np.roll(picked[sel], (dy, dx), axis=(1, 2))
    if labels is not None:
        return out.reshape(rows, 784), labels[which]
    return out.reshape(rows, 784)


def neural_out_of_core(workdir, emit, data_home, n_rows=3_200_000, chunk=50_000):
    """VAE 784-512-20 for one epoch on a 10 GB zarr of shifted MNIST digits vs in memory."""
    import dask.array as da
    import psutil

    from skgen import VAE
    from skgen.datasets import load_mnist

    images = (load_mnist(data_home, subset="train", download_if_missing=False).data
              .reshape(-1, 28, 28) / np.float32(255)).astype(np.float32)
    path = Path(workdir) / f"mnist_shifted_{n_rows}x784.zarr"
    if not (path / "done").exists():
        X = da.map_blocks(
            lambda block_info=None: _mnist_block(block_info[None]["chunk-location"][0],
                                                 block_info[None]["chunk-shape"][0], images),
            dtype=np.float32, chunks=((chunk,) * (n_rows // chunk), (784,)),
        )
        t = time.perf_counter()
        X.to_zarr(str(path), overwrite=True, compressors=None)
        (path / "done").write_text(f"{time.perf_counter() - t:.1f} s\n")
    X = da.from_zarr(str(path))
    kw = dict(n_components=20, likelihood="bernoulli", hidden_layer_sizes=(512,),
              batch_size=128, max_iter=1, tol=0, random_state=0)
    process = psutil.Process()
    peak = {"rss": 0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], process.memory_info().rss)
            time.sleep(0.1)

    VAE(**kw).fit(X[:5_000].compute())  # compile once (same shapes as below)
    in_memory = X[:1_000_000].compute()
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        VAE(**kw).fit(in_memory)
    memory_rate = in_memory.shape[0] / (time.perf_counter() - t)
    del in_memory
    base = process.memory_info().rss
    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae = VAE(**kw).fit(X)
    seconds = time.perf_counter() - t
    stop.set()
    watcher.join()
    emit({"benchmark": "VAE 784-512-20, one epoch, out of core", "rows": n_rows,
          "gbytes": round(X.nbytes / 1e9, 2), "chunk_rows": chunk, "epoch_s": round(seconds, 1),
          "samples_per_s": round(n_rows / seconds),
          "in_memory_samples_per_s_1M_rows": round(memory_rate),
          "vs_in_memory": round(n_rows / seconds / memory_rate, 3),
          "peak_host_gib_beyond_start": round((peak["rss"] - base) / 2**30, 2),
          "train_loss": round(float(vae.loss_curve_[-1]), 3)})


_DEVICES_SCRIPT = """
import json, sys, time, warnings
import numpy as np
from skgen import VAE
from skgen.datasets import load_binarized_mnist
warnings.simplefilter("ignore")
X = load_binarized_mnist(sys.argv[1], subset="train", download_if_missing=False).data
X = X.astype(np.float32)
out = {}
for n in (1, 2):
    vae = VAE(20, likelihood="bernoulli", hidden_layer_sizes=(512,), batch_size=1024,
              max_iter=1, tol=0, random_state=0, n_devices=n).fit(X)
    vae.set_params(warm_start=True, max_iter=3)
    t = time.perf_counter()
    vae.fit(X)
    out[n] = (time.perf_counter() - t) / 3
    out[f"loss{n}"] = vae.loss_curve_[-1]
print(json.dumps(out))
"""


def cpu_devices(emit, data_home):
    """VAE on 1 vs 2 simulated CPU devices (XLA's host device count), 2 cores."""
    import subprocess
    import sys

    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", _DEVICES_SCRIPT, data_home], env=env,
                          capture_output=True, text=True, check=True)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    emit({"benchmark": "VAE 784-512-20 batch 1024 on 1 vs 2 CPU host devices (2 cores)",
          "rows": 50_000, "s_per_epoch_1_device": round(out["1"], 3),
          "s_per_epoch_2_devices": round(out["2"], 3),
          "speedup": round(out["1"] / out["2"], 2),
          "train_loss_1_vs_2": [round(out["loss1"], 4), round(out["loss2"], 4)]})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--workdir", default=os.path.expanduser("~/.cache/skgen-bench"))
    parser.add_argument("--out", default="benchmarks/scale_results.jsonl")
    parser.add_argument("--only", nargs="*", default=None,
                        help="subset of: make ooc ooc-pca scaling dask-ml overhead vae devices")
    parser.add_argument("--data-home", default=str(Path(__file__).resolve().parents[2]
                                                   / "shared" / "data"))
    args = parser.parse_args(argv)
    path = Path(args.workdir) / f"mixture_{args.rows}x{N_FEATURES}.zarr"
    path.parent.mkdir(parents=True, exist_ok=True)
    steps = args.only or ["make", "ooc", "scaling", "dask-ml", "overhead", "vae", "devices"]

    from benchmarks._common import machine

    def emit(row):
        row = {**row, "machine": machine(), "date": time.strftime("%Y-%m-%d")}
        print(json.dumps(row), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")

    if "make" in steps or (set(steps) & {"ooc", "ooc-pca", "scaling", "dask-ml"}
                           and not (path / "done").exists()):
        make_data(path, args.rows)
        emit({"benchmark": "write zarr", "rows": args.rows,
              "seconds": (path / "done").read_text().strip()})
    if "ooc" in steps:
        out_of_core(path, emit, {"diag": 2, "full": 1})
    if "ooc-pca" in steps:
        out_of_core(path, emit, {}, which=("pca",))
    if "scaling" in steps:
        strong_scaling(path, emit)
    if "dask-ml" in steps:
        versus_dask_ml(path, emit)
    if "overhead" in steps:
        overhead(emit)
    if "vae" in steps:
        neural_out_of_core(args.workdir, emit, args.data_home)
    if "devices" in steps:
        cpu_devices(emit, args.data_home)
    from benchmarks.run import main as run_main

    run_main(["--markdown-only"])  # RESULTS.md with this section refreshed


_SECTION = """## Scale out: dask arrays on a LocalCluster (bench_scale.py)

`python -m benchmarks.bench_scale` (needs `.[bench]`). Data: a float32 mixture of 10
Gaussians in 50-D, 50,000,000 rows written uncompressed to zarr in chunks of 250,000
rows (10.0 GB on disk; the 24 GiB machine's page cache holds part of it: a pass that
only reads, `X.sum()`, took 7.4 to 14.8 s, 0.7 to 1.4 GB/s). Out of core: a LocalCluster of 2 worker
processes x 1 thread, `memory_limit="2GiB"` each, peak RSS sampled every 0.25 s,
spilled keys counted. Every EM fit starts from the same given parameters (a fit on
20,000 rows), `tol=0`; s_per_iter = fit seconds / iterations. In memory: the same
fit on the first 1,000,000 rows as one NumPy array (BLAS on both cores). Goal:
out-of-core rows/s >= 50% of in-memory. Strong scaling: 1 vs 2 workers on the
first 2,000,000 rows (ideal 2). dask-ml: its PCA beside ours on the same cluster
(`min_abs_cos_to_ours`: the smallest |cosine| between its components and ours; 1
when they agree). Overhead: a dask array in memory (threaded scheduler) against
the NumPy fit, same estimator (goal <= 1.5x). VAE out of core: VAE 784-512-20
(Bernoulli decoder, batch 128) for one epoch on 3,200,000 MNIST digits shifted by up
to 2 pixels, float32, uncompressed zarr in chunks of 50,000 rows (10.0 GB), dask's
threaded scheduler, against the same VAE on the first 1,000,000 rows in memory (goal
>= 80% of its samples/s), and the process's peak RSS beyond its size before the fit
(goal < 2 GiB). Devices: the VAE at batch 1024 on 1 vs 2 simulated CPU devices of
the same 2 cores (no speed-up expected: it shows the cost of the sharding).
"""


def markdown(path):
    """The RESULTS.md section of ``path`` (JSON lines; the last row of each benchmark)."""
    if not Path(path).exists():
        return ""
    rows = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            rows[row["benchmark"]] = row
    lines = [_SECTION]
    machines = sorted({r.get("machine", "") for r in rows.values()} - {""})
    if machines:
        lines.append("Machine: " + "; ".join(machines) + ".\n")
    for row in rows.values():
        fields = {k: v for k, v in row.items() if k not in ("benchmark", "machine")}
        lines.append(f"- **{row['benchmark']}**: "
                     + ", ".join(f"{k} {v}" for k, v in fields.items()))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
