"""The training data of the neural estimators, on the row source.

Rows in memory go to the device once and every epoch is one scanned pass over
them. A lazy source (a dask array) is streamed: each epoch visits its blocks in
a new random order, shuffles the rows within windows of ``WINDOW_BLOCKS`` blocks
(the scanned epoch's permutation) and loads the next window in a background
thread, host to device included, while the current one trains: the device
waits only for the first window. Early stopping holds out whole blocks.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ..utils._rows import row_source
from ._inference import map_fixed_rows
from ._steps import SCAN_ROWS, key_rng, per_sample_loss, run_epoch, spec_for

__all__ = ["TrainingData"]

# Rows of a lazy source that set the data-dependent start (decoder bias at the
# data mean) and the fitted summaries (DenoisingAE's feature range), sampled
# uniformly; and the blocks shuffled together within an epoch.
SAMPLE_ROWS = 20_000
WINDOW_BLOCKS = 2


class TrainingData:
    """The training rows as the training loop sees them.

    Parameters
    ----------
    estimator : BaseNeural
        Validates in-memory rows (``_check_input``: checked, rescaled by
        ``data_scale_``, float32) and each chunk of a dask array
        (``_checked_values``), then rescales those by ``data_scale_``.
    X : array-like or dask array of shape (n_samples, n_features)
    reset : bool
        True for a fresh fit: ``data_scale_`` is set from the data (from the
        first uniform sample of a dask array).
    """

    def __init__(self, estimator, X, reset):
        self.estimator = estimator
        self.reset = reset
        self._device_X = None
        self._sample = None
        self.rows = row_source(estimator, X, reset=reset, dtype=np.float32, allow_nan=True,
                               check=lambda X: estimator._check_input(X, reset=reset),
                               prepare=estimator._checked_values)
        self.n_features = self.rows.n_features

    @property
    def n_samples(self):
        return self.rows.n_samples

    def _scaled(self, rows):
        scale = self.estimator.data_scale_
        if scale == 1.0:
            return rows
        return (rows.astype(np.float64) * scale).astype(np.float32)

    def init_rows(self):
        """The rows that data-dependent starts and summaries are computed on:
        all of them in memory, a uniform sample of a lazy source's training blocks."""
        if not self.rows.lazy:
            return self.rows.X
        if self._sample is None:
            sample, _, _ = self.rows.sample(SAMPLE_ROWS, np.random.default_rng(0))
            sample = np.asarray(sample, dtype=np.float32)
            if self.reset:
                # A dask array's scale comes from its first uniform sample.
                self.estimator._set_scale(sample)
                self.reset = False
            self._sample = self._scaled(sample)
        return self._sample

    def split(self, fraction, seed):
        """Hold out a validation set (rows in memory, whole blocks of a lazy
        source) and train on the rest; returns the :class:`Validation` rows.

        Raises
        ------
        ValueError
            When either part would be empty.
        """
        self.rows, held = self.rows.split(fraction, seed)
        self._sample = None
        return Validation(self, held)

    def epoch(self, spec, batch_size, state, hyper, replicated, sharding):
        """One epoch over all training rows; returns (state, mean loss)."""
        if not self.rows.lazy:
            X = self.rows.X
            if self._device_X is None and X.shape[0] >= SCAN_ROWS:
                self._device_X = jax.device_put(X, replicated)
            return run_epoch(spec_for(spec, X), batch_size, state, self._device_X, X, hyper,
                             sharding)
        order = key_rng(state.key).permutation(self.rows.block_ids())

        def to_device(rows):
            rows = self._scaled(rows)
            on_device = jax.device_put(rows, replicated) if rows.shape[0] >= SCAN_ROWS else None
            return rows, on_device

        total, count = 0.0, 0
        for rows, on_device in self.rows.blocks(order, WINDOW_BLOCKS, to_device):
            state, loss = run_epoch(spec_for(spec, rows), batch_size, state, on_device, rows,
                                    hyper, sharding)
            total = total + loss * rows.shape[0]
            count += rows.shape[0]
        return state, total / count


class Validation:
    """The held-out rows of early stopping (in memory, or whole blocks)."""

    def __init__(self, data, rows):
        self.data, self.rows = data, rows
        self._device_X = None

    def mean_loss(self, spec, params, key, replicated, hyper):
        """Mean per-sample loss at full KL weight over the held-out rows."""
        if not self.rows.lazy:
            if self._device_X is None:
                self._device_X = jax.device_put(self.rows.X, replicated)
            return float(jnp.mean(per_sample_loss(spec_for(spec, self.rows.X), params,
                                                  self._device_X, key, hyper)))
        total, count = 0.0, 0
        for rows in self.rows.blocks(then=self.data._scaled):
            block_spec = spec_for(spec, rows)
            losses = map_fixed_rows(
                lambda Xb: per_sample_loss(block_spec, params, Xb, key, hyper), rows)
            total += float(np.sum(losses, dtype=np.float64))
            count += rows.shape[0]
        return total / count
