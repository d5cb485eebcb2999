"""Shared helpers: input validation, blocked iteration and progress bars."""

from ._progress import progress_bar
from ._validation import (
    check_array_param,
    check_binary,
    check_n_samples,
    check_positive_int,
    check_X,
    row_chunks,
)

__all__ = [
    "check_X",
    "check_n_samples",
    "check_positive_int",
    "check_binary",
    "check_array_param",
    "row_chunks",
    "progress_bar",
]
