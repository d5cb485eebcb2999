"""MiniBatchDictionaryLearning: online dictionary learning with scikit-learn's
signature and defaults (the learner itself is :class:`DictionaryLearning`)."""

import numbers

from sklearn.utils._param_validation import Interval

from ._dict_learning import DictionaryLearning

__all__ = ["MiniBatchDictionaryLearning"]


class MiniBatchDictionaryLearning(DictionaryLearning):
    """Online dictionary learning: :class:`DictionaryLearning` with scikit-learn's
    MiniBatchDictionaryLearning signature and defaults.

    The same estimator as ``DictionaryLearning(batch_size=256, tol=1e-3,
    max_no_improvement=10)``: mini-batches of ``batch_size`` rows, the running
    statistics of Mairal et al. (2010), algorithm 1, and scikit-learn's
    stopping rule (a dictionary change of at most ``tol`` per atom, or
    ``max_no_improvement`` steps without a new minimum of the smoothed batch
    cost). ``partial_fit`` takes one step per call. See
    :class:`DictionaryLearning` for the parameters and attributes.

    Parameters
    ----------
    n_components : int or None, default=None
        Atoms; None: n_features.
    alpha : float > 0, default=1
        Sparsity penalty.
    max_iter : int, default=1000
        Epochs at most.
    fit_algorithm : {'lars', 'cd'}, default='lars'
        Lasso solver while learning.
    n_jobs : int or None, default=None
        numba threads (None: the idle cores).
    batch_size : int, default=256
        Rows per mini-batch.
    shuffle : bool, default=True
        Shuffle the rows once before cycling over them.
    dict_init : ndarray of shape (n_components, n_features) or None, default=None
        Initial dictionary; None: randomized SVD of X.
    transform_algorithm, transform_n_nonzero_coefs, transform_alpha, \
verbose, split_sign, random_state, positive_code, positive_dict, \
transform_max_iter, callback
        As :class:`DictionaryLearning`.
    tol : float, default=1e-3
        Stop when the dictionary moves by at most ``tol`` per atom in a step.
    max_no_improvement : int or None, default=10
        Stop after this many steps without improvement of the smoothed cost.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The learned atoms.
    n_iter_ : int
        Epochs begun.
    n_steps_ : int
        Mini-batch steps run.
    error_ : ndarray
        Summed mini-batch objective of each epoch (per step for
        ``partial_fit``).

    See Also
    --------
    sklearn.decomposition.MiniBatchDictionaryLearning : The reference.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgen.decomposition import MiniBatchDictionaryLearning
    >>> X = load_digits().data[:300] / 16
    >>> dl = MiniBatchDictionaryLearning(n_components=16, alpha=0.5,
    ...                                  random_state=0).fit(X)
    >>> dl.components_.shape
    (16, 64)
    """

    _parameter_constraints = {
        **{key: value for key, value in DictionaryLearning._parameter_constraints.items()
           if key != "code_init"},
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    }
    # Not a parameter here (scikit-learn's signature has none); batch code reads it.
    code_init = None

    def __init__(
        self,
        n_components=None,
        *,
        alpha=1,
        max_iter=1000,
        fit_algorithm="lars",
        n_jobs=None,
        batch_size=256,
        shuffle=True,
        dict_init=None,
        transform_algorithm="omp",
        transform_n_nonzero_coefs=None,
        transform_alpha=None,
        verbose=False,
        split_sign=False,
        random_state=None,
        positive_code=False,
        positive_dict=False,
        transform_max_iter=1000,
        callback=None,
        tol=1e-3,
        max_no_improvement=10,
    ):
        self.n_components = n_components
        self.alpha = alpha
        self.max_iter = max_iter
        self.fit_algorithm = fit_algorithm
        self.n_jobs = n_jobs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.dict_init = dict_init
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.verbose = verbose
        self.split_sign = split_sign
        self.random_state = random_state
        self.positive_code = positive_code
        self.positive_dict = positive_dict
        self.transform_max_iter = transform_max_iter
        self.callback = callback
        self.tol = tol
        self.max_no_improvement = max_no_improvement
