"""Manifold learning: locally linear embedding and t-SNE."""

from ._lle import LLE, locally_linear_embedding
from ._tsne import TSNE
from ._tsne_optimise import kl_divergence

__all__ = ["LLE", "TSNE", "kl_divergence", "locally_linear_embedding"]
