"""Mixture models fitted by expectation-maximisation.

``GaussianMixture`` is ``GaussianMixtureEM`` under scikit-learn's name, so that
``from sklearn.mixture import GaussianMixture`` becomes
``from skgen.mixture import GaussianMixture`` and nothing else changes.
"""

from ._base import BaseMixture
from ._bernoulli import BernoulliMixture
from ._gaussian import GaussianMixtureEM

GaussianMixture = GaussianMixtureEM

__all__ = ["BaseMixture", "GaussianMixtureEM", "BernoulliMixture", "GaussianMixture"]
