"""The online learner's data side: mini-batches epoch after epoch, and the
stopping rule of scikit-learn's MiniBatchDictionaryLearning."""

from scipy import linalg
from sklearn.utils import gen_batches

__all__ = ["BatchStream", "MiniBatchStopping"]


class BatchStream:
    """Mini-batches for online learning, epoch after epoch.

    Rows in memory: shuffled once (as scikit-learn's MiniBatchDictionaryLearning),
    then the same consecutive batches every epoch. A lazy source (a dask array):
    every epoch visits its blocks (in a new random order when ``shuffle``),
    shuffles the rows of each block and cuts it into batches; the next block is
    read in a background thread while the current one trains, so that at most
    two blocks are in memory and the learner waits only for the first.
    """

    def __init__(self, rows, batch_size, shuffle, rng):
        self.source, self.batch_size, self.shuffle, self.rng = rows, batch_size, shuffle, rng
        self.fixed = None
        if not rows.lazy:
            self.fixed = rows.X.copy() if shuffle else rows.X
            if shuffle:
                rng.shuffle(self.fixed)

    def epoch(self):
        """Yield this epoch's batches (ndarrays of at most ``batch_size`` rows)."""
        if self.fixed is not None:
            for batch in gen_batches(self.fixed.shape[0], self.batch_size):
                yield self.fixed[batch]
            return
        ids = self.source.block_ids()
        order = self.rng.permutation(ids) if self.shuffle else ids
        for block in self.source.blocks(order):
            if self.shuffle:
                block = block[self.rng.permutation(block.shape[0])]
            for batch in gen_batches(block.shape[0], self.batch_size):
                yield block[batch]


class MiniBatchStopping:
    """scikit-learn's MiniBatchDictionaryLearning stopping rule, step by step.

    Called after each step with the batch's mean cost; true means stop. The
    first min(100, n_samples / batch_size) steps are ignored; then the
    exponentially weighted average of the cost (weight batch_size /
    (n_samples + 1)) is tracked, and the learner stops when the dictionary
    moved by at most ``tol`` (Frobenius norm / n_atoms) or the average has had
    no new minimum for ``max_no_improvement`` steps.
    """

    def __init__(self, tol, max_no_improvement, n_samples, n_atoms):
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.n_samples = n_samples
        self.n_atoms = n_atoms
        self.ewa = None
        self.ewa_min = None
        self.no_improvement = 0

    def __call__(self, batch_size, batch_cost, new, old, step):
        if step + 1 <= min(100, self.n_samples / batch_size):
            return False
        if self.ewa is None:
            self.ewa = batch_cost
        else:
            weight = min(batch_size / (self.n_samples + 1), 1)
            self.ewa = self.ewa * (1 - weight) + batch_cost * weight
        if self.tol > 0 and linalg.norm(new - old) / self.n_atoms <= self.tol:
            return True
        if self.ewa_min is None or self.ewa < self.ewa_min:
            self.no_improvement = 0
            self.ewa_min = self.ewa
        else:
            self.no_improvement += 1
        return (self.max_no_improvement is not None
                and self.no_improvement >= self.max_no_improvement)
