"""Denoising autoencoder (Vincent et al. 2008) in JAX, with the generative Markov
chain of Bengio, Yao, Alain & Vincent (2013).

Training corrupts x into x~ ~ C(x~ | x) and learns to reconstruct x from x~ with
squared error or cross-entropy (Vincent et al. 2008, section 2.3). The trained
reconstruction defines P(x | x~); alternating x~ ~ C(x~ | x) and x ~ P(x | x~)
is a Markov chain whose stationary distribution estimates the data
distribution (Bengio et al. 2013, algorithm 1).
"""

import numbers
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils import check_magnitude, check_positive_int
from ._networks import mlp_apply, mlp_init
from ..utils._rows import mean_score
from ._devices import prng_key
from ._inference import map_fixed_rows
from ._steps import register_model
from ._training import BaseNeural


class DAESpec(NamedTuple):
    """A denoising autoencoder's architecture (the jit cache key). The noise
    level and the learning rate are traced, not part of the key."""

    model: str
    n_components: int
    hidden: tuple
    activation: str
    loss: str
    corruption: str


def dae_init(spec, key, n_features):
    """Encoder d -> hidden -> code, decoder code -> reversed hidden -> d."""
    k_enc, k_dec = jax.random.split(key)
    return {
        "enc": mlp_init(k_enc, (n_features, *spec.hidden, spec.n_components),
                        spec.activation),
        "dec": mlp_init(k_dec, (spec.n_components, *spec.hidden[::-1], n_features),
                        spec.activation),
    }


def corrupt(spec, key, X, noise_level):
    """x~ ~ C(x~ | x): additive Gaussian noise of std ``noise_level``; masking
    (each feature zeroed with probability ``noise_level``); or salt-and-pepper
    (each feature set to 0 or 1, equally likely, with probability
    ``noise_level``)."""
    if spec.corruption == "gaussian":
        return X + noise_level * jax.random.normal(key, X.shape, X.dtype)
    k1, k2 = jax.random.split(key)
    hit = jax.random.bernoulli(k1, noise_level, X.shape)
    if spec.corruption == "masking":
        return jnp.where(hit, 0.0, X).astype(X.dtype)
    salt = jax.random.bernoulli(k2, 0.5, X.shape).astype(X.dtype)
    return jnp.where(hit, salt, X)


def reconstruct(spec, params, X_tilde):
    """Decoder output from a (corrupted) input: logits for 'bce', values for
    'mse'. Missing entries (NaN) are fed as 0."""
    code = mlp_apply(params["enc"], jnp.where(jnp.isnan(X_tilde), 0.0, X_tilde),
                     spec.activation)
    return mlp_apply(params["dec"], code, spec.activation)


def reconstruction_loss(spec, X, out):
    """Per-row loss of ``out`` against clean X, averaged over the observed
    features (a missing entry, NaN, is not reconstructed)."""
    observed = ~jnp.isnan(X)
    X = jnp.where(observed, X, 0.0)
    term = jax.nn.softplus(out) - X * out if spec.loss == "bce" else (X - out) ** 2
    count = jnp.sum(observed, axis=-1).astype(term.dtype)
    return jnp.sum(jnp.where(observed, term, 0.0), axis=-1) / jnp.maximum(count, 1.0)


def dae_loss(spec, params, X, key, hyper):
    """Denoising loss per row: reconstruct clean X from C(X)."""
    X_tilde = corrupt(spec, key, X, hyper["noise_level"])
    return reconstruction_loss(spec, X, reconstruct(spec, params, X_tilde))


register_model("dae", dae_loss, dae_init)


@partial(jax.jit, static_argnames=("spec",))
def _score_rows(spec, params, X, keys, noise_level):
    X_tilde = jax.vmap(lambda k, x: corrupt(spec, k, x, noise_level))(keys, X)
    return reconstruction_loss(spec, X, reconstruct(spec, params, X_tilde))


@partial(jax.jit, static_argnames=("spec",))
def _encode(spec, params, X):
    return mlp_apply(params["enc"], jnp.where(jnp.isnan(X), 0.0, X), spec.activation)


@partial(jax.jit, static_argnames=("spec",))
def _decode(spec, params, Z):
    out = mlp_apply(params["dec"], Z, spec.activation)
    return jax.nn.sigmoid(out) if spec.loss == "bce" else out


@partial(jax.jit, static_argnames=("spec", "n_steps"))
def _chain(spec, params, X0, key, sigma, n_steps, noise_level):
    """n_steps of x~ ~ C(x~ | x), x ~ P(x | x~) (Bengio et al. 2013, alg. 1)."""

    def step(x, k):
        k1, k2 = jax.random.split(k)
        out = reconstruct(spec, params, corrupt(spec, k1, x, noise_level))
        if spec.loss == "bce":
            x = jax.random.bernoulli(k2, jax.nn.sigmoid(out)).astype(x.dtype)
        else:
            x = out + sigma * jax.random.normal(k2, out.shape, out.dtype)
        return x, None

    x, _ = jax.lax.scan(step, X0, jax.random.split(key, n_steps))
    return x


class DenoisingAE(BaseNeural):
    """Denoising autoencoder with the Bengio et al. (2013) sampling chain (JAX).

    Parameters
    ----------
    n_components : int, default=32
        Code size.
    hidden_layer_sizes : tuple of int, default=(256,)
        Encoder hidden widths; the decoder mirrors them.
    activation : {'relu', 'tanh', 'logistic', 'identity'}, default='relu'
        Between layers; the code and the output layer are affine.
    corruption : {'gaussian', 'masking', 'salt_and_pepper'}, default='masking'
        C(x~ | x); see ``noise_level``.
    noise_level : float, default=0.25
        Standard deviation ('gaussian') or probability per feature ('masking',
        'salt_and_pepper', which needs noise_level <= 1). The networks see X
        times the power of two ``data_scale_`` that brings the training data's
        largest magnitude into (0.5, 1], so a 'gaussian' std (and the salt
        value 1) is in those units: the same model for pixels 0-255 or 0-1.
    loss : {'mse', 'bce'}, default='mse'
        Mean squared error, or cross-entropy with a sigmoid output ('bce' needs
        X in [0, 1] and is not rescaled); both averaged over features. Scores
        and ``reconstruction_variance_`` are in X's (squared) units.
    batch_size, learning_rate_init, max_iter, tol, early_stopping, \
validation_fraction, n_iter_no_change, warm_start, verbose, random_state, \
device, clip_norm, n_devices
        As :class:`skgen.VAE`.

    Attributes
    ----------
    params_ : dict
        Encoder and decoder layers as NumPy arrays (for X times ``data_scale_``).
    data_scale_ : float
        The power of two the networks' input is X times.
    loss_curve_ : list of float
        Mean training loss per epoch, in the rescaled units.
    validation_scores_ : list of float or None
    best_loss_ : float
    best_validation_score_ : float or None
    n_iter_ : int
    reconstruction_variance_ : float
        Mean squared error of the reconstructions of the training data from
        corrupted inputs: the variance of P(x | x~) for 'mse' sampling.
    feature_range_ : ndarray of shape (2, n_features)
        Per-feature minimum and maximum of the training data (chain starts).
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgen import DenoisingAE
    >>> X = load_digits().data / 16
    >>> dae = DenoisingAE(n_components=8, hidden_layer_sizes=(32,), max_iter=3,
    ...                   random_state=0).fit(X)
    >>> dae.transform(X[:2]).shape
    (2, 8)
    """

    _parameter_constraints = {
        **BaseNeural._training_constraints,
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "corruption": [StrOptions({"gaussian", "masking", "salt_and_pepper"})],
        "noise_level": [Interval(numbers.Real, 0, None, closed="left")],
        "loss": [StrOptions({"mse", "bce"})],
    }

    def __init__(
        self,
        n_components=32,
        *,
        hidden_layer_sizes=(256,),
        activation="relu",
        corruption="masking",
        noise_level=0.25,
        loss="mse",
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=200,
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        warm_start=False,
        verbose=False,
        random_state=None,
        device="auto",
        clip_norm=100.0,
        n_devices="auto",
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.corruption = corruption
        self.noise_level = noise_level
        self.loss = loss
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state
        self.device = device
        self.clip_norm = clip_norm
        self.n_devices = n_devices

    def _spec(self):
        if self.corruption != "gaussian" and self.noise_level > 1:
            raise ValueError(
                f"noise_level={self.noise_level} is a probability for "
                f"corruption={self.corruption!r} and must be at most 1"
            )
        return DAESpec("dae", int(self.n_components), self._hidden(), self.activation,
                       self.loss, self.corruption)

    def _hyper(self):
        return {"noise_level": float(self.noise_level)}

    def _validate_values(self, X):
        if self.loss == "bce" and X.size:
            low, high = np.nanmin(X), np.nanmax(X)
            if low < 0 or high > 1:
                raise ValueError(
                    f"loss='bce' needs X in [0, 1]; found values in [{low:g}, {high:g}]"
                )

    def _scale_free(self):
        return self.loss == "bce"

    def _check_units(self, X):
        # 'mse' scores and reconstruction_variance_ are in squared units of X.
        super()._check_units(X)
        if self.loss == "mse":
            check_magnitude(X, np.float64)

    def _after_fit(self, X):
        # X: the rescaled training rows; both summaries in X's own units.
        low, high = ((np.nanmin(X, axis=0), np.nanmax(X, axis=0)) if np.isnan(X).any()
                     else (X.min(axis=0), X.max(axis=0)))
        self.feature_range_ = self._unscale(np.stack([low, high]))
        self.reconstruction_variance_ = float(
            np.mean(self._score_losses(X)) if self.loss == "mse" else 0.0)

    def _score_losses(self, X):
        """Per-row losses of rescaled rows X, in X's units (squared for 'mse')."""
        spec, params = self._spec(), self._device_params()
        noise = jnp.float32(self.noise_level)
        losses = self._map_rows(
            X, lambda Xb, keys: _score_rows(spec, params, Xb, keys, noise),
            jax.random.PRNGKey(0))
        if self.loss == "mse":
            return losses / self.data_scale_ / self.data_scale_
        return losses

    def _encode_batch(self, spec, params, X):
        """The code of a block of clean (uncorrupted) rescaled rows."""
        return _encode(spec, params, X)

    def _decode_batch(self, spec, params, Z):
        """The reconstruction (sigmoid output for 'bce')."""
        return _decode(spec, params, Z)

    def _fill_scaled(self, spec, X, rng):
        """The reconstruction of the rows fed with their missing entries as 0:
        what the masked loss trained the network to return for them.

        A denoising autoencoder defines no posterior p(x_m | x_o) to draw from
        (its sampler is a Markov chain over whole rows), so ``rng`` is refused."""
        if rng is not None:
            raise ValueError(
                "DenoisingAE has no posterior distribution of the missing entries to "
                "draw from: use GenerativeImputer(sample_posterior=False) with it, or a "
                "VAE or GaussianMixtureEM for multiple imputation"
            )
        params = self._device_params()
        return map_fixed_rows(
            lambda Xb: _decode(spec, params, _encode(spec, params, Xb)), X)

    def score(self, X, y=None):
        """Minus the mean denoising loss: reconstruct clean X from C(X).

        The corruption noise is fixed per row, so repeated calls agree.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
            Minus the mean per-sample loss (mean over features of the squared
            error or cross-entropy); higher is better. A dask X is scored
            chunk by chunk.
        """
        losses = self._fitted_rows(X).map(self._score_losses, dtype=np.float64)
        return -mean_score(losses)

    def sample(self, n_samples=1, n_steps=50, random_state=None):
        """Samples from the generative Markov chain of Bengio et al. (2013).

        Starting from uniform noise within each feature's training range, each
        step corrupts x and draws from the reconstruction distribution P(x |
        x~): Bernoulli(sigmoid) for 'bce', N(reconstruction,
        ``reconstruction_variance_``) for 'mse'.

        Parameters
        ----------
        n_samples : int >= 1, default=1
        n_steps : int >= 1, default=50
            Chain steps.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        X : ndarray of shape (n_samples, n_features), float32
            The chains' states after ``n_steps``.

        Raises
        ------
        ValueError
            If ``n_samples`` or ``n_steps`` is not a positive integer.
        """
        check_is_fitted(self, "params_")
        check_positive_int(n_samples, "n_samples")
        check_positive_int(n_steps, "n_steps")
        rng = check_random_state(random_state)
        scale = self.data_scale_
        lo, hi = self.feature_range_ * scale
        X0 = (lo + (hi - lo) * rng.uniform(size=(n_samples, lo.shape[0])))
        self._ensure_device()
        key = prng_key(rng)
        sigma = float(np.sqrt(self.reconstruction_variance_)) * scale
        return self._unscale(np.asarray(_chain(self._spec(), self._device_params(),
                                               jnp.asarray(X0, jnp.float32), key,
                                               sigma, int(n_steps),
                                               jnp.float32(self.noise_level))))
