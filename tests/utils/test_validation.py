"""Shared validation helpers and blocked iteration."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from skgen.utils import check_array_param, check_binary, check_n_samples, row_chunks


@given(n=st.integers(0, 5000), per_row=st.integers(1, 10**6),
       budget=st.integers(1, 2**24), min_rows=st.integers(1, 256))
def test_row_chunks_cover_rows_once_in_order(n, per_row, budget, min_rows):
    chunks = list(row_chunks(n, per_row, budget, min_rows))
    covered = np.concatenate([np.arange(c.start, c.stop) for c in chunks]) if chunks else []
    np.testing.assert_array_equal(covered, np.arange(n))
    assert all(c.stop - c.start >= 1 for c in chunks)
    # Every chunk but the last holds at least min_rows rows.
    assert all(c.stop - c.start >= min(min_rows, n) for c in chunks[:-1])


def test_row_chunks_rejects_negative():
    with pytest.raises(ValueError, match="n_rows"):
        list(row_chunks(-1, 8))


def test_check_binary_dense_and_sparse():
    check_binary(np.array([[0.0, 1.0], [1.0, 0.0]]))
    check_binary(sp.csr_matrix(np.eye(3)))
    with pytest.raises(ValueError, match=r"2 entries hold other values: 0\.3, 7"):
        check_binary(np.array([[0.3, 1.0], [7.0, 0.0]]))
    with pytest.raises(ValueError, match="-1"):
        check_binary(sp.csr_matrix(np.array([[0.0, -1.0]])))
    with pytest.raises(ValueError, match=r"\.\.\."):
        check_binary(np.arange(10.0).reshape(2, 5) + 2)


def test_check_n_samples():
    check_n_samples(5, 5)
    with pytest.raises(ValueError, match="n_neighbors = 6, n_samples = 5"):
        check_n_samples(5, 6, "n_neighbors")


def test_check_array_param():
    out = check_array_param([[0.5, 0.2]], "means_init", (1, 2), np.float32, lower=0, upper=1)
    assert out.dtype == np.float32
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        check_array_param([[0.5, 0.2]], "means_init", (2, 2), np.float64)
    with pytest.raises(ValueError, match="should be < 1"):
        check_array_param([1.0], "means_init", (1,), np.float64, upper=1)
    with pytest.raises(ValueError, match="should be > 0"):
        check_array_param([0.0], "means_init", (1,), np.float64, lower=0)
    with pytest.raises(ValueError, match="NaN or inf"):
        check_array_param([np.inf], "means_init", (1,), np.float64)
