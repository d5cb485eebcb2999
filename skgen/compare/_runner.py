"""The runner and the report of ``skgen compare``, once for every family.

A family module (``_mixture``, ``_decomposition``, ``_neural``, ``_manifold``)
holds its :class:`Comparison` rows; adding a row is adding one there: a name, a
factory for the skgen estimator, factories for its baselines, and which view of
the data it takes ('continuous' in [0, 1], or 'binary').
"""

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from sklearn.model_selection import train_test_split

__all__ = ["DataContext", "Comparison", "DATASETS", "load_data", "run_compare",
           "format_table"]


@dataclass
class DataContext:
    """What a factory may need to know about the data.

    Attributes
    ----------
    n_samples, n_features : int
        Shape of the training split.
    image_shape : tuple of int or None
        Shape of one image, when the features are pixels.
    random_state : int
        Seed for every estimator.
    X_train : ndarray of shape (n_samples, n_features) or None
        The training split, for factories whose estimator is built from data
        (SparseCoder's dictionary of training examples).
    y_train : ndarray of shape (n_samples,) or None
        Labels of the training split, when the data set has them (the
        embeddings' kNN accuracy).
    """

    n_samples: int
    n_features: int
    image_shape: tuple
    random_state: int
    X_train: np.ndarray = None
    y_train: np.ndarray = None


@dataclass
class Comparison:
    """One row group of the comparison table.

    Attributes
    ----------
    name : str
        Row label of the skgen estimator.
    make : callable
        ``make(ctx) -> estimator``, the skgen estimator.
    baselines : dict of str to callable
        ``{label: make(ctx) -> estimator}``, scikit-learn baselines fitted on the
        same split. Each must have ``fit`` and either ``score`` or a
        ``scorer`` given in ``scorers``.
    data : {'continuous', 'binary'}
        Features scaled to [0, 1], or binarized at 0.5.
    scorers : dict of str to callable
        Optional ``{label: scorer(estimator, X) -> float}`` for baselines whose
        ``score`` does not mean what the contract's ``score`` means.
    figures : callable or None
        ``figures(estimator, ctx, X_train, folder) -> list of (title, path)``.
    metrics : dict of str to callable
        Optional ``{label: metric(estimator, X_test) -> float}`` reported for the
        estimator and every baseline (e.g. reconstruction error, mean non-zeros).
    timed : {'fit', 'transform'}
        What the seconds columns measure: ``fit`` on the training split, or
        ``transform`` of the test split (for estimators whose work is coding).
    warm_up : callable or None
        ``warm_up(X_train)`` run before timing, for estimators whose kernels a
        fit on a few rows does not reach (TSNE picks its gradient by size);
        None: fit and score on 64 rows.
    """

    name: str
    make: Callable
    baselines: dict
    data: str = "continuous"
    scorers: dict = field(default_factory=dict)
    figures: Callable = None
    metrics: dict = field(default_factory=dict)
    timed: str = "fit"
    warm_up: Callable = None


DATASETS = ("digits", "mnist", "binarized_mnist", "olivetti")


def load_data(name="digits", data_home=None, max_samples=None, random_state=0,
              return_labels=False):
    """Load a data set for ``skgen compare``, features scaled to [0, 1].

    Parameters
    ----------
    name : {'digits', 'mnist', 'binarized_mnist', 'olivetti'}, default='digits'
        scikit-learn's bundled 8x8 digits, or a real set read from ``data_home``.
    data_home : str or path-like, optional
        Data folder for the real sets (see :func:`skgen.datasets.get_data_home`).
    max_samples : int, optional
        Keep at most this many samples (a random subset).
    random_state : int, default=0
        Seed of the subset.
    return_labels : bool, default=False
        Also return the labels (None for the binarized MNIST, which has none).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64 in [0, 1]
    image_shape : tuple of int
        Shape of one image.
    y : ndarray of shape (n_samples,) or None
        Labels; only with ``return_labels``.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    from .. import datasets

    y = None
    if name == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        X, y, shape = bunch.data / 16.0, bunch.target, (8, 8)
    elif name == "mnist":
        bunch = datasets.load_mnist(data_home, subset="all")
        X, y, shape = bunch.data / 255.0, bunch.target, (28, 28)
    elif name == "binarized_mnist":
        X, shape = datasets.load_binarized_mnist(data_home).data.astype(float), (28, 28)
    elif name == "olivetti":
        bunch = datasets.load_olivetti_faces(data_home)
        X, y, shape = bunch.data.astype(float), getattr(bunch, "target", None), (64, 64)
    else:
        raise ValueError(f"Unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if max_samples is not None and X.shape[0] > max_samples:
        rng = np.random.RandomState(random_state)
        keep = np.sort(rng.choice(X.shape[0], max_samples, replace=False))
        X = X[keep]
        y = None if y is None else y[keep]
    X = np.ascontiguousarray(X, dtype=np.float64)
    return (X, shape, y) if return_labels else (X, shape)


def _fit_and_score(estimator, X_train, X_test, scorer=None, timed="fit"):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X_train)
        seconds = time.perf_counter() - start
        if timed == "transform":
            start = time.perf_counter()
            estimator.transform(X_test)
            seconds = time.perf_counter() - start
    score = scorer(estimator, X_test) if scorer is not None else estimator.score(X_test)
    return seconds, float(score)


def _warm_up(estimator, X_train, X_test, timed):
    """Run the estimator once on a few rows so that the timed run does not
    include numba's one-off compilation (cached on disk after the first use).

    A timed ``transform`` also runs once on the whole test split, on one thread
    and on all of them: 64 rows only reach the serial kernels, and the thread
    count the timed call gets follows the machine's load (``idle_cores``).
    """
    try:
        _fit_and_score(estimator, X_train[:64], X_test[:64], timed=timed)
        if timed == "transform":
            threads = [1, -1] if "n_jobs" in estimator.get_params() else [None]
            for n_jobs in threads:
                if n_jobs is not None:
                    estimator.set_params(n_jobs=n_jobs)
                estimator.transform(X_test)
    except Exception:  # a tiny subset may not suit every setting; it is only a warm-up
        pass


def _metrics_text(ours, base):
    """'name ours vs baseline, ...'; a metric neither side has (NaN on both, as
    the KL of an LLE embedding) is left out, one side's missing value is n/a."""
    def fmt(v):
        return "n/a" if not np.isfinite(v) else f"{v:.4g}"

    return ", ".join(f"{k} {fmt(ours[k])} vs {fmt(base.get(k, np.nan))}" for k in ours
                     if np.isfinite(ours[k]) or np.isfinite(base.get(k, np.nan)))


def _metrics(comp, estimator, X_test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {label: float(fn(estimator, X_test)) for label, fn in comp.metrics.items()}


def run_compare(X, image_shape, *, y=None, comparisons=None, report=None,
                random_state=0, progress=None, test_size=0.25):
    """Fit each comparison's estimator and baselines on one split; return the rows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data scaled to [0, 1].
    image_shape : tuple of int or None
        Shape of one image, for the figures.
    y : ndarray of shape (n_samples,), optional
        Labels, split with X (the embeddings' kNN accuracy and figure colours).
    comparisons : list of Comparison, optional
        Defaults to every entry of ``COMPARISONS``.
    report : str or path-like, optional
        Folder that receives ``report.md`` and the PNG figures.
    random_state : int, default=0
        Seed of the split and of every estimator.
    progress : bool or None, default=None
        Progress bar on stderr; None shows it when stderr is a terminal.
    test_size : float, default=0.25
        Held-out fraction.

    Returns
    -------
    rows : list of dict
        One per (estimator, baseline) pair: ``estimator``, ``baseline``,
        ``fit_s``, ``baseline_fit_s`` (seconds), ``score``, ``baseline_score``
        (the contract's held-out score: mean log-likelihood in nats for the
        mixtures and PCA, minus the mean sparse-coding objective for sparse
        coding), ``speedup`` (baseline seconds / ours), ``score_diff`` and
        ``metrics`` (text: each extra metric, ours vs the baseline's).
    """
    from ..utils import progress_bar

    if comparisons is None:
        from . import COMPARISONS as comparisons
    if y is None:
        X_train, X_test = train_test_split(X, test_size=test_size,
                                           random_state=random_state)
        y_train = None
    else:
        X_train, X_test, y_train, _ = train_test_split(X, y, test_size=test_size,
                                                       random_state=random_state)
    views = {
        "continuous": (X_train, X_test),
        "binary": ((X_train > 0.5).astype(np.float64), (X_test > 0.5).astype(np.float64)),
    }
    ctx = DataContext(X_train.shape[0], X_train.shape[1], image_shape, random_state,
                      X_train, y_train)
    folder = Path(report) if report is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    steps = sum(1 + len(c.baselines) for c in comparisons)
    rows, figures = [], []
    with progress_bar(total=steps, desc="skgen compare", disable=None if progress is None else not progress) as bar:
        for comp in comparisons:
            train, test = views[comp.data]
            ours = comp.make(ctx)
            bar.set_postfix_str(comp.name)
            if comp.warm_up is not None:
                comp.warm_up(train)
            else:
                _warm_up(comp.make(ctx), train, test, comp.timed)
            fit_s, score = _fit_and_score(ours, train, test, timed=comp.timed)
            ours_metrics = _metrics(comp, ours, test)
            bar.update()
            for label, make in comp.baselines.items():
                bar.set_postfix_str(label)
                baseline = make(ctx)
                if baseline is None:  # not installed, or too slow at this size
                    bar.update()
                    continue
                base_s, base_score = _fit_and_score(
                    baseline, train, test, comp.scorers.get(label), comp.timed
                )
                base_metrics = _metrics(comp, baseline, test)
                bar.update()
                rows.append(
                    dict(
                        estimator=comp.name,
                        baseline=label,
                        fit_s=fit_s,
                        baseline_fit_s=base_s,
                        score=score,
                        baseline_score=base_score,
                        speedup=base_s / max(fit_s, 1e-12),
                        score_diff=score - base_score,
                        metrics=_metrics_text(ours_metrics, base_metrics),
                    )
                )
            if folder is not None and comp.figures is not None:
                figures.extend(
                    (comp.name, title, path)
                    for title, path in comp.figures(ours, ctx, train, folder)
                )
    if folder is not None:
        (folder / "report.md").write_text(_markdown(rows, figures, ctx, folder))
    return rows


# (key, decimals); decimals None for text.
_COLUMNS = [
    ("estimator", None),
    ("baseline", None),
    ("fit_s", 3),
    ("baseline_fit_s", 3),
    ("speedup", 2),
    ("score", 3),
    ("baseline_score", 3),
    ("score_diff", 3),
    ("metrics", None),
]


def _text(value, decimals):
    return str(value) if decimals is None else f"{value:.{decimals}f}"


def format_table(rows):
    """The rows of :func:`run_compare` as a fixed-width text table.

    Each column is as wide as its longest cell, so a long baseline name widens
    its column instead of shifting the others; text is left-aligned, numbers
    right-aligned.

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`run_compare`.

    Returns
    -------
    table : str
    """
    cells = [[_text(row[key], d) for key, d in _COLUMNS] for row in rows]
    widths = [max([len(key)] + [len(r[j]) for r in cells])
              for j, (key, _) in enumerate(_COLUMNS)]

    def line(values):
        return " ".join(
            (v.ljust(w) if d is None else v.rjust(w))
            for v, w, (_, d) in zip(values, widths, _COLUMNS)
        ).rstrip()

    header = line([key for key, _ in _COLUMNS])
    return "\n".join([header, "-" * len(header)] + [line(r) for r in cells])


def _markdown(rows, figures, ctx, folder):
    lines = [
        "# skgen compare",
        "",
        f"Training split: {ctx.n_samples} samples x {ctx.n_features} features. "
        "Scores are held-out means of each estimator's `score` (nats per sample for "
        "mixtures, PCA and the VAE (the VAE's is the ELBO, a lower bound); minus the "
        "sparse-coding objective per sample for sparse coding; minus the mean squared "
        "error of rebuilding masked data for the DenoisingAE; trustworthiness (k=5) of the "
        "training embedding for LLE and TSNE, whose metrics add the reported KL "
        "divergence and the 10-NN accuracy of the labels in the embedding; higher is "
        "better). speedup = baseline seconds / skgen seconds, of `fit` "
        "(SparseCoder: of `transform` on the test split, its dictionary being fixed); "
        "skgen's numba kernels are compiled before timing (once per machine, then "
        "cached). "
        "On the binary view, a Gaussian baseline's score is a log-density on a degenerate "
        "set, not a log-probability: it is not comparable with the Bernoulli models' "
        "scores, and is listed because it is what a scikit-learn user would try first.",
        "",
        "| " + " | ".join(key for key, _ in _COLUMNS) + " |",
        "|" + "---|" * len(_COLUMNS),
    ]
    for row in rows:
        cells = [_text(row[key], d) for key, d in _COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for name, title, path in figures:
        lines += [f"## {name}: {title}", "", f"![{title}]({Path(path).relative_to(folder)})", ""]
    return "\n".join(lines)
