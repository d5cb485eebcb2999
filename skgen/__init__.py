"""skgen: scikit-learn-compatible unsupervised and generative models.

Every public estimator is importable from the top level. JAX-backed estimators
are imported lazily (through ``__getattr__``), so ``import skgen`` never loads JAX.
"""

import importlib

from .decomposition import PCA, DictionaryLearning, MiniBatchDictionaryLearning, SparseCoder
from .manifold import LLE, TSNE
from .mixture import BernoulliMixture, GaussianMixtureEM

__version__ = "0.1.0"

# Public estimators; tests/test_common.py checks every one of them.
ESTIMATORS = [
    "GaussianMixtureEM",
    "BernoulliMixture",
    "PCA",
    "SparseCoder",
    "DictionaryLearning",
    "MiniBatchDictionaryLearning",
    "LLE",
    "TSNE",
    "DenoisingAE",
    "VAE",
]

# name -> module, for estimators whose module imports JAX.
_LAZY = {"DenoisingAE": ".neural", "VAE": ".neural"}

__all__ = [*ESTIMATORS, "__version__"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'skgen' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
