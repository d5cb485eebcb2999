"""Streams: partial_fit over 100 batches of 1,000 rows against the batch fit.

The stream draws its 100 batches uniformly (with replacement) from the training
rows; the batch fit sees their concatenation (the same 100,000 rows). Held-out
log-likelihoods are on the test rows (nats per row).
"""

import time
import warnings

import numpy as np
from sklearn.decomposition import PCA as SkPCA
from sklearn.decomposition import IncrementalPCA

from skgen import PCA, BernoulliMixture, GaussianMixtureEM

N_BATCHES, BATCH_ROWS = 100, 1_000


def _batches(n_rows, seed, n_batches, batch_rows):
    rng = np.random.RandomState(seed)
    return [rng.randint(n_rows, size=batch_rows) for _ in range(n_batches)]


def _mnist(data_home):
    from skgen.datasets import load_mnist

    train = load_mnist(data_home, subset="train", download_if_missing=False).data / 255.0
    test = load_mnist(data_home, subset="test", download_if_missing=False).data / 255.0
    return train, test


def _stream_vs_batch(make, train, test, batches, seeds):
    """Stream and batch fit from each seed: held-out means (and the worst) and
    median seconds. One start is a lottery between local optima for both (the
    full-covariance stream at seed 0 ended 13% below the batch fit, at seeds 1
    and 2 within 4%), so the figures are over seeds."""
    runs = {"stream": [], "batch": []}
    for seed in seeds:
        stream = make(seed)
        tic = time.perf_counter()
        for rows in batches:
            stream.partial_fit(train[rows])
        runs["stream"].append((time.perf_counter() - tic, float(stream.score(test))))
        tic = time.perf_counter()
        batch = make(seed).fit(train[np.concatenate(batches)])
        runs["batch"].append((time.perf_counter() - tic, float(batch.score(test))))
    (stream_s, stream_ll), (batch_s, batch_ll) = (np.array(runs[k]).T for k in ("stream", "batch"))
    gaps = 100 * (batch_ll - stream_ll) / np.abs(batch_ll)
    return {"seeds": len(seeds), "stream_s": float(np.median(stream_s)),
            "batch_fit_s": float(np.median(batch_s)), "stream_heldout": float(stream_ll.mean()),
            "batch_heldout": float(batch_ll.mean()),
            "heldout_gap_percent": float(100 * (batch_ll.mean() - stream_ll.mean())
                                         / abs(batch_ll.mean())),
            "worst_seed_gap_percent": float(gaps.max())}


def bench_stream_mixtures(quick=False, data_home=None):
    """Stepwise EM (partial_fit, default learning_decay=0.7, learning_offset=10)
    over 100 batches of 1,000 rows against fit on their concatenation:
    GaussianMixtureEM K=10 (full, diag) on MNIST PCA-50 and BernoulliMixture
    K=20 on binarized MNIST, each from seeds 0-2: mean held-out log-likelihood
    per row (goal: within 1% of the batch fit's), the worst seed's gap, and
    median seconds."""
    from skgen.datasets import load_binarized_mnist

    n_batches, batch_rows = (20, 500) if quick else (N_BATCHES, BATCH_ROWS)
    seeds = [0] if quick else [0, 1, 2]
    pixels, test_pixels = _mnist(data_home)
    projection = SkPCA(50, random_state=0).fit(pixels)
    train, test = projection.transform(pixels), projection.transform(test_pixels)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for covariance_type in ("full", "diag"):
            row = _stream_vs_batch(
                lambda seed: GaussianMixtureEM(10, covariance_type=covariance_type,
                                               random_state=seed),
                train, test, _batches(train.shape[0], 0, n_batches, batch_rows), seeds)
            rows.append({"benchmark": "Stepwise EM: partial_fit stream vs fit",
                         "model": f"GaussianMixtureEM K=10 {covariance_type}",
                         "data": "MNIST PCA-50", "stream": f"{n_batches} x {batch_rows}",
                         **row})
        binary = load_binarized_mnist(data_home, subset="train", download_if_missing=False).data
        binary_test = load_binarized_mnist(data_home, subset="test",
                                           download_if_missing=False).data
        row = _stream_vs_batch(
            lambda seed: BernoulliMixture(20, binarize=None, random_state=seed),
            binary, binary_test, _batches(binary.shape[0], 1, n_batches, batch_rows), seeds)
        rows.append({"benchmark": "Stepwise EM: partial_fit stream vs fit",
                     "model": "BernoulliMixture K=20", "data": "binarized MNIST",
                     "stream": f"{n_batches} x {batch_rows}", **row})
    return rows


def _largest_angle(a, b):
    """Largest principal angle between the row spaces of a and b, degrees."""
    qa, _ = np.linalg.qr(a.T)
    qb, _ = np.linalg.qr(b.T)
    cosines = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return float(np.degrees(np.arccos(np.clip(cosines.min(), -1.0, 1.0))))


def bench_stream_pca(quick=False, data_home=None):
    """PCA(50).partial_fit over 100 batches of 1,000 MNIST images (784 pixels,
    0-1) against scikit-learn's IncrementalPCA(50) on the same batches: seconds
    of the whole stream, the largest principal angle (degrees) of each one's 50
    axes to the exact axes (PCA.fit on the concatenation, float64), and the
    largest relative error of the explained variances (goal: exact to 1e-10,
    and faster than IncrementalPCA)."""
    n_batches, batch_rows = (20, 500) if quick else (N_BATCHES, BATCH_ROWS)
    pixels, _ = _mnist(data_home)
    batches = _batches(pixels.shape[0], 2, n_batches, batch_rows)
    exact = PCA(50, svd_solver="covariance_eigh").fit(pixels[np.concatenate(batches)])
    results = {}
    for name, make in (("skgen PCA.partial_fit", lambda: PCA(50)),
                       ("sklearn IncrementalPCA", lambda: IncrementalPCA(50))):
        model = make()
        tic = time.perf_counter()
        for rows in batches:
            model.partial_fit(pixels[rows])
        seconds = time.perf_counter() - tic
        error = float(np.max(np.abs(model.explained_variance_ / exact.explained_variance_ - 1)))
        results[name] = (seconds, _largest_angle(model.components_, exact.components_), error)
    base = results["sklearn IncrementalPCA"][0]
    return [{"benchmark": "PCA partial_fit vs IncrementalPCA (MNIST 784 pixels, 50 axes)",
             "stream": f"{n_batches} x {batch_rows}", "model": name, "seconds": s,
             "speedup_vs_incremental": base / s, "largest_angle_deg": angle,
             "variance_rel_error": error}
            for name, (s, angle, error) in results.items()]


BENCHMARKS = {"stream_mixtures": bench_stream_mixtures, "stream_pca": bench_stream_pca}
