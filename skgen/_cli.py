"""The ``skgen`` command line: ``skgen compare`` (the main job) and its options.

Thin: the work is in :mod:`skgen.compare`.
"""

import argparse
import contextlib
import importlib.util
import sys
from pathlib import Path

from .compare import COMPARISONS, DATASETS, format_table, load_data, run_compare

__all__ = ["main"]


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
    """
    parser = argparse.ArgumentParser(prog="skgen", description="scikit-learn-compatible unsupervised and generative models")
    sub = parser.add_subparsers(dest="command", required=True)
    cmp = sub.add_parser("compare", help="fit skgen estimators and their baselines side by side")
    cmp.add_argument("--data", choices=DATASETS, default="digits")
    cmp.add_argument("--data-home", default=None, help="folder of the real data sets")
    cmp.add_argument("--max-samples", type=int, default=None, help="random subset size")
    cmp.add_argument("--report", default="skgen-report", help="report folder ('' for none)")
    cmp.add_argument("--random-state", type=int, default=0)
    cmp.add_argument("--estimators", nargs="*", default=None, help="names to run (default all)")
    cmp.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    cmp.add_argument("--dask", type=int, default=None, metavar="N",
                     help="fit the mixture and PCA rows on a dask array on a local "
                          "cluster of N workers, beside the in-memory fits")
    args = parser.parse_args(argv)

    X, image_shape, y = load_data(args.data, args.data_home, args.max_samples,
                                  args.random_state, return_labels=True)
    comparisons = COMPARISONS
    if args.estimators:
        unknown = set(args.estimators) - {c.name for c in COMPARISONS}
        if unknown:
            parser.error(f"unknown estimators: {', '.join(sorted(unknown))}")
        comparisons = [c for c in COMPARISONS if c.name in args.estimators]
    print(f"skgen compare on {args.data}: {X.shape[0]} samples x {X.shape[1]} features")
    cluster = contextlib.nullcontext()
    if args.dask is not None:
        if args.dask < 1:
            parser.error("--dask needs at least 1 worker")
        if importlib.util.find_spec("distributed") is None:
            parser.error('--dask needs dask.distributed: pip install "skgen[dask]"')
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
        )
    print(format_table(rows))
    if args.report:
        print(f"report: {Path(args.report) / 'report.md'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
