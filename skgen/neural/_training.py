"""The one training loop of the neural estimators: BaseNeural.

``fit`` and ``partial_fit`` run epochs of the jitted steps (``_steps.py``) over
the training rows (``_data.py``, on the row source) on a device mesh
(``_devices.py``), with scikit-learn's MLP stopping rule (:class:`_Stopping`);
``transform`` and ``inverse_transform`` map the model's encoder and decoder over
fixed-shape row blocks (``_inference.py``).
"""

import numbers
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils import check_X, progress_bar
from ..utils._rows import row_source
from ..utils._validation import (_peak, check_observed_rows, magnitude_limits,
                                 power_of_two_scale)
from ._data import TrainingData
from ._devices import device_mesh, mesh_shardings, prng_key, resolve_device, to_numpy
from ._inference import BLOCK_ROWS, as_output, map_fixed_rows, row_keys
from ._steps import MODELS, TrainState, make_optimizer, spec_for, with_rates

__all__ = ["BaseNeural"]


class _Stopping:
    """scikit-learn's MLP stopping rule, epoch by epoch.

    Without validation: stop after ``n_iter_no_change`` epochs whose training
    loss did not fall below the best by more than ``tol``. With validation
    (early stopping): the same on the validation score, keeping the parameters
    of the best-scoring epoch. Updates the estimator's ``validation_scores_``,
    ``best_validation_score_`` and ``best_loss_``.
    """

    def __init__(self, estimator, params, validating):
        self.estimator, self.validating = estimator, validating
        self.best_params = params
        self.no_improve = 0

    def update(self, loss, score, params):
        """Record an epoch's loss (and validation score); True means stop."""
        est, tol = self.estimator, self.estimator.tol
        if self.validating:
            est.validation_scores_.append(score)
            self.no_improve = 0 if score > est.best_validation_score_ + tol else \
                self.no_improve + 1
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                self.best_params = params
        else:
            self.no_improve = 0 if loss < est.best_loss_ - tol else self.no_improve + 1
        est.best_loss_ = min(est.best_loss_, loss)
        return self.no_improve >= est.n_iter_no_change


class BaseNeural(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """fit / partial_fit / early stopping shared by DenoisingAE and VAE.

    Subclasses provide ``_spec()`` (the static, hashable architecture),
    ``_hyper()`` (the numeric hyperparameters the loss reads, traced),
    ``_validate_values(X)`` (range checks), ``_encode_batch`` and
    ``_decode_batch`` (the jitted encoder and decoder mean, for ``transform``
    and ``inverse_transform``) and the model-specific methods. Training
    parameters follow scikit-learn's MLPRegressor.
    """

    _training_constraints = {
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions({"relu", "tanh", "logistic", "identity"})],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None,
                                                      closed="left")],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "device": [StrOptions({"auto", "cpu", "gpu"})],
        "clip_norm": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_devices": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None,
                                                     closed="left")],
    }

    # ------------------------------------------------------------ helpers
    def _hidden(self):
        raw = np.atleast_1d(np.asarray(self.hidden_layer_sizes, dtype=object))
        if raw.ndim != 1 or any(
            isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1
            for h in raw
        ):
            raise ValueError(
                f"hidden_layer_sizes must be a sequence of positive integers, got "
                f"{self.hidden_layer_sizes!r}"
            )
        return tuple(int(h) for h in raw)

    def _check_input(self, X, reset):
        """X checked, rescaled by ``data_scale_`` (set here when ``reset``), float32.

        The networks compute in float32 on X times a power of two (exact) that
        brings the training data's largest magnitude into (0.5, 1]: pixels
        0-255, 1e-17 or 1e30 units train the same network. A row is refused
        only when, rescaled, its squared norm would overflow float32.
        """
        return self._scaled_input(check_X(self, X, reset=reset, magnitude_dtype=False,
                                          ensure_all_finite="allow-nan"), reset)

    def _checked_values(self, X):
        """``_validate_values`` as a row source's ``prepare`` (returns X)."""
        check_observed_rows(X)
        self._validate_values(X)
        return X

    def _scaled_input(self, X, reset=False):
        """The value checks and rescaling of ``_check_input`` on validated rows
        (also each chunk of a dask array given to a fitted model)."""
        check_observed_rows(X)
        self._validate_values(X)
        self._check_units(X)
        if reset:
            self._set_scale(X)
        scale = self.data_scale_
        peak = _peak(X)
        high, _ = magnitude_limits(X.shape, np.float32)
        if peak * scale > high:
            raise ValueError(
                f"X holds values up to {peak:.3g} in absolute value; this model, "
                f"fitted on data of magnitude about {0.5 / scale:.3g} to "
                f"{1 / scale:.3g}, computes in float32 and accepts at most "
                f"{high / scale:.3g} for rows of {X.shape[1]} features. Rescale X "
                "as the training data."
            )
        if scale != 1.0:
            X = X * scale
        return np.ascontiguousarray(X, dtype=np.float32)

    def _scale_free(self):
        """True when the likelihood needs X in [0, 1] as given (no rescaling)."""
        return False

    def _check_units(self, X):
        """Refuse X whose results cannot be represented in its own units.

        Outputs (reconstructions, samples) may exceed the training data's
        magnitude a little: X must leave float64 2^16 of headroom (about
        2.7e303). Subclasses whose scores are squared units check more.
        """
        peak = _peak(X)
        limit = float(np.finfo(np.float64).max) * 2.0**-16
        if peak > limit:
            raise ValueError(
                f"X holds values up to {peak:.3g} in absolute value: the model's "
                f"outputs in these units would overflow float64 (limit {limit:.3g}). "
                "Rescale X, e.g. divide it by its largest absolute value."
            )
        if 0.0 < peak < 2.0**-1000:
            raise ValueError(
                f"X holds values no larger than {peak:.3g} in absolute value: too "
                "close to float64's smallest numbers to be rescaled exactly (limit "
                f"{2.0**-1000:.3g}). Rescale X, e.g. divide it by its largest absolute "
                "value."
            )

    def _set_scale(self, X):
        """``data_scale_``: 2^-e with max |X| 2^-e in (0.5, 1] (1 for [0, 1] data)."""
        if self._scale_free():
            self.data_scale_ = 1.0
            return
        # power_of_two_scale brings the peak into [1, 2); halve unless it is 1.
        peak = _peak(X)
        scale = power_of_two_scale(X, peak)
        self.data_scale_ = scale if peak * scale <= 1.0 else scale / 2

    def _unscale(self, X):
        """Network outputs in X's units: float32, or float64 where X's units
        exceed float32's range (a model of data at 1e150)."""
        scale = self.data_scale_
        return X if scale == 1.0 else as_output(np.asarray(X, dtype=np.float64) / scale)

    def _log_jacobian(self, X=None):
        """log |d(X scaled) / dX| per sample: n_features log data_scale_ (nats),
        or, given rows X with missing entries, their observed count times it."""
        if X is None or not np.isnan(X).any():
            return self.n_features_in_ * float(np.log(self.data_scale_))
        return (~np.isnan(X)).sum(axis=1) * float(np.log(self.data_scale_))

    def _fill_missing(self, X, rng=None):
        """X with its NaN replaced from the model's p(x_m | x_o), for
        :class:`skgen.GenerativeImputer`.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Validated rows in the training data's units, NaN where missing.
        rng : numpy.random.Generator or None
            None: the model's estimate of E[x_m | x_o]; a generator: a draw
            from p(x_m | x_o) (multiple imputation), where the model has one.

        Returns
        -------
        filled : ndarray of shape (n_samples, n_features)
            Observed entries unchanged.

        Raises
        ------
        ValueError
            As ``transform`` on bad values; with ``rng`` for a model without a
            posterior to draw from.
        """
        check_is_fitted(self, "params_")
        observed = ~np.isnan(X)
        if observed.all():
            return X
        self._ensure_device()
        spec = spec_for(self._spec(), X)
        filled = self._unscale(self._fill_scaled(spec, self._scaled_input(X), rng))
        return np.where(observed, X, filled)

    def _fill_scaled(self, spec, X, rng):
        """The missing entries of rescaled float32 rows X (NaN), in the
        networks' units: subclasses."""
        raise NotImplementedError

    def _device_array(self, X):
        return jax.device_put(jnp.asarray(X), self._device)

    def _device_params(self):
        self._ensure_device()  # a copy (a lazy result's snapshot) resolves it again
        return jax.device_put(self.params_, self._device)

    def _kl_weight(self, epoch):
        return 1.0

    def _hyper(self):
        """The model's numeric hyperparameters read by its loss (traced)."""
        return {}

    def _hyper_tree(self, kl_weight=1.0):
        """``_hyper()`` and the KL weight as float32 scalars: jit traces them."""
        values = {**self._hyper(), "kl_weight": kl_weight}
        return {name: jnp.asarray(value, jnp.float32) for name, value in values.items()}

    def _batch_size(self):
        # MLPRegressor's 'auto' is min(200, n); small data is padded to 200 rows
        # with weight-0 rows instead (see run_epoch), the same steps.
        return 200 if self.batch_size == "auto" else int(self.batch_size)

    # ------------------------------------------------------------- fitting
    def fit(self, X, y=None):
        """Train on ``X`` for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Training data (float32 on the device). A dask array is streamed:
            every epoch visits its row chunks in a random order, shuffles rows
            within windows of two chunks and loads the next window while the
            current one trains; early stopping holds out whole chunks; the
            decoder's starting bias (and DenoisingAE's ``feature_range_``) come
            from a uniform sample of 20,000 rows.
        y : None
            Ignored.

        Returns
        -------
        self : estimator
            The fitted estimator.

        Raises
        ------
        ValueError
            On NaN/inf (in a dask chunk: naming it; the parameters from
            before the fit are kept), values out of the range the likelihood
            or loss needs, ``device='gpu'`` without a GPU, ``n_devices`` larger
            than the devices JAX sees, a dask array with unknown chunk sizes, or
            a training loss that becomes NaN/inf (the parameters of the last
            finite epoch are kept).

        Warns
        -----
        ConvergenceWarning
            When ``max_iter`` epochs end before the stopping rule is met.
        """
        self._validate_params()
        return self._fit(X, incremental=False)

    def partial_fit(self, X, y=None):
        """One epoch on ``X``, starting from the current parameters if fitted.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            As in :meth:`fit`.
        y : None
            Ignored.

        Returns
        -------
        self : estimator

        Raises
        ------
        ValueError
            As ``fit``, and when ``X`` has a different number of features than
            the data seen before.
        """
        if not hasattr(self, "params_"):
            self._validate_params()
        return self._fit(X, incremental=True)

    def _fit(self, X, incremental):
        first = not hasattr(self, "params_")
        fresh = first or not (incremental or self.warm_start)
        data = TrainingData(self, X, reset=fresh)
        if data.n_samples < 2:
            raise ValueError(f"n_samples={data.n_samples}: at least 2 samples are needed")
        self._mesh = device_mesh(self.device, self.n_devices)
        self._device = self._mesh.devices.flat[0]
        replicated, sharding = mesh_shardings(self._mesh)
        spec = self._spec()
        _, init_fn = MODELS[spec.model]
        optimizer = make_optimizer(float(self.learning_rate_init), float(self.clip_norm))
        if fresh:
            key = prng_key(self.random_state)
            key, init_key = jax.random.split(key)
            params = init_fn(spec, init_key, data.n_features)
            params = self._adapt_init(params, data.init_rows())
            opt_state = optimizer.init(params)
            self.loss_curve_ = []
            self.validation_scores_ = [] if self.early_stopping else None
            self.best_loss_ = np.inf
            self.best_validation_score_ = -np.inf if self.early_stopping else None
            self.n_iter_ = 0
        else:
            key = jnp.asarray(self._key)
            params = self.params_
            # The current learning_rate_init and clip_norm, not those of the last fit.
            opt_state = with_rates(self._opt_state, self.learning_rate_init, self.clip_norm)
        # Parameters and optimiser state replicated on every device of the mesh.
        state = jax.device_put(TrainState(params, opt_state, key), replicated)

        validation = None
        if self.early_stopping and not incremental:
            validation = data.split(self.validation_fraction,
                                    int(jax.random.randint(key, (), 0, 2**31 - 1)))
        batch_size = self._batch_size()
        epochs = 1 if incremental else self.max_iter
        stopping = _Stopping(self, state.params, validation is not None)
        bar = progress_bar(total=epochs, desc=type(self).__name__,
                           disable=None if self.verbose else True)
        converged = False
        with bar:
            for _ in range(epochs):
                previous = state
                state, loss = data.epoch(spec, batch_size, state,
                                         self._hyper_tree(self._kl_weight(self.n_iter_)),
                                         replicated, sharding)
                loss = float(loss)  # the epoch's one host sync
                if not np.isfinite(loss):
                    self._store(previous)
                    raise ValueError(
                        f"the training loss became {loss} at epoch {self.n_iter_ + 1}; "
                        "the parameters of the last finite epoch are kept. Lower "
                        "learning_rate_init or clip_norm, or check the data scale."
                    )
                self.n_iter_ += 1
                self.loss_curve_.append(loss)
                bar.update()
                bar.set_postfix(loss=f"{loss:.4g}")
                score = None
                if validation is not None:
                    val_key = jax.random.fold_in(state.key, 1)
                    score = -validation.mean_loss(spec, state.params, val_key, replicated,
                                                  self._hyper_tree())
                if stopping.update(loss, score, state.params) and not incremental:
                    converged = True
                    break
        if validation is not None:
            state = TrainState(stopping.best_params, state.opt_state, state.key)
        self._store(state)
        if not incremental and not converged and self.max_iter > 1:
            warnings.warn(
                f"{type(self).__name__}: max_iter={self.max_iter} epochs reached and "
                "the optimisation has not converged yet", ConvergenceWarning,
            )
        self._after_fit(data.init_rows())
        return self

    def _store(self, state):
        self.params_ = to_numpy(state.params)
        self._opt_state = to_numpy(state.opt_state)
        self._key = np.asarray(state.key)

    def _adapt_init(self, params, X):
        return params

    def _after_fit(self, X):
        pass

    def _fitted_rows(self, X):
        """The row source of data X for a fitted model: rows checked, rescaled
        by ``data_scale_`` and float32 (each dask chunk as it is read)."""
        check_is_fitted(self, "params_")
        rows = row_source(self, X, reset=False, magnitude=False, allow_nan=True,
                          check=lambda X: self._check_input(X, reset=False),
                          prepare=self._scaled_input)
        self._ensure_device()
        return rows

    def _code_rows(self, X):
        """The row source of latent codes for ``inverse_transform``."""
        check_is_fitted(self, "params_")
        as_codes = lambda Z: check_array(Z, dtype=np.float32)  # noqa: E731
        rows = row_source(None, X, reset=False, magnitude=False, check=as_codes,
                          prepare=as_codes)
        if rows.n_features != self.n_components:
            raise ValueError(
                f"X has {rows.n_features} columns; expected n_components={self.n_components}"
            )
        self._ensure_device()
        return rows

    def _map_rows(self, X, fn, key, values_per_row=1):
        """``fn(X_chunk, keys) -> (chunk,)`` over row chunks of X, with the
        per-row keys of :func:`row_keys`; chunks of at most 1024 rows and about
        4M values, all of one shape (see :func:`map_fixed_rows`).

        Returns
        -------
        out : ndarray of shape (n_samples,), float64
        """
        rows = max(1, min(BLOCK_ROWS, (1 << 22) // (values_per_row * max(X.shape[1], 1))))
        out = map_fixed_rows(lambda Xb: fn(Xb, row_keys(key, Xb)), X, rows)
        return out.astype(np.float64, copy=False)

    # ------------------------------------------------------------ inference
    def transform(self, X):
        """The codes of X: the encoder's output (the posterior mean for the VAE).

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components), float32
            A lazy dask array, chunk-aligned, for a dask X.

        Raises
        ------
        ValueError
            On NaN/inf, out-of-range values, or a different feature count.
        """
        return self._fitted_rows(X).map(self._encode_rows, n_columns=self.n_components,
                                        dtype=np.float32)

    def _encode_rows(self, X):
        spec, params = spec_for(self._spec(), X), self._device_params()
        return map_fixed_rows(lambda Xb: self._encode_batch(spec, params, Xb), X)

    def inverse_transform(self, X):
        """Decode latent codes: the decoder's mean, in the units of X.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_components)
            Latent codes.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            float32 (float64 where X's units exceed float32's range); the
            sigmoid output for Bernoulli / cross-entropy models. Lazy for dask
            codes.
        """
        return self._code_rows(X).map(self._decode_rows, n_columns=self.n_features_in_,
                                      dtype=np.float32)

    def _decode_rows(self, Z):
        spec, params = self._spec(), self._device_params()
        return self._unscale(map_fixed_rows(lambda Zb: self._decode_batch(spec, params, Zb),
                                            Z))

    def _ensure_device(self):
        if not hasattr(self, "_device"):
            self._device = resolve_device(self.device, fitted=True)

    @property
    def _n_features_out(self):
        """Number of output columns; undefined (AttributeError) before ``fit``."""
        check_is_fitted(self, "params_")
        return self.n_components

    def __getstate__(self):
        state = self.__dict__.copy()
        # Devices and meshes do not pickle; resolved again on use.
        state.pop("_device", None)
        state.pop("_mesh", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.allow_nan = True
        return tags
