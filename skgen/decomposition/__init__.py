"""Linear decompositions: PCA with its probabilistic model, sparse coding and
dictionary learning."""

from ._pca import PCA
from ._sparse_coding import DictionaryLearning, SparseCoder, sparse_encode

__all__ = ["PCA", "SparseCoder", "DictionaryLearning", "sparse_encode"]
