"""Manifold learning: locally linear embedding and t-SNE."""

from ._lle import LLE

__all__ = ["LLE"]
