"""JAX-backed neural estimators: DenoisingAE and VAE.

Importing this package imports JAX; ``import skgen`` does not (the classes are
reached lazily through ``skgen.DenoisingAE`` and ``skgen.VAE``).
"""

from ._dae import DenoisingAE
from ._vae import VAE

__all__ = ["DenoisingAE", "VAE"]
