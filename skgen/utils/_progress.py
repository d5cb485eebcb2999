"""Progress bars on stderr, through tqdm."""

import sys

from tqdm.auto import tqdm

__all__ = ["progress_bar"]


def progress_bar(iterable=None, *, total=None, desc=None, disable=None):
    """Wrap ``iterable`` in a tqdm progress bar written to stderr.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over; None for a manually updated bar.
    total : int, optional
        Number of steps, when ``iterable`` has no length.
    desc : str, optional
        Label shown before the bar.
    disable : bool or None, default=None
        True hides the bar; None hides it when stderr is not a terminal, so
        logs and CI output stay clean.

    Returns
    -------
    bar : tqdm.tqdm
        The bar; iterate over it or call ``update``.
    """
    if disable is None:
        disable = not sys.stderr.isatty()
    return tqdm(
        iterable, total=total, desc=desc, disable=disable, file=sys.stderr, leave=False
    )
