"""GenerativeImputer: missing entries filled from a generative model's conditional.

A model fitted to incomplete data by maximising the likelihood of the observed
entries (EM with the missing entries marginalised) gives, for each row, the
distribution of its missing entries given its observed ones, p(x_m | x_o). The
imputer fills each missing entry with that distribution's mean, or with a draw
from it (``sample_posterior=True``: multiple imputation, Rubin 1987). With the
default model, one full-covariance Gaussian, this is the classical EM for the
multivariate normal with missing data (Dempster, Laird & Rubin 1977, section
4.1.3; Little & Rubin 2019, *Statistical Analysis with Missing Data*, ch. 11).
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.impute import MissingIndicator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..utils import check_X
from ..utils._rows import row_source

__all__ = ["GenerativeImputer"]


class GenerativeImputer(TransformerMixin, BaseEstimator):
    """Fill missing values (NaN) from a generative model's p(x_m | x_o).

    A scikit-learn transformer in the conventions of ``IterativeImputer``: it
    fits a clone of ``estimator`` on X with its NaN (the model marginalises
    them exactly), then ``transform`` replaces each missing entry by its
    conditional mean given the row's observed entries, or by a draw from the
    conditional distribution.

    Parameters
    ----------
    estimator : estimator or None, default=None
        A generative model fitted to data with NaN by marginalising them:
        :class:`skgen.GaussianMixtureEM`, :class:`skgen.BernoulliMixture` or
        :class:`skgen.PCA` (probabilistic PCA), whose conditionals are exact;
        :class:`skgen.VAE` (importance-weighted estimate of the conditional,
        Mattei & Frellsen 2019) or :class:`skgen.DenoisingAE` (its
        reconstruction of the zero-filled row; no draws). None: a single
        full-covariance Gaussian, ``GaussianMixtureEM(n_components=1)``.
    sample_posterior : bool, default=False
        Draw each row's missing entries from p(x_m | x_o) (for a mixture: a
        component from p(k | x_o), then its Gaussian conditional; for a VAE:
        a posterior draw by importance resampling, then p(x_m | z)) instead of
        taking the conditional mean (refused for a DenoisingAE). Repeated transforms with different
        ``random_state`` give multiple imputations.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws (with ``sample_posterior``; on a dask array every
        chunk's draws start from this seed).
    add_indicator : bool, default=False
        Append scikit-learn's ``MissingIndicator`` columns (features with a
        missing value in ``fit``) to the output.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone.
    indicator_ : sklearn.impute.MissingIndicator or None
        With ``add_indicator``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        When X has string column names.

    Raises
    ------
    ValueError
        In ``fit`` or ``transform``: on infinity, a row with no observed
        entry, a feature count different from ``fit``'s, or an estimator that
        cannot fill missing entries.

    References
    ----------
    Dempster, Laird & Rubin (1977), "Maximum likelihood from incomplete data via
    the EM algorithm", JRSS B 39(1), section 4.1.3; Ghahramani & Jordan (1994),
    "Supervised learning from incomplete data via an EM approach", NIPS 6
    (mixtures); Mattei & Frellsen (2019), "MIWAE: Deep generative modelling and
    imputation of incomplete data sets", ICML, section 3.3 (VAE); Rubin (1987), *Multiple Imputation for Nonresponse in Surveys*.

    Examples
    --------
    >>> import numpy as np
    >>> from skgen import GenerativeImputer
    >>> X = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 6.1], [4.0, 8.0]])
    >>> GenerativeImputer().fit_transform(X).round(1)[1]
    array([2. , 4. ])
    """

    _parameter_constraints = {
        "estimator": [None, object],
        "sample_posterior": ["boolean"],
        "random_state": ["random_state"],
        "add_indicator": ["boolean"],
    }

    def __init__(self, estimator=None, *, sample_posterior=False, random_state=None,
                 add_indicator=False):
        self.estimator = estimator
        self.sample_posterior = sample_posterior
        self.random_state = random_state
        self.add_indicator = add_indicator

    def _check(self, X, reset):
        return check_X(self, X, reset=reset, ensure_all_finite="allow-nan")

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the generative model on X, NaN marking missing entries.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        self : GenerativeImputer
        """
        if self.estimator is None:
            from ..mixture import GaussianMixtureEM

            estimator = GaussianMixtureEM(n_components=1)
        else:
            estimator = clone(self.estimator)
        if not hasattr(estimator, "_fill_missing"):
            raise ValueError(
                f"estimator={type(estimator).__name__} cannot fill missing entries; use "
                "skgen.GaussianMixtureEM, BernoulliMixture, PCA, VAE or DenoisingAE (the "
                "default is one full-covariance Gaussian)"
            )
        rows = row_source(self, X, reset=True, check=lambda X: self._check(X, True),
                          allow_nan=True, ensure_min_samples=2)
        self.estimator_ = estimator.fit(rows.X)
        self.indicator_ = None
        if self.add_indicator:
            # On a dask X, the features with a missing value: one pass.
            seen = rows.X
            if rows.lazy:
                # One row standing for the columns that have a missing value.
                seen = np.where(np.isnan(rows.X).any(axis=0).compute(), np.nan, 0.0)[None]
            self.indicator_ = MissingIndicator(error_on_new=False).fit(seen)
        return self

    def transform(self, X):
        """Fill the missing entries of X.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features) or (n_samples, n_features + n_indicators)
            Observed entries unchanged, missing ones filled (lazy for a dask X);
            the indicator columns last with ``add_indicator``.
        """
        check_is_fitted(self)
        rows = row_source(self, X, reset=False, check=lambda X: self._check(X, False),
                          allow_nan=True)
        rng = (np.random.default_rng(check_random_state(self.random_state).randint(2**31))
               if self.sample_posterior else None)
        width = rows.n_features + (0 if self.indicator_ is None else
                                   self.indicator_.features_.shape[0])
        return rows.map(self._transform_rows, rng, n_columns=width, dtype=rows.dtype)

    def _transform_rows(self, rng, X):
        filled = self.estimator_._fill_missing(X, rng).astype(X.dtype, copy=False)
        if self.indicator_ is None:
            return filled
        return np.hstack([filled, self.indicator_.transform(X).astype(X.dtype)])

    def score(self, X, y=None):
        """Mean log-likelihood of the observed entries of X under the fitted
        model, nats per row (higher is better: GridSearchCV tunes the model,
        e.g. its number of components, on held-out rows with it).

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        return self.estimator_.score(X)

    def get_feature_names_out(self, input_features=None):
        """Input feature names, then ``missingindicator_<name>`` for the indicators.

        Parameters
        ----------
        input_features : array-like of str or None

        Returns
        -------
        names : ndarray of str
        """
        from sklearn.utils.validation import _check_feature_names_in

        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        if self.indicator_ is None:
            return names
        return np.concatenate([names, self.indicator_.get_feature_names_out(names)])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
