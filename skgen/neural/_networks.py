"""Multi-layer perceptrons as pure JAX functions: parameters are pytrees.

``mlp_init(key, sizes)`` returns a list of ``{"w": (fan_in, fan_out), "b":
(fan_out,)}`` layers; ``mlp_apply(params, x, activation)`` runs them, with the
activation between layers and none after the last. Initialisation is
scikit-learn's MLP rule (Glorot & Bengio 2010): uniform in +-sqrt(6 / (fan_in +
fan_out)), or +-sqrt(2 / (fan_in + fan_out)) for the logistic activation.
"""

import jax
import jax.numpy as jnp
import numpy as np

ACTIVATIONS = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "logistic": jax.nn.sigmoid,
    "identity": lambda x: x,
}


def mlp_init(key, sizes, activation="relu", dtype=jnp.float32):
    """Parameters of an MLP with layer widths ``sizes``.

    Parameters
    ----------
    key : jax.Array
        PRNG key (seeds the NumPy generator that draws the weights).
    sizes : sequence of int
        Widths, input first: (d_in, h_1, ..., d_out).
    activation : str, default='relu'
        Selects the initialisation gain (see the module docstring).
    dtype : dtype, default=float32

    Returns
    -------
    params : list of dict
        One ``{"w": (sizes[i], sizes[i + 1]), "b": (sizes[i + 1],)}`` per layer;
        biases start at zero.
    """
    factor = 2.0 if activation == "logistic" else 6.0
    # Drawn by NumPy from a seed taken off the key: the same weights for the same
    # key, without compiling a JAX sampler for every new layer shape.
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).astype(np.uint32))
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = (factor / (fan_in + fan_out)) ** 0.5
        w = rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(dtype)
        params.append({"w": jnp.asarray(w), "b": jnp.asarray(np.zeros(fan_out, dtype))})
    return params


def mlp_apply(params, x, activation="relu"):
    """Run an MLP: affine layers with ``activation`` between them.

    Parameters
    ----------
    params : list of dict
        As returned by :func:`mlp_init`.
    x : jax.Array of shape (..., d_in)
    activation : {'relu', 'tanh', 'logistic', 'identity'}, default='relu'

    Returns
    -------
    y : jax.Array of shape (..., d_out)
        Output of the last affine layer (no activation).
    """
    act = ACTIVATIONS[activation]
    for layer in params[:-1]:
        x = act(x @ layer["w"] + layer["b"])
    last = params[-1]
    return x @ last["w"] + last["b"]
