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
           "format_table", "format_row"]


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
        ``transform`` of the test split (for estimators whose work is coding);
        a call under 0.5 s is run again at least 3 times (until about 0.5 s of
        repeats, at most 15) and the repeats' median reported, the first call
        left out, for ours and the baselines alike.
    warm_up : callable or None
        ``warm_up(X_train)`` run before timing, for estimators whose kernels a
        fit on a few rows does not reach (TSNE picks its gradient by size);
        None: fit and score on 64 rows.
    max_train : int or None
        Most training rows this row fits (ours and its baselines alike, a
        uniform subset), chosen so that every baseline finishes in about half
        a minute on a 2-core machine; the table's ``rows`` column says what
        each row ran on. None: the whole split.
    missing : dict of str to str
        ``{label: how to install it}`` for baselines whose factory returns
        None because their package is absent (printed as a note).
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
    max_train: int = None
    missing: dict = field(default_factory=dict)


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


# A timed call shorter than this is repeated (at least _MIN_REPEATS times, then
# until _REPEAT_BUDGET_S of repeats, at most _MAX_REPEATS) and the repeats'
# median reported, the first call left out: one call of a few milliseconds is
# mostly noise (PCA on the digits read 0.62x in one run and 1.05x as a median of
# 100 the same hour), and the first call on all rows can start thread pools and
# solvers that the warm-up's 64 rows did not (GaussianMixtureEM on the digits:
# 0.19 s, then 0.08 s; LLE: 0.30 s, then 0.06-0.15 s, read 0.91x as the median
# of three calls with the first, 2.4x warm; no compilation in any of them).
_SHORT_CALL_S = 0.5
_REPEAT_BUDGET_S = 0.5
_MIN_REPEATS = 3
_MAX_REPEATS = 15


def _timed(call, repeat=True):
    """Seconds of ``call()``: one call, or (``repeat``) the median of repeats
    after a short one (which is left out)."""
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    if not repeat or first >= _SHORT_CALL_S:
        return first
    times = []
    while len(times) < _MAX_REPEATS and (len(times) < _MIN_REPEATS
                                         or sum(times) < _REPEAT_BUDGET_S):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _fit_and_score(estimator, X_train, X_test, scorer=None, timed="fit", repeat=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # A fit whose seconds are not reported runs once.
        seconds = _timed(lambda: estimator.fit(X_train), repeat and timed == "fit")
        if timed == "transform":
            seconds = _timed(lambda: estimator.transform(X_test), repeat)
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
        _fit_and_score(estimator, X_train[:64], X_test[:64], timed=timed, repeat=False)
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
                random_state=0, progress=None, test_size=0.25, on_row=None,
                dask_workers=None):
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
        Folder that receives ``report.md`` and the PNG figures. It is written
        in a temporary folder beside it and replaces it only once complete, so
        an interrupted run leaves the previous report whole.
    random_state : int, default=0
        Seed of the split and of every estimator.
    progress : bool or None, default=None
        Progress bar on stderr; None shows it when stderr is a terminal.
    test_size : float, default=0.25
        Held-out fraction.
    on_row : callable or None, default=None
        Called with each row (a dict, as returned) as soon as it is measured,
        and with ``{'note': text}`` for a baseline that was not run.
    dask_workers : int or None, default=None
        Workers of the dask cluster the dask rows ran on, for the report.

    Returns
    -------
    rows : list of dict
        One per (estimator, baseline) pair: ``estimator``, ``baseline``,
        ``rows`` (the training rows x features the pair ran on), ``fit_s``,
        ``baseline_fit_s`` (seconds), ``score``, ``baseline_score`` (the
        contract's held-out score: mean log-likelihood in nats for the
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
        y_train = y_test = None
    else:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=random_state)
    staging = _Staging(report)
    steps = sum(1 + len(c.baselines) for c in comparisons)
    rows, figures, notes = [], [], []
    with staging, progress_bar(total=steps, desc="skgen compare",
                               disable=None if progress is None else not progress) as bar:
        folder = staging.folder
        for comp in comparisons:
            sub = _capped(comp.max_train, random_state, X_train, y_train)
            sub_test = _capped(None if comp.max_train is None else
                               max(comp.max_train // 3, 1000), random_state, X_test,
                               y_test)
            ctx = DataContext(sub[0].shape[0], sub[0].shape[1], image_shape, random_state,
                              sub[0], sub[1])
            views = {
                "continuous": (sub[0], sub_test[0]),
                "binary": ((sub[0] > 0.5).astype(np.float64),
                           (sub_test[0] > 0.5).astype(np.float64)),
            }
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
                    note = (f"{comp.name}: baseline {label} not run: "
                            + comp.missing.get(label, f"skipped at {ctx.n_samples} rows"))
                    notes.append(note)
                    if on_row is not None:
                        on_row({"note": note})
                    continue
                base_s, base_score = _fit_and_score(
                    baseline, train, test, comp.scorers.get(label), comp.timed
                )
                base_metrics = _metrics(comp, baseline, test)
                bar.update()
                row = dict(
                    estimator=comp.name,
                    baseline=label,
                    rows=f"{train.shape[0]}x{train.shape[1]}",
                    fit_s=fit_s,
                    baseline_fit_s=base_s,
                    score=score,
                    baseline_score=base_score,
                    speedup=base_s / max(fit_s, 1e-12),
                    score_diff=score - base_score,
                    metrics=_metrics_text(ours_metrics, base_metrics),
                )
                rows.append(row)
                if on_row is not None:
                    bar.clear()
                    on_row(row)
            if folder is not None and comp.figures is not None:
                figures.extend(
                    (comp.name, title, path)
                    for title, path in comp.figures(ours, ctx, train, folder)
                )
        if folder is not None:
            (folder / "report.md").write_text(
                _markdown(rows, figures, notes, comparisons, X_train.shape, folder,
                          dask_workers))
    return rows


def _capped(max_rows, random_state, X, y):
    """(X, y) or a uniform subset of ``max_rows`` rows (sorted, reproducible)."""
    if max_rows is None or X.shape[0] <= max_rows:
        return X, y
    keep = np.sort(np.random.RandomState(random_state).choice(X.shape[0], max_rows,
                                                              replace=False))
    return X[keep], None if y is None else y[keep]


class _Staging:
    """The report folder, written beside its final place and moved there whole.

    On success the previous report's files (report.md and *.png, and nothing
    else) are removed and the new ones moved in; on an error or an interrupt
    the staging folder is removed and the previous report stays as it was.
    """

    def __init__(self, report):
        self.target = None if report is None else Path(report)
        self.folder = None

    def __enter__(self):
        import tempfile

        if self.target is not None:
            parent = self.target.resolve().parent
            parent.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix=f".{self.target.name}-",
                                                dir=parent))
        return self

    def __exit__(self, exc_type, exc, tb):
        import shutil

        if self.folder is None:
            return False
        try:
            if exc_type is None:
                self.target.mkdir(parents=True, exist_ok=True)
                for old in [self.target / "report.md", *self.target.glob("*.png")]:
                    old.unlink(missing_ok=True)
                for new in self.folder.iterdir():
                    shutil.move(str(new), str(self.target / new.name))
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
        return False


# (key, decimals); decimals None for text.
_COLUMNS = [
    ("estimator", None),
    ("baseline", None),
    ("rows", None),
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
    cells = [[_text(row.get(key, ""), d) for key, d in _COLUMNS] for row in rows]
    widths = [max([len(key)] + [len(r[j]) for r in cells])
              for j, (key, _) in enumerate(_COLUMNS)]

    def line(values):
        return " ".join(
            (v.ljust(w) if d is None else v.rjust(w))
            for v, w, (_, d) in zip(values, widths, _COLUMNS)
        ).rstrip()

    header = line([key for key, _ in _COLUMNS])
    return "\n".join([header, "-" * len(header)] + [line(r) for r in cells])


def format_row(row):
    """One row of :func:`run_compare` as a line, printed as it completes.

    Parameters
    ----------
    row : dict
        A row, or ``{'note': text}``.

    Returns
    -------
    line : str
    """
    if "note" in row:
        return f"  note: {row['note']}"
    extra = f"; {row['metrics']}" if row["metrics"] else ""
    return (f"  {row['estimator']} vs {row['baseline']} on {row['rows']}: fit "
            f"{row['fit_s']:.3f} s vs {row['baseline_fit_s']:.3f} s "
            f"({row['speedup']:.2f}x), score {row['score']:.3f} vs "
            f"{row['baseline_score']:.3f}{extra}")


# What each row's score means, said in the report only for the rows that ran.
_SCORE_MEANING = {
    "GaussianMixtureEM": "mean held-out log-likelihood, nats per sample",
    "BernoulliMixture": "mean held-out log-likelihood of the binarized data, nats "
                        "per sample (a Gaussian baseline's score there is a "
                        "log-density on a degenerate set, not comparable; it is "
                        "listed because it is what a scikit-learn user would try "
                        "first)",
    "PCA": "probabilistic-PCA held-out log-likelihood, nats per sample",
    "SparseCoder": "minus the sparse-coding objective per sample; seconds are "
                   "of `transform` on the test split (the dictionary is fixed)",
    "DictionaryLearning": "minus the sparse-coding objective per sample",
    "VAE": "held-out ELBO (a lower bound on the log-likelihood), nats per sample",
    "VAE-bernoulli": "held-out ELBO of the binarized data, nats per sample",
    "DenoisingAE": "minus the mean squared error of rebuilding masked data",
    "LLE": "trustworthiness (k=5) of the training embedding; metrics add the "
           "10-NN accuracy of the labels in the embedding",
    "TSNE": "trustworthiness (k=5) of the training embedding; metrics add the "
            "KL divergence each reports and the 10-NN accuracy of the labels",
}


def _markdown(rows, figures, notes, comparisons, train_shape, folder, dask_workers):
    names = [c.name for c in comparisons]
    meaning = "; ".join(f"{name}: {_SCORE_MEANING[base]}" for name in names
                        for base in [name.split(" (")[0]]
                        if base in _SCORE_MEANING)
    dask = ""
    if dask_workers is not None:
        dask = (f" Rows marked '(dask)' fit a dask array on a LocalCluster of "
                f"{dask_workers} worker(s); the mixtures there start from k-means++ and "
                "Lloyd steps on a uniform sample of rows refined by Lloyd passes over "
                "all rows, where the in-memory fit runs k-means on all its rows, so "
                "their scores differ slightly from the in-memory rows'.")
    lines = [
        "# skgen compare",
        "",
        f"Rows run: {', '.join(names)}. Training split: {train_shape[0]} samples x "
        f"{train_shape[1]} features; the 'rows' column gives what each row ran on (a "
        f"uniform subset where a baseline would take minutes).{dask}",
        "",
        f"Scores (higher is better): {meaning}. speedup = baseline seconds / skgen "
        "seconds, of `fit` unless said otherwise; skgen's numba kernels are compiled "
        "before timing (once per machine, then cached).",
        "",
        *[f"- {note}" for note in notes],
        "" if notes else None,
        "| " + " | ".join(key for key, _ in _COLUMNS) + " |",
        "|" + "---|" * len(_COLUMNS),
    ]
    lines = [line for line in lines if line is not None]
    for row in rows:
        cells = [_text(row.get(key, ""), d) for key, d in _COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for name, title, path in figures:
        lines += [f"## {name}: {title}", "", f"![{title}]({Path(path).relative_to(folder)})", ""]
    return "\n".join(lines)
