"""Manifold learning: locally linear embedding and t-SNE.

``LocallyLinearEmbedding`` is ``LLE`` under scikit-learn's name, so that
``from sklearn.manifold import LocallyLinearEmbedding`` becomes
``from skgen.manifold import LocallyLinearEmbedding`` and nothing else changes.
"""

from ._lle import LLE, locally_linear_embedding
from ._tsne import TSNE
from ._tsne_optimise import kl_divergence

LocallyLinearEmbedding = LLE

__all__ = ["LLE", "TSNE", "kl_divergence", "locally_linear_embedding",
           "LocallyLinearEmbedding"]
