"""The jitted training steps of the neural estimators: model registry, optax, scan.

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
level, clip norm) reuse one compilation. An epoch is one ``lax.scan`` over the
shuffled mini-batches, with the whole training set on the device and one host
sync (the epoch's mean loss) per epoch.

Reference: Kingma & Ba (2015), "Adam: a method for stochastic optimization".
"""

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

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
    rng = key_rng(state.key)
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


def spec_for(spec, X):
    """``spec`` with ``missing=True`` when X holds NaN, for models whose spec
    has that field (their loss then masks the missing entries); otherwise
    ``spec`` itself, so that complete data run the unmasked graph.

    Parameters
    ----------
    spec : NamedTuple
    X : ndarray

    Returns
    -------
    spec : NamedTuple
    """
    if "missing" in getattr(spec, "_fields", ()) and np.isnan(X).any():
        return spec._replace(missing=True)
    return spec


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


def key_rng(key):
    """A NumPy generator seeded by a JAX key (host-side shuffles that follow the seed)."""
    return np.random.default_rng(np.asarray(jax.random.key_data(key)).astype(np.uint32))
