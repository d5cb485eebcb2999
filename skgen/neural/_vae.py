"""Variational autoencoder (Kingma & Welling 2014) in JAX.

Generative model p(z) = N(0, I), p(x | z) Bernoulli(sigmoid(f(z))) or
N(f(z), diag sigma^2); amortised Gaussian posterior q(z | x) = N(mu(x),
diag sigma^2(x)). Training maximises the ELBO
E_q[log p(x | z)] - beta * KL(q(z | x) || p(z)) (Kingma & Welling 2014, eq. 10)
with the reparameterization z = mu + sigma * eps and the closed-form KL of their
appendix B. Scoring can use the importance-weighted bound of Burda, Grosse &
Salakhutdinov (2016, eq. 8), which tightens with the number of samples k.
"""

import math
import numbers
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import logsumexp
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils import check_positive_int
from ._networks import mlp_apply, mlp_init
from ..utils._rows import mean_score
from ._inference import as_output, map_fixed_rows, row_keys
from ._steps import register_model, spec_for
from ._training import BaseNeural

_LOG_2PI = math.log(2 * math.pi)
# Floor of a learned log-std, in the rescaled units (X times data_scale_, largest
# magnitude in (0.5, 1]): a constant feature would otherwise drive its variance
# to 0 and the likelihood to +inf, and a near-constant one (MNIST's border
# pixels) ruins a test row with ink there. Chosen by held-out ELBO: VAE(8,
# (256,), batch_size=128, max_iter=10) on 10,000 MNIST training digits, mean
# ELBO of the 10,000 test digits (worst row) for floors 1e-3: 717 (-658,233);
# 3e-3: 954 (-80,283); 1e-2: 1021 (-13,358); 3e-2: 851 (-2,532) nats; PPCA(8):
# 154.
LOG_SIGMA_MIN = math.log(1e-2)
# Bounds of the encoder's log-variance: posterior std between e^-15 and e^10.
LOGVAR_MIN, LOGVAR_MAX = -30.0, 20.0


class VAESpec(NamedTuple):
    """A VAE's architecture (hashable: the jit cache key). Its numbers (beta, a
    fixed sigma, the learning rate) are traced, not part of the key."""

    model: str
    n_components: int
    hidden: tuple
    activation: str
    likelihood: str
    learned_sigma: bool  # Gaussian likelihood: a learned std per dimension
    # The data hold missing entries (NaN): the masked likelihood and a
    # zero-filled encoder input (complete data keep the unmasked graph).
    missing: bool = False


def vae_init(spec, key, n_features):
    """Encoder d -> hidden -> 2L, decoder L -> reversed hidden -> d, and for a
    learned Gaussian variance one log-std per feature (start: 0)."""
    k_enc, k_dec = jax.random.split(key)
    L = spec.n_components
    params = {
        "enc": mlp_init(k_enc, (n_features, *spec.hidden, 2 * L), spec.activation),
        "dec": mlp_init(k_dec, (L, *spec.hidden[::-1], n_features), spec.activation),
    }
    if spec.likelihood == "gaussian" and spec.learned_sigma:
        params["log_sigma"] = jnp.zeros((n_features,), jnp.float32)
    return params


def encode(spec, params, X):
    """Posterior mean and log-variance, each (n, n_components).

    The log-variance is clipped to [LOGVAR_MIN, LOGVAR_MAX] so that exp(logvar)
    stays finite in float32 (it overflows above 88) on inputs far from the
    training data. Missing entries (NaN) are fed as 0 (Mattei & Frellsen 2019).
    """
    if spec.missing:
        X = jnp.where(jnp.isnan(X), 0.0, X)
    h = mlp_apply(params["enc"], X, spec.activation)
    logvar = jnp.clip(h[..., spec.n_components:], LOGVAR_MIN, LOGVAR_MAX)
    return h[..., : spec.n_components], logvar


def decode(spec, params, Z):
    """Decoder output: logits (Bernoulli) or means (Gaussian), (..., d)."""
    return mlp_apply(params["dec"], Z, spec.activation)


def log_likelihood(spec, params, X, out, hyper):
    """log p(x_o | z) summed over the observed features, nats; broadcasts X
    against out. A missing entry (NaN) drops out of the sum (MIWAE, Mattei &
    Frellsen 2019).

    ``hyper['sigma']`` is the fixed std of a Gaussian likelihood without a
    learned one.
    """
    if spec.missing:
        observed = ~jnp.isnan(X)
        X = jnp.where(observed, X, 0.0)
    if spec.likelihood == "bernoulli":
        term = X * out - jax.nn.softplus(out)
    else:
        if spec.learned_sigma:
            log_sigma = jnp.maximum(params["log_sigma"], LOG_SIGMA_MIN)
        else:
            log_sigma = jnp.log(hyper["sigma"])
        r = (X - out) * jnp.exp(-log_sigma)
        term = -0.5 * r * r - log_sigma - 0.5 * _LOG_2PI
    if spec.missing:
        term = jnp.where(observed, term, 0.0)
    return jnp.sum(term, axis=-1)


def gaussian_kl(mu, logvar):
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per row, closed form (nats)."""
    return 0.5 * jnp.sum(mu * mu + jnp.exp(logvar) - 1.0 - logvar, axis=-1)


def vae_loss(spec, params, X, key, hyper):
    """Minus the single-sample ELBO per row, the KL weighted by beta * kl_weight."""
    mu, logvar = encode(spec, params, X)
    eps = jax.random.normal(key, mu.shape, mu.dtype)
    z = mu + jnp.exp(0.5 * logvar) * eps
    rec = log_likelihood(spec, params, X, decode(spec, params, z), hyper)
    return -(rec - hyper["beta"] * hyper["kl_weight"] * gaussian_kl(mu, logvar))


register_model("vae", vae_loss, vae_init)


@partial(jax.jit, static_argnames=("spec",))
def _elbo(spec, params, X, keys, hyper):
    """Single-sample ELBO per row (analytic KL), noise from per-row keys."""
    mu, logvar = encode(spec, params, X)
    eps = jax.vmap(lambda k: jax.random.normal(k, (spec.n_components,)))(keys)
    z = mu + jnp.exp(0.5 * logvar) * eps
    rec = log_likelihood(spec, params, X, decode(spec, params, z), hyper)
    return rec - gaussian_kl(mu, logvar)


@partial(jax.jit, static_argnames=("spec", "k"))
def _log_weights(spec, params, X, keys, k, hyper):
    """log p(x, z_i) - log q(z_i | x) for k posterior draws per row, (n, k)."""
    mu, logvar = encode(spec, params, X)
    eps = jax.vmap(lambda key: jax.random.normal(key, (k, spec.n_components)))(keys)
    z = mu[:, None, :] + jnp.exp(0.5 * logvar)[:, None, :] * eps
    log_px = log_likelihood(spec, params, X[:, None, :], decode(spec, params, z), hyper)
    log_pz = -0.5 * jnp.sum(z * z, axis=-1)
    log_qz = -0.5 * jnp.sum(eps * eps + logvar[:, None, :], axis=-1)
    return log_px + log_pz - log_qz  # the (2 pi) terms cancel


# Posterior draws per row for the importance-weighted imputation.
IMPUTATION_SAMPLES = 100


@partial(jax.jit, static_argnames=("spec", "k"))
def _importance_imputation(spec, params, X, keys, k, hyper):
    """Self-normalised importance sampling of p(x_m | x_o) (MIWAE, Mattei &
    Frellsen 2019, section 3.3): z_l ~ q(z | x_o), l = 1..k, weights
    w_l proportional to p(x_o | z_l) p(z_l) / q(z_l | x_o).

    Returns
    -------
    mean : (n, d), sum_l w_l E[x | z_l] (the decoder means)
    log_w : (n, k), the unnormalised log weights
    z : (n, k, n_components), the draws
    """
    mu, logvar = encode(spec, params, X)
    eps = jax.vmap(lambda key: jax.random.normal(key, (k, spec.n_components)))(keys)
    z = mu[:, None, :] + jnp.exp(0.5 * logvar)[:, None, :] * eps
    out = decode(spec, params, z)
    log_px = log_likelihood(spec, params, X[:, None, :], out, hyper)
    log_w = (log_px - 0.5 * jnp.sum(z * z, axis=-1)
             + 0.5 * jnp.sum(eps * eps + logvar[:, None, :], axis=-1))
    w = jax.nn.softmax(log_w, axis=1)
    means = jax.nn.sigmoid(out) if spec.likelihood == "bernoulli" else out
    return jnp.einsum("nk,nkd->nd", w, means), log_w, z


class VAE(BaseNeural):
    """Variational autoencoder with a Bernoulli or Gaussian decoder (JAX).

    An MLP encoder gives q(z | x) = N(mu(x), diag sigma^2(x)); an MLP decoder
    gives p(x | z). Training maximises the ELBO by Adam on mini-batches, with
    the reparameterization z = mu + sigma * eps (Kingma & Welling 2014). With a
    linear decoder and Gaussian likelihood the model is probabilistic PCA and
    the ELBO is tight at the optimum (Lucas et al. 2019).

    Parameters
    ----------
    n_components : int, default=20
        Latent dimension.
    hidden_layer_sizes : tuple of int, default=(512,)
        Encoder hidden widths; the decoder mirrors them. () gives linear maps.
    activation : {'relu', 'tanh', 'logistic', 'identity'}, default='relu'
    likelihood : {'gaussian', 'bernoulli'}, default='gaussian'
        'gaussian' works on any real X, in any units: the networks see X times
        the power of two ``data_scale_`` that brings the training data's
        largest magnitude into (0.5, 1] (exact), and scores are reported in
        X's units. A learned per-feature variance (its standard deviation
        floored at 1e-2 of that magnitude, the floor of the best held-out ELBO
        on MNIST, so constant features stay finite and near-constant ones do
        not ruin new rows),
        or the fixed ``sigma`` (in those rescaled units). 'bernoulli' needs X in [0, 1] (pixel intensities or
        binary data are the Bernoulli means' targets) and is the usual choice
        for images such as binarized MNIST.
    sigma : float > 0 or None, default=None
        Fixed standard deviation of the Gaussian likelihood; None learns one per
        feature.
    beta : float >= 0, default=1.0
        Weight of the KL term (beta-VAE; 1 is the ELBO).
    kl_warmup : int >= 0, default=0
        Epochs over which the KL weight rises linearly from 1/kl_warmup to 1.
    n_importance_samples : int >= 1, default=1
        k of ``score_samples``: 1 is the ELBO, k > 1 the importance-weighted
        bound (Burda et al. 2016), which is at least the ELBO and grows with k.
    batch_size : int or 'auto', default='auto'
        Mini-batch rows; 'auto' is min(200, n_samples), as MLPRegressor.
    learning_rate_init : float, default=1e-3
        Adam step size.
    max_iter : int, default=200
        Epochs.
    tol : float, default=1e-4
        Improvement (nats per sample) below which an epoch counts as none.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` and stop on its ELBO; keep the best
        parameters.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    warm_start : bool, default=False
        ``fit`` continues from the current parameters.
    verbose : bool, default=False
        tqdm progress bar with the loss (one host sync per epoch).
    random_state : int, RandomState instance or None, default=None
        Seeds the JAX PRNG key (initialisation, batches, noise).
    device : {'auto', 'cpu', 'gpu'}, default='auto'
        'auto' uses a GPU when JAX sees one; 'gpu' without one raises a
        ValueError in ``fit``, while a model fitted on a GPU and unpickled
        where JAX sees none infers on the CPU (with a UserWarning).
    clip_norm : float, default=100.0
        Global gradient-norm clipping before Adam.
    n_devices : 'auto' or int, default='auto'
        Devices of the chosen platform that train data-parallel: each batch is
        split across a 1-D mesh of them (``jax.sharding.NamedSharding`` over
        the batch axis, padded with weight-0 rows to a multiple of their
        number), parameters and optimiser state replicated, gradients
        all-reduced by jit. 'auto': every device (one on a plain CPU).

    Attributes
    ----------
    params_ : dict
        Encoder, decoder (lists of {'w', 'b'} NumPy arrays) and, for a learned
        Gaussian variance, 'log_sigma' (n_features,), all for X times
        ``data_scale_``.
    data_scale_ : float
        The power of two the networks' input is X times (1 for the Bernoulli
        likelihood and for data whose largest magnitude is in (0.5, 1]).
    loss_curve_ : list of float
        Mean training loss (minus the ELBO, nats per sample) per epoch, of X
        times ``data_scale_`` (add ``n_features * log(data_scale_)`` for X's units).
    validation_scores_ : list of float or None
        Validation ELBO per epoch with ``early_stopping``.
    best_loss_ : float
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs run.
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgen import VAE
    >>> X = load_digits().data / 16
    >>> vae = VAE(n_components=2, hidden_layer_sizes=(64,), max_iter=5,
    ...           random_state=0).fit(X)
    >>> vae.transform(X[:3]).shape
    (3, 2)
    """

    _parameter_constraints = {
        **BaseNeural._training_constraints,
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "likelihood": [StrOptions({"bernoulli", "gaussian"})],
        "sigma": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
        "kl_warmup": [Interval(numbers.Integral, 0, None, closed="left")],
        "n_importance_samples": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_components=20,
        *,
        hidden_layer_sizes=(512,),
        activation="relu",
        likelihood="gaussian",
        sigma=None,
        beta=1.0,
        kl_warmup=0,
        n_importance_samples=1,
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
        self.likelihood = likelihood
        self.sigma = sigma
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.n_importance_samples = n_importance_samples
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
        return VAESpec("vae", int(self.n_components), self._hidden(), self.activation,
                       self.likelihood, self.sigma is None)

    def _hyper(self):
        return {"beta": float(self.beta),
                "sigma": 1.0 if self.sigma is None else float(self.sigma)}

    def _validate_values(self, X):
        if self.likelihood == "bernoulli" and X.size:
            low, high = np.nanmin(X), np.nanmax(X)
            if low < 0 or high > 1:
                raise ValueError(
                    "likelihood='bernoulli' needs X in [0, 1]; found values in "
                    f"[{low:g}, {high:g}]"
                )

    def _scale_free(self):
        return self.likelihood == "bernoulli"

    def _kl_weight(self, epoch):
        if self.kl_warmup > 0:
            return min(1.0, (epoch + 1) / self.kl_warmup)
        return 1.0

    def _adapt_init(self, params, X):
        # Start the decoder at the data mean: output bias = logit / value of the
        # per-feature mean, log-std = log of the per-feature std.
        missing = np.isnan(X).any()
        mean = np.nanmean(X, axis=0) if missing else X.mean(axis=0)
        if self.likelihood == "bernoulli":
            p = np.clip(mean, 1e-3, 1 - 1e-3)
            bias = np.log(p) - np.log1p(-p)
        else:
            bias = mean
            if "log_sigma" in params:
                params["log_sigma"] = jnp.asarray(
                    np.log(np.maximum(np.nanstd(X, axis=0) if missing else X.std(axis=0),
                                      np.exp(LOG_SIGMA_MIN))),
                    jnp.float32)
        params["dec"][-1]["b"] = jnp.asarray(bias, jnp.float32)
        return params

    # ------------------------------------------------------------ inference
    def _encode_batch(self, spec, params, X):
        """Posterior means mu(x) of a block of rescaled rows."""
        return _encode_jit(spec, params, X)[0]

    def _decode_batch(self, spec, params, Z):
        """Decoder means: sigmoid(logits) for the Bernoulli decoder, the mean
        for the Gaussian."""
        return _decode_mean(spec, params, Z)

    def _fill_scaled(self, spec, X, rng):
        """E[x_m | x_o] by self-normalised importance sampling over
        ``IMPUTATION_SAMPLES`` posterior draws (MIWAE single imputation), or,
        with ``rng``, sampling importance resampling: one draw z_l chosen by
        its weight, then x_m ~ p(x_m | z_l) (Mattei & Frellsen 2019, 3.3)."""
        params, hyper = self._device_params(), self._hyper_tree()
        k = IMPUTATION_SAMPLES
        key = jax.random.PRNGKey(0 if rng is None else int(rng.integers(2**31)))
        rows = max(1, min(1024, (1 << 22) // (k * X.shape[1])))
        parts = {"mean": [], "log_w": [], "z": []}

        def run(Xb):
            mean, log_w, z = _importance_imputation(spec, params, Xb, row_keys(key, Xb), k,
                                                    hyper)
            parts["log_w"].append(np.asarray(log_w, dtype=np.float64))
            parts["z"].append(np.asarray(z))
            return mean

        mean = map_fixed_rows(run, X, rows)
        if rng is None:
            return mean
        n = X.shape[0]
        log_w = np.concatenate(parts["log_w"])[:n]
        z = np.concatenate(parts["z"])[:n]
        w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
        cumulative = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
        chosen = np.minimum((rng.uniform(size=(n, 1)) > cumulative).sum(axis=1), k - 1)
        means = np.asarray(map_fixed_rows(lambda Zb: _decode_mean(self._spec(), params, Zb),
                                          np.ascontiguousarray(z[np.arange(n), chosen])),
                           dtype=np.float64)
        if self.likelihood == "bernoulli":
            return (rng.uniform(size=means.shape) < means).astype(np.float32)
        std = (np.exp(np.maximum(np.asarray(self.params_["log_sigma"], np.float64),
                                 LOG_SIGMA_MIN))
               if self.sigma is None else float(self.sigma))
        return means + std * rng.standard_normal(means.shape)

    def score_samples(self, X):
        """ELBO, or importance-weighted bound, per sample (nats).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        bound : ndarray of shape (n_samples,), float64
            ``n_importance_samples`` = 1: log p(x | z) - KL(q || p) with one draw
            z ~ q(z | x) (noise fixed per row, so repeated calls agree);
            k > 1: log (1/k) sum_i p(x, z_i) / q(z_i | x) (Burda et al. 2016).
            Both are lower bounds on log p(x) in expectation, in the units
            of X: the networks see X times ``data_scale_``, and the density
            carries the Jacobian, ``n_features * log(data_scale_)``.

        Raises
        ------
        ValueError
            On NaN/inf, out-of-range values, or a different feature count.
        """
        return self._fitted_rows(X).map(self._score_rows, dtype=np.float64)

    def _score_rows(self, X):
        return (self._bound(X, self.n_importance_samples, jax.random.PRNGKey(0))
                + self._log_jacobian(X))

    def _bound(self, X, k, key):
        spec = spec_for(self._spec(), X)
        params, hyper = self._device_params(), self._hyper_tree()
        if k == 1:
            return self._map_rows(X, lambda Xb, keys: _elbo(spec, params, Xb, keys, hyper),
                                  key)
        kc = min(k, 256)

        def iwae(Xb, keys):
            parts = []
            for c, start in enumerate(range(0, k, kc)):
                ck = jax.vmap(lambda kk: jax.random.fold_in(kk, c))(keys)
                parts.append(np.asarray(_log_weights(spec, params, Xb, ck,
                                                     min(kc, k - start), hyper),
                                        dtype=np.float64))
            return logsumexp(np.concatenate(parts, axis=1), axis=1) - np.log(k)

        return self._map_rows(X, iwae, key, values_per_row=kc)

    def score(self, X, y=None):
        """Mean of ``score_samples(X)`` (nats per sample).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        return mean_score(self.score_samples(X))

    def sample(self, n_samples=1, random_state=None, draw=False):
        """Draw z ~ N(0, I) and decode.

        Parameters
        ----------
        n_samples : int >= 1, default=1
        random_state : int, RandomState instance or None, default=None
        draw : bool, default=False
            False returns decoder means; True draws from p(x | z) (0/1 pixels for
            the Bernoulli decoder).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            float32 (float64 for a model of data beyond float32's range).

        Raises
        ------
        ValueError
            If ``n_samples`` is not a positive integer.
        """
        check_is_fitted(self, "params_")
        check_positive_int(n_samples)
        rng = check_random_state(random_state)
        Z = rng.standard_normal((n_samples, self.n_components)).astype(np.float32)
        means = self.inverse_transform(Z)
        if not draw:
            return means
        if self.likelihood == "bernoulli":
            return (rng.uniform(size=means.shape) < means).astype(np.float32)
        std = np.asarray(np.exp(np.maximum(self.params_["log_sigma"], LOG_SIGMA_MIN))
                         if self.sigma is None else self.sigma,
                         dtype=np.float64) / self.data_scale_
        return as_output(means + std * rng.standard_normal(means.shape))


@partial(jax.jit, static_argnames=("spec",))
def _encode_jit(spec, params, X):
    return encode(spec, params, X)


@partial(jax.jit, static_argnames=("spec",))
def _decode_mean(spec, params, Z):
    out = decode(spec, params, Z)
    return jax.nn.sigmoid(out) if spec.likelihood == "bernoulli" else out
