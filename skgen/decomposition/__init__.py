"""Linear decompositions: PCA with its probabilistic model, sparse coding and
dictionary learning."""

from ._pca import PCA
from ._dict_learning import DictionaryLearning
from ._minibatch_dict_learning import MiniBatchDictionaryLearning
from ._sparse_coding import SparseCoder
from ._sparse_encode import sparse_encode

__all__ = [
    "PCA", "SparseCoder", "DictionaryLearning", "MiniBatchDictionaryLearning",
    "sparse_encode",
]
