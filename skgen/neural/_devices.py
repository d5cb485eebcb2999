"""Devices, meshes and random keys of the neural estimators.

Data-parallel training runs on a 1-D ``jax.sharding.Mesh`` (axis 'batch'):
parameters replicated, batches split across devices; one device is the
1-device mesh.
"""

import numbers
import warnings

import jax
import numpy as np
from sklearn.utils import check_random_state

def resolve_device(device, fitted=False):
    """The JAX device for a ``device`` parameter.

    Parameters
    ----------
    device : {'auto', 'cpu', 'gpu'}
        'auto' takes the first GPU JAX sees, else the CPU.
    fitted : bool, default=False
        True for inference with fitted parameters (NumPy arrays that run
        anywhere): 'gpu' without a GPU then falls back to the CPU with a
        warning, so a model trained on a GPU and unpickled on a CPU-only
        machine still transforms, scores and samples.

    Returns
    -------
    device : jax.Device

    Raises
    ------
    ValueError
        For 'gpu' when JAX sees no GPU and ``fitted`` is False (the message
        says how to install the CUDA build).

    Warns
    -----
    UserWarning
        For 'gpu' when JAX sees no GPU and ``fitted`` is True.
    """
    if device in ("auto", "gpu"):
        try:
            gpus = jax.devices("gpu")
        except RuntimeError:
            gpus = []
        if gpus:
            return gpus[0]
        if device == "gpu" and fitted:
            warnings.warn(
                "this model was set to device='gpu' but JAX sees no GPU here; its "
                "fitted parameters run on the CPU instead", UserWarning, stacklevel=4)
        elif device == "gpu":
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
