"""skgen: scikit-learn-compatible unsupervised and generative models.

Every public estimator is importable from the top level, lazily (through
``__getattr__``): ``import skgen`` loads neither scikit-learn, numba nor JAX, so
the ``skgen`` command answers ``--help`` at once; ``from skgen import PCA`` loads
what PCA needs.
"""

import importlib

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
    "GenerativeImputer",
]

# name -> the module that defines it.
_LAZY = {
    "GaussianMixtureEM": ".mixture",
    "BernoulliMixture": ".mixture",
    "PCA": ".decomposition",
    "SparseCoder": ".decomposition",
    "DictionaryLearning": ".decomposition",
    "MiniBatchDictionaryLearning": ".decomposition",
    "LLE": ".manifold",
    "TSNE": ".manifold",
    "DenoisingAE": ".neural",
    "VAE": ".neural",
    "GenerativeImputer": ".impute",
}

__all__ = [*ESTIMATORS, "__version__"]


_SUBMODULES = ("compare", "datasets", "decomposition", "impute", "manifold", "mixture",
               "neural", "utils")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module("." + name, __name__)
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'skgen' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))
