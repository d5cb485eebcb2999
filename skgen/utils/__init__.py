"""Shared helpers: input validation, blocked iteration, robust moments and progress bars."""

from ._moments import Moments, block_moments, merge_moments, moments, reduce_moments

from ._progress import progress_bar
from ._validation import (
    check_array_param,
    check_binary,
    check_magnitude,
    check_n_samples,
    check_positive_int,
    check_X,
    row_chunks,
)

__all__ = [
    "check_X",
    "check_magnitude",
    "check_n_samples",
    "check_positive_int",
    "check_binary",
    "check_array_param",
    "row_chunks",
    "progress_bar",
    "Moments",
    "block_moments",
    "merge_moments",
    "reduce_moments",
    "moments",
]
