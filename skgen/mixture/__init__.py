"""Mixture models fitted by expectation-maximisation."""

from ._base import BaseMixture
from ._bernoulli import BernoulliMixture
from ._gaussian import GaussianMixtureEM

__all__ = ["BaseMixture", "GaussianMixtureEM", "BernoulliMixture"]
