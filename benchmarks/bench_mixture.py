"""Mixture benchmarks: GaussianMixtureEM vs scikit-learn, BernoulliMixture vs StepMix
and pomegranate. Each reports seconds per EM iteration side by side, the ratio, and
the log-likelihood next to it."""

import warnings

import numpy as np
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from skgen import BernoulliMixture, GaussianMixtureEM

from ._common import peak_memory, quiet, time_alternating


def bench_gaussian(quick=False):
    """GaussianMixtureEM vs GaussianMixture, full covariance, K=20, tol=0, max_iter=20.

    Both start from the same parameters (scikit-learn's k-means++ start), so they
    run the same 20 EM iterations; seconds per iteration = fit seconds / 20.
    peak_over_X: tracemalloc's peak during one fit (NumPy allocations beyond the
    input), as a multiple of X's bytes.
    """
    sizes = [(2_000, 10), (20_000, 10)] if quick else [(10_000, 50), (100_000, 50)]
    K, n_iter = 20, (5 if quick else 20)
    rows = []
    for n, d in sizes:
        X64, _ = make_blobs(n, d, centers=K, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = GaussianMixture(K, max_iter=0, init_params="k-means++", random_state=0).fit(X64)
        params = dict(
            weights_init=start.weights_ / start.weights_.sum(),
            means_init=start.means_,
            precisions_init=start.precisions_,
            tol=0,
            max_iter=n_iter,
        )
        for dtype in (np.float64, np.float32):
            X = X64.astype(dtype)
            ours = GaussianMixtureEM(K, **params)
            ref = GaussianMixture(K, **params)
            seconds, fitted = time_alternating(
                {"ours": quiet(lambda: ours.fit(X)), "sklearn": quiet(lambda: ref.fit(X))},
                repeats=1 if quick else 3,
            )
            peak = peak_memory(quiet(lambda: GaussianMixtureEM(K, **params).fit(X)))
            peak_ref = peak_memory(quiet(lambda: GaussianMixture(K, **params).fit(X)))
            rows.append(
                dict(
                    benchmark="GaussianMixtureEM vs sklearn GaussianMixture (full, K=20)",
                    size=f"{n}x{d} {np.dtype(dtype).name}",
                    ours_s_per_iter=seconds["ours"] / n_iter,
                    baseline="sklearn",
                    baseline_s_per_iter=seconds["sklearn"] / n_iter,
                    speedup=seconds["sklearn"] / seconds["ours"],
                    quality="lower bound (nats/sample)",
                    ours_quality=fitted["ours"].lower_bound_,
                    baseline_quality=fitted["sklearn"].lower_bound_,
                    ours_peak_over_X=peak / X.nbytes,
                    baseline_peak_over_X=peak_ref / X.nbytes,
                )
            )
    return rows


def _stepmix(K, n_iter):
    from stepmix import StepMix

    return StepMix(n_components=K, measurement="bernoulli", max_iter=n_iter, abs_tol=0.0,
                   rel_tol=0.0, n_init=1, random_state=0, verbose=0, progress_bar=0)


def _pomegranate(K, n_iter):
    from pomegranate.distributions import Bernoulli
    from pomegranate.gmm import GeneralMixtureModel

    return GeneralMixtureModel([Bernoulli() for _ in range(K)], max_iter=n_iter, tol=0.0,
                               random_state=0, verbose=False)


def _mean_log_likelihood(name, model, X):
    if name == "skgen":
        return float(np.mean(model.score_samples(X)))
    if name == "StepMix":
        return float(model.score(X))
    import torch

    with torch.no_grad():
        return float(model.log_probability(torch.as_tensor(X, dtype=torch.float32)).mean())


def _has_nan(name, model):
    if name == "skgen":
        return bool(np.isnan(model.means_).any() or np.isnan(model.weights_).any())
    if name == "StepMix":
        return bool(any(np.isnan(np.asarray(v, dtype=float)).any()
                        for v in model.get_parameters()["measurement"].values()))
    return bool(any(np.isnan(p.detach().numpy()).any() for p in model.parameters()))


def bench_bernoulli(quick=False, data_home=None):
    """BernoulliMixture vs StepMix and pomegranate on binarized MNIST, K=20.

    Each peer has its own initialisation, so seconds per iteration is measured as
    (fit with n iterations - fit with 1 iteration) / (n - 1), which removes the
    start-up cost; the mean training log-likelihood after n iterations is reported
    beside it, with whether any parameter or log-likelihood is NaN. skgen and
    pomegranate get float32 input (exact for 0/1 data); StepMix gets float64, the
    dtype it computes in.
    """
    from skgen.datasets import load_binarized_mnist

    try:
        X_full = load_binarized_mnist(data_home, download_if_missing=False).data.astype(np.float32)
    except FileNotFoundError:
        rng = np.random.RandomState(0)
        protos = rng.uniform(0.02, 0.98, size=(20, 784))
        X_full = (rng.uniform(size=(50_000, 784)) < protos[rng.randint(20, size=50_000)]).astype(np.float32)
    sizes = [1_000, 5_000] if quick else [5_000, 50_000]
    K, n_iter = 20, (3 if quick else 10)
    makers = {
        # Random data points as the start, like StepMix's and pomegranate's cheap starts.
        "skgen": lambda it: BernoulliMixture(K, binarize=None, max_iter=it, tol=0,
                                             init_params="random_from_data", random_state=0),
        "StepMix": lambda it: _stepmix(K, it),
        "pomegranate": lambda it: _pomegranate(K, it),
    }
    available = {}
    for name, make in makers.items():
        try:
            make(1)
            available[name] = make
        except ImportError:
            pass
    rows = []
    for n in sizes:
        X = X_full[:n]
        fits = {}
        for it in (1, n_iter):
            for name, make in available.items():
                Xin = X.astype(np.float64) if name == "StepMix" else X
                fits[(name, it)] = quiet(lambda make=make, it=it, Xin=Xin: make(it).fit(Xin))
        seconds, fitted = time_alternating(fits, repeats=1 if quick else 2)
        per_iter = {
            name: max(seconds[(name, n_iter)] - seconds[(name, 1)], 1e-9) / (n_iter - 1)
            for name in available
        }
        quality = {name: _mean_log_likelihood(name, fitted[(name, n_iter)], X) for name in available}
        nan = {name: _has_nan(name, fitted[(name, n_iter)]) or not np.isfinite(quality[name])
               for name in available}
        for name in available:
            if name == "skgen":
                continue
            rows.append(
                dict(
                    benchmark="BernoulliMixture vs peers, binarized MNIST, K=20",
                    size=f"{n}x784",
                    ours_s_per_iter=per_iter["skgen"],
                    baseline=name,
                    baseline_s_per_iter=per_iter[name],
                    speedup=per_iter[name] / per_iter["skgen"],
                    quality=f"train log-likelihood after {n_iter} iterations (nats/sample)",
                    ours_quality=quality["skgen"],
                    baseline_quality=quality[name],
                    ours_nan=nan["skgen"],
                    baseline_nan=nan[name],
                )
            )
    return rows


def _whole_fit_row(size, ours, baseline, fit_baseline, quick, our_score, baseline_score,
                   baseline_n_iter):
    """One row of bench_whole_fit: ours and a baseline fitted alternately.

    The first fit of each in the process is timed on its own (``*_first_s``:
    ours loads its cached numba kernels then, and sets up numba's target, about
    0.3 s on the first kernel of a process; the cold compile is
    bench_first_use_compile's); ``*_s`` is the median of the fits after it, so
    that a median of two is not the mean of a first call and a later one."""
    candidates = {"ours": ours, baseline: quiet(fit_baseline)}
    first, _ = time_alternating(candidates, repeats=1)
    seconds, fitted = time_alternating(candidates, repeats=1 if quick else 3)
    return dict(
        benchmark="Whole fit() with default initialisation", size=size,
        ours_s=seconds["ours"], baseline=baseline, baseline_s=seconds[baseline],
        speedup=seconds[baseline] / seconds["ours"],
        ours_first_s=first["ours"], baseline_first_s=first[baseline],
        quality="held-out log-likelihood (nats/sample)",
        ours_quality=our_score(fitted["ours"]),
        baseline_quality=baseline_score(fitted[baseline]),
        ours_n_iter=fitted["ours"].n_iter_,
        baseline_n_iter=baseline_n_iter(fitted[baseline]),
    )


def bench_whole_fit(quick=False, data_home=None):
    """Whole fit() as a user times it, DEFAULT initialisation (init_params='kmeans'
    for ours and scikit-learn's, StepMix's own). BernoulliMixture vs StepMix on
    binarized MNIST, the first 20000 training images (float64, as loaded), K=20,
    10 iterations for both (max_iter=10, tol=0); quality: mean held-out
    log-likelihood on the 10000 test images (nats/sample). GaussianMixtureEM vs
    scikit-learn's GaussianMixture on make_blobs(100000, 50, centers=20), K=20, all
    defaults (full covariance, max_iter=100, tol=1e-3: each stops by its own
    test); quality: mean log-likelihood of 20000 held-out points from the same
    blobs, with the iterations each ran. GaussianMixtureEM vs GaussianMixture as
    `skgen compare` runs them on MNIST: 7500 random images / 255 (float64),
    K=10, diagonal covariances, reg_covar=1e-3, defaults otherwise; quality: mean
    log-likelihood of 5000 other images. The first fit of each in the process
    is timed apart (ours_first_s, baseline_first_s); ours_s and baseline_s are
    the median of 3 alternating fits after it (1 quick)."""
    from skgen.datasets import load_binarized_mnist

    rows = []
    n_bern = 2_000 if quick else 20_000
    try:
        X = load_binarized_mnist(data_home, download_if_missing=False).data[:n_bern]
        X_test = load_binarized_mnist(data_home, subset="test",
                                      download_if_missing=False).data
        X, X_test = (np.asarray(a, dtype=np.float64) for a in (X, X_test))
    except FileNotFoundError:
        X = None
    try:
        _stepmix(20, 1)
        have_stepmix = True
    except ImportError:
        have_stepmix = False
    if X is not None and have_stepmix:
        n_iter = 3 if quick else 10
        rows.append(_whole_fit_row(
            f"BernoulliMixture, binarized MNIST {n_bern}x784, K=20, {n_iter} iterations",
            lambda: BernoulliMixture(20, max_iter=n_iter, tol=0, random_state=0).fit(X),
            "StepMix", lambda: _stepmix(20, n_iter).fit(X), quick,
            lambda m: float(np.mean(m.score_samples(X_test))),
            lambda m: float(m.score(X_test)), lambda m: n_iter))
    # The `skgen compare` row on MNIST: diagonal covariances (its choice for
    # d = 784), K=10, reg_covar=1e-3, pixels / 255, float64.
    from skgen.datasets import load_mnist

    try:
        mnist = load_mnist(data_home, subset="all", download_if_missing=False).data
    except FileNotFoundError:
        mnist = None
    if mnist is not None:
        order = np.random.RandomState(0).permutation(mnist.shape[0])
        n_mnist = 1_500 if quick else 7_500
        Xm = np.ascontiguousarray(mnist[order[:n_mnist]] / 255.0)
        Xm_test = np.ascontiguousarray(mnist[order[-5_000:]] / 255.0)
        kw = dict(covariance_type="diag", reg_covar=1e-3, random_state=0)
        rows.append(_whole_fit_row(
            f"GaussianMixtureEM, MNIST {n_mnist}x784 / 255, K=10, diag, reg_covar=1e-3",
            lambda: GaussianMixtureEM(10, **kw).fit(Xm),
            "sklearn", lambda: GaussianMixture(10, **kw).fit(Xm), quick,
            lambda m: float(m.score(Xm_test)), lambda m: float(m.score(Xm_test)),
            lambda m: m.n_iter_))
    n_gmm = 10_000 if quick else 100_000
    Xg, _ = make_blobs(n_gmm + n_gmm // 5, n_features=50, centers=20, random_state=0)
    Xg, Xg_test = Xg[:n_gmm], Xg[n_gmm:]
    rows.append(_whole_fit_row(
        f"GaussianMixtureEM, make_blobs {n_gmm}x50, 20 centres, K=20, defaults",
        lambda: GaussianMixtureEM(20, random_state=0).fit(Xg),
        "sklearn", lambda: GaussianMixture(20, random_state=0).fit(Xg), quick,
        lambda m: float(m.score(Xg_test)), lambda m: float(m.score(Xg_test)),
        lambda m: m.n_iter_))
    return rows


BENCHMARKS = {"gaussian": bench_gaussian, "bernoulli": bench_bernoulli,
              "whole_fit": bench_whole_fit}
