"""The one training loop of the neural estimators: optax, jit, device placement,
early stopping.

A model is described by a hashable ``spec`` (a NamedTuple of its architecture:
the static part, with a ``model`` field naming it) and a ``hyper`` dict of
float32 scalars (its numeric hyperparameters, traced: 'kl_weight' and the
model's own, such as beta or the noise level), and registers two pure functions
here: ``loss(spec, params, X, key, hyper) -> (n,) per-sample losses`` for
training and ``init(spec, key, n_features) -> params``. The optimiser's learning
rate and clipping norm live in its state (``optax.inject_hyperparams``). The
jitted functions below are defined once, at module level, and keyed on the spec
and the batch size only, so refits, clones, ``check_estimator`` and every
GridSearchCV candidate that changes a number (learning rate, beta, sigma, noise
level, clip norm) reuse one compilation. An epoch is one ``lax.scan`` over the shuffled
mini-batches, with the whole training set on the device and one host sync (the
epoch's mean loss) per epoch.
"""

import math
import numbers
import warnings
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils import check_X, progress_bar
from ..utils._validation import power_of_two_scale
from ..utils._dask import (
    apply_by_chunks,
    check_dask_X,
    check_sampled_rows,
    chunk_infos,
    is_dask_array,
    load_chunk,
    magnitude_limits,
    prefetched,
    take_rows,
)

# model name -> (loss, init); filled by the model modules at import.
MODELS = {}


def register_model(name, loss, init):
    """Make a model's pure functions known to the training loop.

    Parameters
    ----------
    name : str
        The ``spec.model`` value that selects them.
    loss : callable
        ``loss(spec, params, X, key, hyper) -> (n_samples,)`` per-sample
        training losses (nats or squared units); ``hyper`` is a dict of traced
        float32 scalars, 'kl_weight' among them.
    init : callable
        ``init(spec, key, n_features) -> params`` pytree.
    """
    MODELS[name] = (loss, init)


class TrainState(NamedTuple):
    """Everything an epoch updates: parameters, optimiser state, PRNG key."""

    params: Any
    opt_state: Any
    key: Any


def _clipped_adam(learning_rate, clip_norm):
    return optax.chain(optax.clip_by_global_norm(clip_norm), optax.adam(learning_rate))


def make_optimizer(learning_rate, clip_norm):
    """Adam (Kingma & Ba 2015) after clipping the global gradient norm.

    Both numbers are kept in the optimiser state (``optax.inject_hyperparams``),
    traced rather than compiled in: a new value is not a new compilation.

    Parameters
    ----------
    learning_rate : float
        Adam's step size.
    clip_norm : float
        Largest global gradient norm.

    Returns
    -------
    optimizer : optax.GradientTransformation
    """
    return optax.inject_hyperparams(_clipped_adam)(learning_rate=learning_rate,
                                                   clip_norm=clip_norm)


# The update reads the rates from the state, so one instance serves every model.
_OPTIMIZER = make_optimizer(1e-3, 100.0)


def with_rates(opt_state, learning_rate, clip_norm):
    """``opt_state`` with its learning rate and clipping norm replaced (warm start)."""
    hyperparams = dict(opt_state.hyperparams)
    hyperparams["learning_rate"] = jnp.asarray(learning_rate, jnp.float32)
    hyperparams["clip_norm"] = jnp.asarray(clip_norm, jnp.float32)
    return opt_state._replace(hyperparams=hyperparams)


def _mean_loss(params, spec, X, weights, key, hyper):
    loss, _ = MODELS[spec.model]
    per_row = loss(spec, params, X, key, hyper)
    return jnp.sum(weights * per_row) / jnp.sum(weights)


def _step(spec, carry, X, weights, hyper):
    params, opt_state, key = carry
    key, sub = jax.random.split(key)
    value, grads = jax.value_and_grad(_mean_loss)(params, spec, X, weights, sub, hyper)
    updates, opt_state = _OPTIMIZER.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state, key), value


def _pad_batches(batches, weights, sharding):
    """Widen (n_batches, B) index and weight arrays to a multiple of the mesh
    size with weight-0 rows (index 0), so that every device gets an equal slice."""
    if sharding is None:
        return batches, weights
    n_dev = sharding.mesh.size
    extra = -batches.shape[1] % n_dev
    if extra:
        batches = jnp.pad(batches, ((0, 0), (0, extra)))
        weights = jnp.pad(weights, ((0, 0), (0, extra)))
    return batches, weights


def _shard(x, sharding):
    return x if sharding is None else jax.lax.with_sharding_constraint(x, sharding)


@partial(jax.jit, static_argnames=("spec", "batch_size", "sharding"))
def train_epoch(spec, batch_size, state, X, hyper, sharding=None):
    """One epoch of mini-batch Adam over ``X`` in a shuffled order.

    The last batch is padded to ``batch_size`` with weight-0 rows, so one step
    function serves every batch (one compiled step, not two) and the last step
    is exactly a step on the remaining rows. With a batch ``sharding`` over a
    device mesh, each batch is split across the devices (widened with weight-0
    rows to a multiple of their number); the parameters are replicated and jit
    inserts the all-reduce of the gradients.

    Parameters
    ----------
    spec : NamedTuple
        Static model description.
    batch_size : int
        Rows per step.
    state : TrainState
    X : jax.Array of shape (n_samples, n_features), float32, on the device(s).
    hyper : dict of str to jax.Array
        The model's traced hyperparameters ('kl_weight': the KL term's weight
        during warm-up, ignored by models without one).
    sharding : jax.sharding.NamedSharding or None, default=None
        How a batch is split over the mesh (``P("batch")``); None: one device.

    Returns
    -------
    state : TrainState
    mean_loss : jax.Array, scalar
        Mean per-sample training loss over the epoch.
    """
    n = X.shape[0]
    key, perm_key = jax.random.split(state.key)
    perm = jax.random.permutation(perm_key, n)
    n_batches = -(-n // batch_size)
    pad = n_batches * batch_size - n
    batches = jnp.concatenate([perm, perm[:pad]]).reshape(n_batches, batch_size)
    weights = (jnp.arange(n_batches * batch_size) < n).astype(X.dtype).reshape(
        n_batches, batch_size)
    batches, weights = _pad_batches(batches, weights, sharding)

    def body(carry, batch):
        idx, w = batch
        carry, value = _step(spec, carry, _shard(X[idx], sharding), _shard(w, sharding),
                             hyper)
        return carry, value * jnp.sum(w)

    carry, totals = jax.lax.scan(body, (state.params, state.opt_state, key),
                                 (batches, weights))
    return TrainState(*carry), jnp.sum(totals) / n


@partial(jax.jit, static_argnames=("spec",))
def train_step(spec, state, X, weights, hyper):
    """One Adam step on the batch ``X`` whose rows weigh ``weights`` (0 for
    padding), for epochs run batch by batch.

    Returns
    -------
    state : TrainState
    loss : jax.Array, scalar
        Weighted mean per-sample loss of the batch.
    """
    carry, value = _step(spec, (state.params, state.opt_state, state.key), X,
                         weights, hyper)
    return TrainState(*carry), value


# Below this many rows an epoch runs as a Python loop over jitted steps on
# batches padded to a fixed number of rows (weight-0 padding): the step then
# compiles once per feature count, where a scanned epoch compiles once per data
# shape, so the many small fits of a grid search or of check_estimator share
# compilations. Above it the scanned epoch saves the per-step dispatch.
SCAN_ROWS = 4096


def run_epoch(spec, batch_size, state, X, X_host, hyper, sharding=None):
    """One epoch: :func:`train_epoch` for large data, padded steps for small.

    Parameters
    ----------
    spec, state, hyper
        As :func:`train_epoch`.
    batch_size : int
        Rows per step (the padded batch size for small data).
    X : jax.Array of shape (n_samples, n_features) or None
        The training data on the device (used, and needed, for large data only).
    X_host : ndarray of shape (n_samples, n_features)
        The same data in host memory (batched on the host for small data).
    sharding : jax.sharding.NamedSharding or None
        The batch sharding of :func:`train_epoch`.

    Returns
    -------
    state : TrainState
    mean_loss : jax.Array, scalar
    """
    n = X_host.shape[0]
    if n >= SCAN_ROWS:
        return train_epoch(spec, min(batch_size, n), state, X, hyper, sharding)
    rng = _key_rng(state.key)
    state = state._replace(key=jax.random.split(state.key)[0])
    perm = rng.permutation(n)
    n_batches = -(-n // batch_size)
    perm = np.concatenate([perm, np.zeros(n_batches * batch_size - n, perm.dtype)])
    weights = (np.arange(n_batches * batch_size) < n).astype(X_host.dtype)
    batches, weights = _pad_batches(perm.reshape(n_batches, batch_size),
                                    weights.reshape(n_batches, batch_size), sharding)
    batches, weights = np.asarray(batches), np.asarray(weights)
    total = 0.0
    for idx, w in zip(batches, weights):
        Xb, wb = X_host[idx], w
        if sharding is not None:
            Xb, wb = jax.device_put(Xb, sharding), jax.device_put(wb, sharding)
        state, value = train_step(spec, state, Xb, wb, hyper)
        total = total + value * w.sum()
    return state, total / n


def training_compilations():
    """Compilations of the training step so far in this process.

    Returns
    -------
    count : int
        Entries in the jit caches of :func:`train_step` and :func:`train_epoch`
        (one per static model architecture, batch shape and device layout).
    """
    return int(train_step._cache_size() + train_epoch._cache_size())


@partial(jax.jit, static_argnames=("spec",))
def per_sample_loss(spec, params, X, key, hyper):
    """Per-sample loss at full KL weight, for validation and scoring.

    Returns
    -------
    loss : jax.Array of shape (n_samples,)
    """
    loss, _ = MODELS[spec.model]
    return loss(spec, params, X, key, {**hyper, "kl_weight": jnp.float32(1.0)})


def resolve_device(device):
    """The JAX device for a ``device`` parameter.

    Parameters
    ----------
    device : {'auto', 'cpu', 'gpu'}
        'auto' takes the first GPU JAX sees, else the CPU.

    Returns
    -------
    device : jax.Device

    Raises
    ------
    ValueError
        For 'gpu' when JAX sees no GPU (the message says how to install the
        CUDA build).
    """
    if device in ("auto", "gpu"):
        try:
            gpus = jax.devices("gpu")
        except RuntimeError:
            gpus = []
        if gpus:
            return gpus[0]
        if device == "gpu":
            raise ValueError(
                "device='gpu' but JAX sees no GPU (jax.devices('gpu') is empty); "
                "install the CUDA build with pip install 'scikit-gen[cuda]' (or '.[cuda]' from a checkout), or use "
                "device='cpu' or 'auto'"
            )
    return jax.devices("cpu")[0]


def device_mesh(device, n_devices):
    """A 1-D mesh (axis 'batch') of the devices that data-parallel training uses.

    Parameters
    ----------
    device : {'auto', 'cpu', 'gpu'}
        The platform, as :func:`resolve_device`.
    n_devices : 'auto' or int
        'auto': every device of that platform; an int: the first ``n_devices``.

    Returns
    -------
    mesh : jax.sharding.Mesh
        One device: single-device training is the 1-device mesh.

    Raises
    ------
    ValueError
        When ``n_devices`` is larger than the number of devices JAX sees.
    """
    from jax.sharding import Mesh

    first = resolve_device(device)
    devices = [d for d in jax.devices(first.platform)]
    n = len(devices) if n_devices == "auto" else int(n_devices)
    if n > len(devices):
        raise ValueError(
            f"n_devices={n} but JAX sees {len(devices)} {first.platform} device(s); "
            "use n_devices='auto' or at most that many (on the CPU, "
            "XLA_FLAGS=--xla_force_host_platform_device_count=N simulates N devices)"
        )
    return Mesh(np.array(devices[:n]), ("batch",))


def mesh_shardings(mesh):
    """(replicated, batch) NamedShardings of a 1-D mesh: parameters are
    replicated on every device, batches split along their first axis."""
    from jax.sharding import NamedSharding, PartitionSpec

    return NamedSharding(mesh, PartitionSpec()), NamedSharding(mesh, PartitionSpec("batch"))


def prng_key(random_state):
    """A JAX PRNG key from a scikit-learn ``random_state``.

    Parameters
    ----------
    random_state : int, RandomState instance or None

    Returns
    -------
    key : jax.Array
        ``jax.random.key(random_state)`` for an int; otherwise a key seeded by a
        draw from the RandomState (fresh entropy for None).
    """
    if isinstance(random_state, numbers.Integral):
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).randint(2**31 - 1))
    return jax.random.PRNGKey(seed)


def to_numpy(tree):
    """A pytree of device arrays as NumPy arrays (picklable without JAX devices)."""
    return jax.tree_util.tree_map(lambda a: np.array(a), tree)


# Rows of a dask array that set the data-dependent start (decoder bias at the
# data mean) and the fitted summaries (DenoisingAE's feature range), sampled
# uniformly; and the chunks shuffled together within an epoch.
_SAMPLE_ROWS = 20_000
_WINDOW_CHUNKS = 2


class _Data:
    """The training data as the training loop sees them: an in-memory array, or
    a dask array streamed chunk by chunk.

    A dask epoch visits the training chunks in a new random order, shuffles the
    rows within windows of ``_WINDOW_CHUNKS`` chunks (the scanned epoch's
    permutation) and loads the next window in a background thread, host to
    device included, while the current one trains: the device waits only for
    the first window. Early stopping holds out whole chunks.
    """

    def __init__(self, estimator, X, reset):
        self.estimator = estimator
        self.reset = reset
        self.dask = is_dask_array(X)
        self._device_X = None
        if self.dask:
            X = check_dask_X(estimator, X, reset=reset)
            self.X = X if X.dtype == np.float32 else X.astype(np.float32)
            self.limits = magnitude_limits(X.shape, np.float32)
            self.infos = chunk_infos(X.chunks[0])
            self.chunks = list(range(len(self.infos)))
            self._sample = None
        else:
            self.X = estimator._check_input(X, reset=reset)
        self.n_features = self.X.shape[1]

    @property
    def n_samples(self):
        if not self.dask:
            return self.X.shape[0]
        return sum(self.infos[i][2] - self.infos[i][1] for i in self.chunks)

    def load(self, i):
        """Chunk ``i`` as checked float32 rows in host memory, rescaled."""
        rows = load_chunk(self.X, i, self.infos, self.limits,
                          self.estimator._validate_values, np.float32)
        return self._scaled(rows)

    def _scaled(self, rows):
        scale = self.estimator.data_scale_
        if scale == 1.0:
            return rows
        return (rows.astype(np.float64) * scale).astype(np.float32)

    def init_rows(self):
        """The rows that data-dependent starts and summaries are computed on:
        all of them in memory, a uniform sample of a dask array's training chunks."""
        if not self.dask:
            return self.X
        if self._sample is None:
            rows = np.concatenate([np.arange(*self.infos[i][1:3]) for i in self.chunks])
            rng = np.random.default_rng(0)
            pick = np.sort(rng.choice(rows, size=min(rows.size, _SAMPLE_ROWS), replace=False))
            sample = np.asarray(take_rows(self.X, pick), dtype=np.float32)
            check_sampled_rows(sample, pick, self.X, self.limits,
                               self.estimator._validate_values)
            if self.reset:
                # A dask array's scale comes from its first uniform sample.
                self.estimator._set_scale(sample)
                self.reset = False
            self._sample = self._scaled(sample)
        return self._sample

    def split(self, fraction, seed):
        """Hold out a validation set: rows in memory, whole chunks of a dask array."""
        if not self.dask:
            n = self.X.shape[0]
            n_val = math.ceil(fraction * n)  # train_test_split's rounding
            if n_val < 1 or n - n_val < 1:
                raise ValueError(
                    f"validation_fraction={fraction} with early_stopping holds out "
                    f"{n_val} of the {n} rows and leaves {n - n_val} to train on; "
                    "both need at least one row: use a validation_fraction between "
                    f"{1 / n:.3g} and {1 - 1 / n:.3g} or more rows"
                )
            self.X, X_val = train_test_split(self.X, test_size=fraction, random_state=seed)
            return _Validation(self, X_val, None)
        if len(self.chunks) < 2:
            raise ValueError(
                "early_stopping on a dask array holds out whole chunks: X needs at "
                f"least 2 row chunks, it has {len(self.chunks)}"
            )
        rng = np.random.default_rng(seed)
        n_val = min(max(1, round(fraction * len(self.chunks))), len(self.chunks) - 1)
        held = sorted(rng.choice(self.chunks, size=n_val, replace=False).tolist())
        self.chunks = [i for i in self.chunks if i not in held]
        self._sample = None
        return _Validation(self, None, held)

    def epoch(self, spec, batch_size, state, hyper, replicated, sharding):
        """One epoch over all training rows; returns (state, mean loss)."""
        if not self.dask:
            if self._device_X is None and self.X.shape[0] >= SCAN_ROWS:
                self._device_X = jax.device_put(self.X, replicated)
            return run_epoch(spec, batch_size, state, self._device_X, self.X, hyper,
                             sharding)
        order = _key_rng(state.key).permutation(self.chunks)
        windows = [order[i:i + _WINDOW_CHUNKS] for i in range(0, len(order), _WINDOW_CHUNKS)]

        def load_window(window):
            rows = np.concatenate([self.load(i) for i in window])
            on_device = jax.device_put(rows, replicated) if rows.shape[0] >= SCAN_ROWS else None
            return rows, on_device

        total, count = 0.0, 0
        for rows, on_device in prefetched(load_window, windows):
            state, loss = run_epoch(spec, batch_size, state, on_device, rows, hyper,
                                    sharding)
            total = total + loss * rows.shape[0]
            count += rows.shape[0]
        return state, total / count


class _Validation:
    """The held-out rows of early stopping (in memory or whole dask chunks)."""

    def __init__(self, data, X, chunks):
        self.data, self.X, self.chunks = data, X, chunks
        self._device_X = None

    def mean_loss(self, spec, params, key, replicated, hyper):
        """Mean per-sample loss at full KL weight over the held-out rows."""
        if self.chunks is None:
            if self._device_X is None:
                self._device_X = jax.device_put(self.X, replicated)
            return float(jnp.mean(per_sample_loss(spec, params, self._device_X, key,
                                                  hyper)))
        total, count = 0.0, 0
        for i in self.chunks:
            rows = self.data.load(i)
            losses = map_fixed_rows(
                lambda Xb: per_sample_loss(spec, params, Xb, key, hyper), rows)
            total += float(np.sum(losses, dtype=np.float64))
            count += rows.shape[0]
        return total / count


def _key_rng(key):
    """A NumPy generator seeded by a JAX key (host-side shuffles that follow the seed)."""
    return np.random.default_rng(np.asarray(jax.random.key_data(key)).astype(np.uint32))


class BaseNeural(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """fit / partial_fit / early stopping shared by DenoisingAE and VAE.

    Subclasses provide ``_spec()`` (the static, hashable architecture),
    ``_hyper()`` (the numeric hyperparameters the loss reads, traced),
    ``_validate_values(X)`` (range checks) and the model-specific methods.
    Training parameters follow scikit-learn's MLPRegressor.
    """

    _training_constraints = {
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions({"relu", "tanh", "logistic", "identity"})],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None,
                                                      closed="left")],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "device": [StrOptions({"auto", "cpu", "gpu"})],
        "clip_norm": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_devices": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None,
                                                     closed="left")],
    }

    # ------------------------------------------------------------ helpers
    def _hidden(self):
        raw = np.atleast_1d(np.asarray(self.hidden_layer_sizes, dtype=object))
        if raw.ndim != 1 or any(
            isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1
            for h in raw
        ):
            raise ValueError(
                f"hidden_layer_sizes must be a sequence of positive integers, got "
                f"{self.hidden_layer_sizes!r}"
            )
        return tuple(int(h) for h in raw)

    def _check_input(self, X, reset):
        """X checked, rescaled by ``data_scale_`` (set here when ``reset``), float32.

        The networks compute in float32 on X times a power of two (exact) that
        brings the training data's largest magnitude into (0.5, 1]: pixels
        0-255, 1e-17 or 1e30 units train the same network. A row is refused
        only when, rescaled, its squared norm would overflow float32.
        """
        X = check_X(self, X, reset=reset, magnitude_dtype=False)
        self._validate_values(X)
        self._check_units(X)
        if reset:
            self._set_scale(X)
        scale = self.data_scale_
        peak = float(np.max(np.abs(X))) if X.size else 0.0
        high, _ = magnitude_limits(X.shape, np.float32)
        if peak * scale > high:
            raise ValueError(
                f"X holds values up to {peak:.3g} in absolute value; this model, "
                f"fitted on data of magnitude about {0.5 / scale:.3g} to "
                f"{1 / scale:.3g}, computes in float32 and accepts at most "
                f"{high / scale:.3g} for rows of {X.shape[1]} features. Rescale X "
                "as the training data."
            )
        if scale != 1.0:
            X = X * scale
        return np.ascontiguousarray(X, dtype=np.float32)

    def _scale_free(self):
        """True when the likelihood needs X in [0, 1] as given (no rescaling)."""
        return False

    def _check_units(self, X):
        """Refuse X whose results cannot be represented in its own units.

        Outputs (reconstructions, samples) may exceed the training data's
        magnitude a little: X must leave float64 2^16 of headroom (about
        2.7e303). Subclasses whose scores are squared units check more.
        """
        peak = float(np.max(np.abs(X))) if X.size else 0.0
        limit = float(np.finfo(np.float64).max) * 2.0**-16
        if peak > limit:
            raise ValueError(
                f"X holds values up to {peak:.3g} in absolute value: the model's "
                f"outputs in these units would overflow float64 (limit {limit:.3g}). "
                "Rescale X, e.g. divide it by its largest absolute value."
            )
        if 0.0 < peak < 2.0**-1000:
            raise ValueError(
                f"X holds values no larger than {peak:.3g} in absolute value: too "
                "close to float64's smallest numbers to be rescaled exactly (limit "
                f"{2.0**-1000:.3g}). Rescale X, e.g. divide it by its largest absolute "
                "value."
            )

    def _set_scale(self, X):
        """``data_scale_``: 2^-e with max |X| 2^-e in (0.5, 1] (1 for [0, 1] data)."""
        if self._scale_free():
            self.data_scale_ = 1.0
            return
        # power_of_two_scale brings the peak into [1, 2); halve unless it is 1.
        peak = float(np.max(np.abs(X))) if X.size else 0.0
        scale = power_of_two_scale(X, peak)
        self.data_scale_ = scale if peak * scale <= 1.0 else scale / 2

    def _unscale(self, X):
        """Network outputs in X's units: float32, or float64 where X's units
        exceed float32's range (a model of data at 1e150)."""
        scale = self.data_scale_
        return X if scale == 1.0 else as_output(np.asarray(X, dtype=np.float64) / scale)

    def _log_jacobian(self):
        """log |d(X scaled) / dX| per sample: n_features log data_scale_ (nats)."""
        return self.n_features_in_ * float(np.log(self.data_scale_))

    def _device_array(self, X):
        return jax.device_put(jnp.asarray(X), self._device)

    def _device_params(self):
        return jax.device_put(self.params_, self._device)

    def _kl_weight(self, epoch):
        return 1.0

    def _hyper(self):
        """The model's numeric hyperparameters read by its loss (traced)."""
        return {}

    def _hyper_tree(self, kl_weight=1.0):
        """``_hyper()`` and the KL weight as float32 scalars: jit traces them."""
        values = {**self._hyper(), "kl_weight": kl_weight}
        return {name: jnp.asarray(value, jnp.float32) for name, value in values.items()}

    def _batch_size(self):
        # MLPRegressor's 'auto' is min(200, n); small data is padded to 200 rows
        # with weight-0 rows instead (see run_epoch), the same steps.
        return 200 if self.batch_size == "auto" else int(self.batch_size)

    # ------------------------------------------------------------- fitting
    def fit(self, X, y=None):
        """Train on ``X`` for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Training data (float32 on the device). A dask array is streamed:
            every epoch visits its row chunks in a random order, shuffles rows
            within windows of two chunks and loads the next window while the
            current one trains; early stopping holds out whole chunks; the
            decoder's starting bias (and DenoisingAE's ``feature_range_``) come
            from a uniform sample of 20,000 rows.
        y : None
            Ignored.

        Returns
        -------
        self : estimator
            The fitted estimator.

        Raises
        ------
        ValueError
            On NaN/inf (in a dask chunk: naming it; the parameters from
            before the fit are kept), values out of the range the likelihood
            or loss needs, ``device='gpu'`` without a GPU, ``n_devices`` larger
            than the devices JAX sees, a dask array with unknown chunk sizes, or
            a training loss that becomes NaN/inf (the parameters of the last
            finite epoch are kept).

        Warns
        -----
        ConvergenceWarning
            When ``max_iter`` epochs end before the stopping rule is met.
        """
        self._validate_params()
        return self._fit(X, incremental=False)

    def partial_fit(self, X, y=None):
        """One epoch on ``X``, starting from the current parameters if fitted.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            As in :meth:`fit`.
        y : None
            Ignored.

        Returns
        -------
        self : estimator

        Raises
        ------
        ValueError
            As ``fit``, and when ``X`` has a different number of features than
            the data seen before.
        """
        if not hasattr(self, "params_"):
            self._validate_params()
        return self._fit(X, incremental=True)

    def _fit(self, X, incremental):
        first = not hasattr(self, "params_")
        fresh = first or not (incremental or self.warm_start)
        data = _Data(self, X, reset=fresh)
        if data.n_samples < 2:
            raise ValueError(f"n_samples={data.n_samples}: at least 2 samples are needed")
        self._mesh = device_mesh(self.device, self.n_devices)
        self._device = self._mesh.devices.flat[0]
        replicated, sharding = mesh_shardings(self._mesh)
        spec = self._spec()
        _, init_fn = MODELS[spec.model]
        optimizer = make_optimizer(float(self.learning_rate_init), float(self.clip_norm))
        if fresh:
            key = prng_key(self.random_state)
            key, init_key = jax.random.split(key)
            params = init_fn(spec, init_key, data.n_features)
            params = self._adapt_init(params, data.init_rows())
            opt_state = optimizer.init(params)
            self.loss_curve_ = []
            self.validation_scores_ = [] if self.early_stopping else None
            self.best_loss_ = np.inf
            self.best_validation_score_ = -np.inf if self.early_stopping else None
            self.n_iter_ = 0
        else:
            key = jnp.asarray(self._key)
            params = self.params_
            # The current learning_rate_init and clip_norm, not those of the last fit.
            opt_state = with_rates(self._opt_state, self.learning_rate_init, self.clip_norm)
        # Parameters and optimiser state replicated on every device of the mesh.
        state = jax.device_put(TrainState(params, opt_state, key), replicated)

        validation = None
        if self.early_stopping and not incremental:
            validation = data.split(self.validation_fraction,
                                    int(jax.random.randint(key, (), 0, 2**31 - 1)))
        batch_size = self._batch_size()
        epochs = 1 if incremental else self.max_iter
        no_improve = 0
        best = state.params
        bar = progress_bar(total=epochs, desc=type(self).__name__,
                           disable=None if self.verbose else True)
        converged = False
        with bar:
            for _ in range(epochs):
                previous = state
                state, loss = data.epoch(spec, batch_size, state,
                                         self._hyper_tree(self._kl_weight(self.n_iter_)),
                                         replicated, sharding)
                loss = float(loss)  # the epoch's one host sync
                if not np.isfinite(loss):
                    self._store(previous)
                    raise ValueError(
                        f"the training loss became {loss} at epoch {self.n_iter_ + 1}; "
                        "the parameters of the last finite epoch are kept. Lower "
                        "learning_rate_init or clip_norm, or check the data scale."
                    )
                self.n_iter_ += 1
                self.loss_curve_.append(loss)
                bar.update()
                bar.set_postfix(loss=f"{loss:.4g}")
                if validation is not None:
                    val_key = jax.random.fold_in(state.key, 1)
                    score = -validation.mean_loss(spec, state.params, val_key, replicated,
                                                  self._hyper_tree())
                    self.validation_scores_.append(score)
                    if score > self.best_validation_score_ + self.tol:
                        no_improve = 0
                    else:
                        no_improve += 1
                    if score > self.best_validation_score_:
                        self.best_validation_score_ = score
                        best = state.params
                else:
                    no_improve = 0 if loss < self.best_loss_ - self.tol else no_improve + 1
                self.best_loss_ = min(self.best_loss_, loss)
                if not incremental and no_improve >= self.n_iter_no_change:
                    converged = True
                    break
        if validation is not None:
            state = TrainState(best, state.opt_state, state.key)
        self._store(state)
        if not incremental and not converged and self.max_iter > 1:
            warnings.warn(
                f"{type(self).__name__}: max_iter={self.max_iter} epochs reached and "
                "the optimisation has not converged yet", ConvergenceWarning,
            )
        self._after_fit(data.init_rows())
        return self

    def _store(self, state):
        self.params_ = to_numpy(state.params)
        self._opt_state = to_numpy(state.opt_state)
        self._key = np.asarray(state.key)

    def _adapt_init(self, params, X):
        return params

    def _after_fit(self, X):
        pass

    def _check_fitted_input(self, X):
        check_is_fitted(self, "params_")
        X = self._check_input(X, reset=False)
        self._ensure_device()
        return X

    def _map_rows(self, X, fn, key, values_per_row=1):
        """``fn(X_chunk, keys) -> (chunk,)`` over row chunks of X, with the
        per-row keys of :func:`row_keys`; chunks of at most 1024 rows and about
        4M values, all of one shape (see :func:`map_fixed_rows`).

        Returns
        -------
        out : ndarray of shape (n_samples,), float64
        """
        rows = max(1, min(BLOCK_ROWS, (1 << 22) // (values_per_row * max(X.shape[1], 1))))
        out = map_fixed_rows(lambda Xb: fn(Xb, row_keys(key, Xb)), X, rows)
        return out.astype(np.float64, copy=False)

    def _lazy(self, method, X, n_columns, codes=False):
        """``method`` over the row chunks of a dask X, lazily (float32 output
        with ``n_columns`` columns; None: a 1-D float64 output)."""
        check_is_fitted(self, "params_")
        if not codes:
            X = check_dask_X(self, X, reset=False)
        elif X.ndim != 2 or X.shape[1] != self.n_components:
            raise ValueError(
                f"X has shape {X.shape}; expected n_components={self.n_components} columns"
            )
        dtype = np.float64 if n_columns is None else np.float32
        return apply_by_chunks(self, method, X, n_columns, dtype)

    def _check_codes(self, X):
        """Validate latent codes for ``inverse_transform``."""
        check_is_fitted(self, "params_")
        Z = check_array(X, dtype=np.float32)
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"X has {Z.shape[1]} columns; expected n_components={self.n_components}"
            )
        self._ensure_device()
        return Z

    def _ensure_device(self):
        if not hasattr(self, "_device"):
            self._device = resolve_device(self.device)

    @property
    def _n_features_out(self):
        """Number of output columns; undefined (AttributeError) before ``fit``."""
        check_is_fitted(self, "params_")
        return self.n_components

    def __getstate__(self):
        state = self.__dict__.copy()
        # Devices and meshes do not pickle; resolved again on use.
        state.pop("_device", None)
        state.pop("_mesh", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


BLOCK_ROWS = 1024


def as_output(values):
    """float32 ``values`` (the networks' dtype), or float64 where they do not fit."""
    values = np.asarray(values)
    with np.errstate(over="ignore"):
        narrow = values.astype(np.float32)
    if np.all(np.isfinite(narrow)) or not np.all(np.isfinite(values)):
        return narrow
    return values.astype(np.float64, copy=False)


def map_fixed_rows(fn, X, rows=BLOCK_ROWS):
    """``fn`` over blocks of ``rows`` rows of X, the last one padded with zeros.

    Every call sees the same shape, so XLA runs the same kernels whatever the
    number or order of the rows: a row's result does not depend on the rest of
    the batch (float32 matrix products otherwise differ by ~1e-7 between shapes),
    and one compilation serves every input size.

    Parameters
    ----------
    fn : callable
        jax.Array of shape (rows, n_features) -> array of shape (rows, ...).
    X : ndarray of shape (n_samples, n_features), float32
    rows : int, default=1024

    Returns
    -------
    out : ndarray of shape (n_samples, ...)
    """
    n = X.shape[0]
    parts = []
    for s in range(0, n, rows):
        block = X[s:s + rows]
        m = block.shape[0]
        if m < rows:
            block = np.concatenate([block, np.zeros((rows - m,) + X.shape[1:], X.dtype)])
        parts.append(np.asarray(fn(jnp.asarray(block)))[:m])
    return np.concatenate(parts) if parts else np.asarray(fn(jnp.asarray(X)))


@jax.jit
def row_keys(key, X):
    """One PRNG key per row, derived from the row's bits.

    Scoring draws its noise from these, so a row's score does not depend on the
    other rows in the batch or on their order (scikit-learn's invariance
    checks), and repeated calls agree.

    Parameters
    ----------
    key : jax.Array
        Base key.
    X : jax.Array of shape (n_samples, n_features), float32

    Returns
    -------
    keys : jax.Array of shape (n_samples, 2)
    """
    bits = jax.lax.bitcast_convert_type(X, jnp.uint32)
    weights = (jnp.arange(X.shape[1], dtype=jnp.uint32) * jnp.uint32(2654435761)
               + jnp.uint32(97531))
    h = jnp.sum(bits * weights, axis=1, dtype=jnp.uint32)
    return jax.vmap(lambda s: jax.random.fold_in(key, s))(h)
