"""Imputation of missing values by a generative model."""

from ._generative import GenerativeImputer

__all__ = ["GenerativeImputer"]
