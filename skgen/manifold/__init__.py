"""Manifold learning (issue 4, in progress): the shared barycentric-weights kernel.

LLE and TSNE are not implemented yet; see the open issue.
"""
