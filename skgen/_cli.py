"""The ``skgen`` command line: ``skgen compare`` (the main job) and its options.

Thin: the work is in :mod:`skgen.compare`, imported only once the arguments are
parsed (``skgen --help`` loads neither scikit-learn nor the estimators).
"""

import argparse
import contextlib
import importlib.util
import sys
from pathlib import Path

__all__ = ["main"]

# Kept here, not imported from skgen.compare, so that parsing stays instant;
# tests/test_cli.py checks that both lists agree.
DATASETS = ("digits", "mnist", "binarized_mnist", "olivetti")
ESTIMATOR_NAMES = ("GaussianMixtureEM", "BernoulliMixture", "PCA", "SparseCoder",
                   "DictionaryLearning", "VAE", "VAE-bernoulli", "DenoisingAE", "LLE",
                   "TSNE")
_DATA_HELP = (
    "data set: 'digits' (scikit-learn's bundled 8x8 digits, 1797 images, no files "
    "needed; the default), 'mnist' (70000 28x28 digits), 'binarized_mnist' (the "
    "fixed binarization, 50000 training images) or 'olivetti' (400 64x64 faces); "
    "the last three are read from --data-home"
)


def _parser():
    parser = argparse.ArgumentParser(
        prog="skgen", description="scikit-learn-compatible unsupervised and generative "
        "models")
    sub = parser.add_subparsers(dest="command", required=True)
    cmp = sub.add_parser(
        "compare", help="fit skgen estimators and their baselines side by side",
        description="Fit each skgen estimator and its scikit-learn (or other) "
        "baselines on one train/test split; print a table of fit seconds and "
        "held-out scores, a row as each completes, and write a report folder "
        "with figures.")
    cmp.add_argument("--data", choices=DATASETS, default="digits", help=_DATA_HELP)
    cmp.add_argument("--data-home", default=None, metavar="DIR",
                     help="folder holding mnist/, binarized_mnist/ and olivetti/ "
                          "(default: $SKGEN_DATA or ~/skgen_data)")
    cmp.add_argument("--max-samples", type=int, default=None, metavar="N",
                     help="use a random subset of N samples (each row may run on "
                          "fewer: see the table's 'rows' column)")
    cmp.add_argument("--report", default="skgen-report", metavar="DIR",
                     help="report folder, replaced by each run ('' for none)")
    cmp.add_argument("--random-state", type=int, default=0)
    cmp.add_argument("--estimators", nargs="*", default=None, metavar="NAME",
                     help="rows to run (default all): " + ", ".join(ESTIMATOR_NAMES))
    cmp.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    cmp.add_argument("--dask", type=int, default=None, metavar="N",
                     help="fit the mixture and PCA rows on a dask array on a local "
                          "cluster of N workers, beside the in-memory fits")
    return parser


def main(argv=None):
    """Entry point of the ``skgen`` console script.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success.

    Raises
    ------
    SystemExit
        With status 2 and a one-line message on a usage error: an unknown
        estimator name (the valid ones are listed), a data set whose files are
        not found (naming the folder searched and ``--data-home``), ``--dask``
        without dask installed.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.estimators:
        unknown = [name for name in args.estimators if name not in ESTIMATOR_NAMES]
        if unknown:
            parser.error(f"unknown estimators: {', '.join(unknown)}; choose from "
                         f"{', '.join(ESTIMATOR_NAMES)}")
    if args.dask is not None:
        if args.dask < 1:
            parser.error("--dask needs at least 1 worker")
        if importlib.util.find_spec("distributed") is None:
            parser.error('--dask needs dask.distributed: pip install "scikit-gen[dask]" '
                         '(or ".[dask]" from a checkout)')

    from .compare import COMPARISONS, format_table, load_data, run_compare

    try:
        X, image_shape, y = load_data(args.data, args.data_home, args.max_samples,
                                      args.random_state, return_labels=True)
    except (OSError, ValueError) as exc:
        parser.error(_data_error(args, exc))
    comparisons = COMPARISONS
    if args.estimators:
        comparisons = [c for c in COMPARISONS if c.name in args.estimators]
    print(f"skgen compare on {args.data}: {X.shape[0]} samples x {X.shape[1]} features")
    cluster = contextlib.nullcontext()
    if args.dask is not None:
        from .compare._dask import dask_comparisons, local_cluster

        comparisons = dask_comparisons(comparisons, args.dask)
        if not comparisons:
            parser.error("--dask runs GaussianMixtureEM, BernoulliMixture and PCA only")
        cluster = local_cluster(args.dask)
        print(f"on a dask LocalCluster of {args.dask} worker(s), beside the in-memory fits")
    with cluster:
        rows = run_compare(
            X,
            image_shape,
            y=y,
            comparisons=comparisons,
            report=args.report or None,
            random_state=args.random_state,
            progress=False if args.no_progress else True,
            on_row=_print_row,
            dask_workers=args.dask,
        )
    print()
    print(format_table(rows))
    if args.report:
        print(f"report: {Path(args.report) / 'report.md'}")
    return 0


def _print_row(row):
    """One finished row, as it completes (the table follows at the end)."""
    from .compare import format_row

    print(format_row(row), flush=True)


def _data_error(args, exc):
    """A one-line message for a data set that could not be read."""
    if args.data == "digits":
        return f"--data digits: {exc}"
    from .datasets import get_data_home

    home = get_data_home(args.data_home)
    hint = ("pass --data-home DIR, the folder that holds mnist/, binarized_mnist/ "
            "and olivetti/ (in this project: --data-home ../shared/data)")
    return (f"--data {args.data}: could not read the data set from {home} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); {hint}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
