"""Manifold benchmarks: LLE vs scikit-learn's LocallyLinearEmbedding on swiss rolls;
TSNE vs openTSNE and scikit-learn's TSNE on the digits, blobs and MNIST; numba's
compile time for the t-SNE kernels. Seconds side by side, ratios, and quality
(trustworthiness, KL divergence, kNN accuracy) next to them."""

import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.datasets import load_digits, make_blobs, make_swiss_roll
from sklearn.manifold import LocallyLinearEmbedding
from sklearn.manifold import TSNE as SkTSNE
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier

from skgen import LLE, TSNE
from skgen.manifold import kl_divergence

from ._common import quiet, time_alternating

N_JOBS = 2
# scikit-learn's TSNE up to this many points (it took 645 s on MNIST 70000
# quietly; the busy run sets 20000 to finish in minutes).
SKLEARN_TSNE_MAX = int(os.environ.get("SKGEN_BENCH_SKLEARN_TSNE_MAX", 100_000))


def _trust(X, E, n=3000, k=10):
    """Trustworthiness (k=10) on a fixed random subsample of n points."""
    idx = np.random.RandomState(0).permutation(len(X))[:n]
    return float(trustworthiness(X[idx], E[idx], n_neighbors=k))


def bench_lle(quick=False):
    """skgen LLE vs scikit-learn's LocallyLinearEmbedding, standard method, k=12,
    2 components, both with their 'auto' eigen solver (ARPACK), on swiss rolls.
    quality: trustworthiness (k=10) of the embedding on 3000 sampled points, and
    the reconstruction error (sum of the kept eigenvalues of M)."""
    sizes = [2_000, 20_000] if quick else [5_000, 100_000]
    LLE(n_neighbors=12).fit(make_swiss_roll(500, random_state=1)[0])  # compile
    rows = []
    for n in sizes:
        X, _ = make_swiss_roll(n, random_state=0)
        seconds, fitted = time_alternating(
            {"ours": lambda: LLE(n_neighbors=12, random_state=0, n_jobs=N_JOBS).fit(X),
             "sklearn": quiet(lambda: LocallyLinearEmbedding(
                 n_neighbors=12, random_state=0, n_jobs=N_JOBS).fit(X))},
            repeats=3 if n <= 5_000 else 1)
        ours, ref = fitted["ours"], fitted["sklearn"]
        rows.append(dict(
            benchmark="LLE vs sklearn LocallyLinearEmbedding (swiss roll, k=12)",
            size=f"{n}x3",
            ours_s=seconds["ours"], baseline="sklearn", baseline_s=seconds["sklearn"],
            speedup=seconds["sklearn"] / seconds["ours"],
            quality="trustworthiness (k=10) / reconstruction error",
            ours_quality=f"{_trust(X, ours.embedding_):.4f} / {ours.reconstruction_error_:.3g}",
            baseline_quality=f"{_trust(X, ref.embedding_):.4f} / "
                             f"{ref.reconstruction_error_:.3g}",
        ))
    return rows


def _tsne_data(quick, data_home):
    X, y = load_digits(return_X_y=True)
    sets = [("digits", X, y, None)]
    Xb, yb = make_blobs(5_000 if quick else 10_000, n_features=50, centers=10,
                        random_state=0)
    sets.append(("blobs", Xb, yb, None))
    if not quick:
        from sklearn.decomposition import PCA

        from skgen.datasets import load_mnist

        try:
            m = load_mnist(data_home, subset="all", download_if_missing=False)
        except FileNotFoundError:
            m = None
        if m is not None:
            Xm = PCA(50, random_state=0).fit_transform(m.data / 255.0)
            sets.append(("MNIST (PCA 50)", Xm, m.target, 60_000))
    return sets


def _knn_accuracy(E, y, n_train, k=10):
    """k-NN accuracy: MNIST's own train/test split, else a fixed 80/20 split."""
    if n_train is None:
        idx = np.random.RandomState(0).permutation(len(E))
        n_train = int(0.8 * len(E))
        E, y = E[idx], y[idx]
    knn = KNeighborsClassifier(k, n_jobs=N_JOBS).fit(E[:n_train], y[:n_train])
    return float(knn.score(E[n_train:], y[n_train:]))


PHASES = ("neighbors", "affinities", "attractive", "repulsive", "update")


def bench_tsne(quick=False, data_home=None):
    """skgen TSNE vs openTSNE and scikit-learn's TSNE, 2-D, perplexity 30, 750
    iterations for all (250 with exaggeration 12), PCA initialisation; the peers with
    n_jobs=2, ours with its default (the idle cores: 2 on a quiet machine).
    Each runs with its own defaults otherwise (gradient: ours exact below 1000
    points, Barnes-Hut below 5000, FFT above; openTSNE BH below 10000, FFT
    above; scikit-learn Barnes-Hut). kl_own: the KL each reports; kl_common: the
    exact KL (all pairs) of each embedding under the same P (ours); trust:
    trustworthiness (k=10) on 3000 sampled points; knn / 1nn: 10-NN / 1-NN
    accuracy in the embedding (MNIST: train on the 60000 training images, test
    on the 10000 test images; else a fixed 80/20 split). Timed twice alternating
    (once for MNIST), warm, median. ours_<phase>_s: our fit's own per-phase
    profile (TSNE.timings_: neighbour search, affinities, then attractive,
    repulsive and update steps summed over the 750 iterations). scikit-learn
    runs up to SKGEN_BENCH_SKLEARN_TSNE_MAX points (100000; the busy run: 20000)."""
    try:
        import openTSNE
    except ImportError:  # pragma: no cover - optional peer
        openTSNE = None
    for method in ("barnes_hut", "fft"):  # numba compile / cache load
        TSNE(max_iter=5, method=method).fit(load_digits().data[:1200])
    rows = []
    for name, X, y, n_train in _tsne_data(quick, data_home):
        n = len(X)
        # Ours with its default n_jobs (the idle cores: both on a quiet machine).
        candidates = {"ours": lambda: TSNE(random_state=0).fit(X)}
        if openTSNE is not None:
            candidates["openTSNE"] = lambda: openTSNE.TSNE(
                n_jobs=N_JOBS, random_state=0).fit(X)
        if n <= SKLEARN_TSNE_MAX:
            candidates["sklearn"] = quiet(lambda: SkTSNE(
                max_iter=750, n_jobs=N_JOBS, random_state=0, init="pca").fit(X))
        seconds, fitted = time_alternating(candidates, repeats=2 if n <= 10_000 else 1)
        P = fitted["ours"].affinities_
        embeddings = {"ours": fitted["ours"].embedding_}
        kl_own = {"ours": fitted["ours"].kl_divergence_}
        if "openTSNE" in fitted:
            embeddings["openTSNE"] = np.asarray(fitted["openTSNE"])
            kl_own["openTSNE"] = float(fitted["openTSNE"].kl_divergence)
        if "sklearn" in fitted:
            embeddings["sklearn"] = fitted["sklearn"].embedding_
            kl_own["sklearn"] = float(fitted["sklearn"].kl_divergence_)
        quality = {k: dict(kl_own=kl_own[k], kl_common=kl_divergence(P, E),
                           trust=_trust(X, E), knn=_knn_accuracy(E, y, n_train),
                           nn1=_knn_accuracy(E, y, n_train, k=1))
                   for k, E in embeddings.items()}
        phases = {f"ours_{ph}_s": round(fitted["ours"].timings_[ph], 3) for ph in PHASES}
        for base in [k for k in embeddings if k != "ours"]:
            rows.append(dict(
                benchmark="TSNE vs openTSNE and sklearn TSNE (750 iterations, n_jobs=2)",
                size=f"{name} {n}x{X.shape[1]}",
                method=fitted["ours"]._method,
                ours_s=seconds["ours"], baseline=base, baseline_s=seconds[base],
                speedup=seconds[base] / seconds["ours"],
                ours_kl_own=quality["ours"]["kl_own"],
                base_kl_own=quality[base]["kl_own"],
                ours_kl_common=quality["ours"]["kl_common"],
                base_kl_common=quality[base]["kl_common"],
                ours_trust=quality["ours"]["trust"], base_trust=quality[base]["trust"],
                ours_knn=quality["ours"]["knn"], base_knn=quality[base]["knn"],
                ours_1nn=quality["ours"]["nn1"], base_1nn=quality[base]["nn1"],
                **phases,
            ))
    return rows


def bench_tsne_million(quick=False, data_home=None):
    """TSNE on 1,000,000 MNIST-like points: MNIST digits picked at random and
    shifted by up to 2 pixels (bench_scale's generator), PCA to 50 dimensions,
    default TSNE (approximate neighbours by pynndescent above 100000 points, FFT
    gradient, 750 iterations). Seconds per phase from TSNE.timings_, the whole
    fit, and peak resident memory of the process during the fit (sampled every
    0.5 s) beside the input's size. openTSNE documents 1.3M points at 5.6 min of
    affinities and 11.7 min of optimisation on 32 threads. Quality: KL (the fit's
    own estimate), 10-NN and 1-NN accuracy (80/20 split) of the embedding."""
    import threading

    import psutil

    from skgen import PCA
    from skgen.datasets import load_mnist

    from .bench_scale import _mnist_block

    n = 50_000 if quick else 1_000_000
    m = load_mnist(data_home, subset="all", download_if_missing=False)
    images = (m.data / 255.0).astype(np.float32).reshape(-1, 28, 28)
    X, y = _mnist_block(0, n, images, labels=np.asarray(m.target))
    X = PCA(50, random_state=0).fit_transform(X).astype(np.float64)
    proc = psutil.Process()
    peak = [proc.memory_info().rss]
    done = threading.Event()

    def sample():
        while not done.wait(0.5):
            peak[0] = max(peak[0], proc.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    est = TSNE(random_state=0).fit(X)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    E = est.embedding_
    return [dict(
        benchmark="TSNE on 1,000,000 points (shifted MNIST, PCA 50)",
        size=f"{n}x50", method=est._method, fit_s=round(seconds, 1),
        **{f"{ph}_s": round(est.timings_[ph], 1) for ph in PHASES},
        peak_rss_gib=round(peak[0] / 2 ** 30, 2), input_gib=round(X.nbytes / 2 ** 30, 2),
        kl_own=est.kl_divergence_, knn=_knn_accuracy(E, y, None),
        nn1=_knn_accuracy(E, y, None, k=1),
    )]


_COMPILE_SNIPPET = """
import time, numpy as np
t = time.perf_counter()
from skgen import TSNE
from sklearn.datasets import load_digits
X = load_digits().data[:1200]
t0 = time.perf_counter()
for method in ("exact", "barnes_hut", "fft"):
    TSNE(method=method, max_iter=2, perplexity=10).fit(X[:300]).transform(X[:5])
print(time.perf_counter() - t0)
"""


def bench_tsne_compile(quick=False):
    """numba compile time of the t-SNE kernels: a fresh process fits TSNE with each
    gradient method (2 iterations on 300 digits) and transforms 5 points, first
    with an empty numba cache directory (compiles every kernel and writes the
    cache), then again in a new process (loads them from the disk cache).
    skgen's kernels use cache=True, so only a package's first use on a machine
    pays the compile."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = []
        for _ in range(2):
            start = time.perf_counter()
            res = subprocess.run([sys.executable, "-c", _COMPILE_SNIPPET], env=env,
                                 capture_output=True, text=True, check=True)
            out.append((float(res.stdout.strip().splitlines()[-1]),
                        time.perf_counter() - start))
    return [dict(
        benchmark="TSNE numba compile time (first use) vs cached",
        size="300x64 digits, 3 methods + transform",
        cold_first_calls_s=out[0][0], cold_process_s=out[0][1],
        cached_first_calls_s=out[1][0], cached_process_s=out[1][1],
    )]


BENCHMARKS = {
    "lle": bench_lle,
    "tsne": bench_tsne,
    "tsne_compile": bench_tsne_compile,
    "tsne_million": bench_tsne_million,
}
