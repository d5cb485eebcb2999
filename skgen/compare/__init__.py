"""``skgen compare``: fit each skgen estimator and its baseline side by side.

The runner and report live once in :mod:`skgen.compare._runner`; each family's
comparisons in its own module. ``COMPARISONS`` lists them all, in table order.
"""

from . import _decomposition, _manifold, _mixture, _neural
from ._runner import (DATASETS, Comparison, DataContext, format_row, format_table,
                      load_data, run_compare)

COMPARISONS = (_mixture.COMPARISONS + _decomposition.COMPARISONS + _neural.COMPARISONS
               + _manifold.COMPARISONS)

__all__ = ["Comparison", "COMPARISONS", "DATASETS", "DataContext", "format_row",
           "format_table", "load_data", "run_compare"]
