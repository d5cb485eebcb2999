"""Gaussian densities and expected statistics of rows with missing entries (NaN).

A row x with observed entries o and missing entries m has, under N(mu, Sigma)
with precision Lambda = Sigma^-1, the marginal density N(x_o | mu_o, Sigma_oo)
and the conditional distribution of its missing entries

    x_m | x_o ~ N(mu_m - Lambda_mm^-1 Lambda_mo (x_o - mu_o), Lambda_mm^-1).

Both come from the precision, so that the work per row beyond the products
the complete rows need grows with the number of MISSING entries (a Cholesky
factor of Lambda_mm), not with the observed ones. With z0 the centred row with
its missing entries set to 0 and b = (Lambda z0)_m (one matrix product for all
rows):

- (x_o - mu_o)^T Sigma_oo^-1 (x_o - mu_o) = z0^T Lambda z0 - b^T Lambda_mm^-1 b
  (Sigma_oo^-1 is the Schur complement Lambda_oo - Lambda_om Lambda_mm^-1 Lambda_mo);
- log det Sigma_oo = log det Sigma + log det Lambda_mm;
- E[x_m | x_o] = mu_m - Lambda_mm^-1 b.

The E-step uses log N(x_o | mu_o, Sigma_oo); the M-step the expected sufficient
statistics: the rows completed by their conditional means under each
component, and the conditional covariance Lambda_mm^-1 added to the scatter's
missing block (Ghahramani & Jordan 1994, "Supervised learning from incomplete
data via an EM approach", NIPS 6; McLachlan & Krishnan 2008, *The EM Algorithm
and Extensions*, section 2.2). Rows are visited sorted by their pattern of
missing entries, so that rows sharing a pattern share the factorisation. For
diagonal and spherical covariances the marginal simply drops the missing
features.
"""

import numpy as np
import scipy.sparse as sp

from ..utils import Moments, block_moments
from ..utils._numba import jit

__all__ = ["condition_rows", "missing_patterns", "observed_mask", "missing_log_prob",
           "missing_statistics"]


@jit
def _forward(L, n, b):
    """b <- L^-1 b for the lower-triangular L[:n, :n], in place."""
    for a in range(n):
        s = b[a]
        for e in range(a):
            s -= L[a, e] * b[e]
        b[a] = s / L[a, a]


@jit
def _backward(L, n, b):
    """b <- L^-T b for the lower-triangular L[:n, :n], in place."""
    for a in range(n - 1, -1, -1):
        s = b[a]
        for e in range(a + 1, n):
            s -= L[e, a] * b[e]
        b[a] = s / L[a, a]


@jit
def _condition_kernel(observed, order, precision, D, completed, correction, log_det_mm,
                      resp, cond_cov):
    """Per row with missing entries m, from D = Lambda z0 (z0: x - mu with the
    missing entries 0): y = L^-1 D_m with L L^T = Lambda_mm, so that
    correction = ||y||^2 = b^T Lambda_mm^-1 b, log det Lambda_mm, and (when
    ``completed`` has rows) x_m -= Lambda_mm^-1 b in place; with ``resp`` (not
    empty), resp[i] Lambda_mm^-1 is added to ``cond_cov``. Rows in ``order``:
    a pattern equal to the previous row's reuses its factor. No fastmath: the
    factor's square roots need their guards."""
    n, d = observed.shape
    m_idx = np.empty(d, dtype=np.int64)
    L = np.empty((d, d))
    inv = np.empty((d, d))
    b = np.empty(d)
    n_m = 0
    current_log_det = 0.0
    want_cov = resp.shape[0] > 0
    want_rows = completed.shape[0] > 0
    previous = -1
    for t in range(order.shape[0]):
        i = order[t]
        same = previous >= 0
        if same:
            for j in range(d):
                if observed[i, j] != observed[previous, j]:
                    same = False
                    break
        if not same:
            n_m = 0
            for j in range(d):
                if not observed[i, j]:
                    m_idx[n_m] = j
                    n_m += 1
            current_log_det = 0.0
            for a in range(n_m):
                for c in range(a + 1):
                    s = precision[m_idx[a], m_idx[c]]
                    for e in range(c):
                        s -= L[a, e] * L[c, e]
                    if a == c:
                        L[a, a] = np.sqrt(s) if s > 0.0 else np.nan
                    else:
                        L[a, c] = s / L[c, c]
                current_log_det += 2.0 * np.log(L[a, a])
            if want_cov:
                # Lambda_mm^-1, column by column: L^-T L^-1 e_c.
                for c in range(n_m):
                    for a in range(n_m):
                        b[a] = 1.0 if a == c else 0.0
                    _forward(L, n_m, b)
                    _backward(L, n_m, b)
                    for a in range(n_m):
                        inv[a, c] = b[a]
        previous = i
        for a in range(n_m):
            b[a] = D[i, m_idx[a]]
        _forward(L, n_m, b)
        total = 0.0
        for a in range(n_m):
            total += b[a] * b[a]
        correction[i] = total
        log_det_mm[i] = current_log_det
        if want_rows:
            _backward(L, n_m, b)
            for a in range(n_m):
                completed[i, m_idx[a]] -= b[a]
        if want_cov:
            r = resp[i]
            if r != 0.0:
                for a in range(n_m):
                    for c in range(n_m):
                        cond_cov[m_idx[a], m_idx[c]] += r * inv[a, c]


def missing_patterns(observed):
    """Row order that puts equal patterns of missing entries next to each other.

    Parameters
    ----------
    observed : ndarray of bool, shape (n_samples, n_features)

    Returns
    -------
    order : ndarray of int64, shape (n_samples,)
    """
    packed = np.packbits(observed, axis=1)
    if packed.shape[1] == 0:
        return np.arange(observed.shape[0], dtype=np.int64)
    return np.lexsort(packed.T[::-1]).astype(np.int64)


def condition_rows(X, observed, order, mean, U, resp=None, complete=False):
    """Rows of X with missing entries under N(mean, Lambda^-1), Lambda = U U^T.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows with NaN where missing (each with at least one observed entry).
    observed : ndarray of bool, shape (n_samples, n_features)
    order : ndarray of int64
        :func:`missing_patterns` of ``observed``.
    mean : ndarray of shape (n_features,)
    U : ndarray of shape (n_features, n_features)
        Upper-triangular precision Cholesky factor (``precisions_cholesky_[k]``).
    resp : ndarray of shape (n_samples,) or None
        Weights of the rows (responsibilities): also return sum_i resp_i
        Cov[x_m | x_o] = sum_i resp_i Lambda_mm^-1, in the (m, m) blocks.
    complete : bool, default=False
        Also return the rows completed by their conditional means.

    Returns
    -------
    maha : ndarray of shape (n_samples,)
        (x_o - mu_o)^T Sigma_oo^-1 (x_o - mu_o) = z0^T Lambda z0 - b^T
        Lambda_mm^-1 b, with z0 the centred row (missing entries 0) and
        b = (Lambda z0)_m.
    log_det_mm : ndarray of shape (n_samples,)
        log det Lambda_mm, nats (log det Sigma_oo = log det Sigma + this).
    completed : ndarray of shape (n_samples, n_features) or None
        x_o kept, x_m = mu_m - Lambda_mm^-1 b (with ``complete``).
    cond_cov : ndarray of shape (n_features, n_features) or None
        With ``resp``.
    """
    n, d = X.shape
    mean = np.asarray(mean, dtype=np.float64)
    U = np.asarray(U, dtype=np.float64)
    z0 = np.where(observed, X - mean, 0.0)
    Y = z0 @ U
    D = np.ascontiguousarray(Y @ U.T)
    quad = np.einsum("ij,ij->i", Y, Y)
    completed = (np.where(observed, X, mean).astype(np.float64) if complete
                 else np.empty((0, 0)))
    correction = np.empty(n)
    log_det = np.empty(n)
    cond_cov = np.zeros((d, d))
    weights = np.zeros(0) if resp is None else np.ascontiguousarray(resp, dtype=np.float64)
    _condition_kernel(np.ascontiguousarray(observed), order, np.ascontiguousarray(U @ U.T),
                      D, completed, correction, log_det, weights, cond_cov)
    return (quad - correction, log_det, completed if complete else None,
            None if resp is None else cond_cov)


def observed_mask(X):
    """The observed entries of dense X, or None when X has no NaN (the common
    case, which then takes the complete-data code unchanged)."""
    if sp.issparse(X):
        return None
    missing = np.isnan(X)
    if not missing.any():
        return None
    return ~missing


def _factors(prec_chol, covariance_type, n_components):
    """Precision Cholesky factors U_k (float64, upper triangular) of full or tied."""
    U = np.asarray(prec_chol, dtype=np.float64)
    return U if covariance_type == "full" else np.broadcast_to(U, (n_components,) + U.shape)


def _diagonal_precisions(prec_chol, covariance_type, shape):
    """Per-feature precisions of diag or spherical, shape (n_components, n_features)."""
    p = np.asarray(prec_chol, dtype=np.float64) ** 2
    return np.broadcast_to(p[:, np.newaxis] if covariance_type == "spherical" else p, shape)


def missing_log_prob(X, observed, means, prec_chol, covariance_type):
    """log N(x_o | mu_k,o, Sigma_k,oo) of rows with missing entries, in nats.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        NaN where missing; every row observes at least one entry.
    observed : ndarray of bool, shape (n_samples, n_features)
    means : ndarray of shape (n_components, n_features)
    prec_chol : ndarray
        ``precisions_cholesky_`` of the mixture.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components), float64
    """
    n, d = X.shape
    K = means.shape[0]
    means = np.asarray(means, dtype=np.float64)
    const = -0.5 * observed.sum(axis=1) * np.log(2 * np.pi)
    out = np.empty((n, K))
    if covariance_type in ("full", "tied"):
        order = missing_patterns(observed)
        for k, U in enumerate(_factors(prec_chol, covariance_type, K)):
            maha, log_det_mm, _, _ = condition_rows(X, observed, order, means[k], U)
            out[:, k] = const - 0.5 * (maha + log_det_mm) + np.log(np.diag(U)).sum()
    else:
        # sum_{j in o} lambda_kj (x_j - mu_kj)^2 expanded into three products over
        # all components at once, about the centre of the means (float64).
        precisions = _diagonal_precisions(prec_chol, covariance_type, means.shape)
        centre = means.mean(axis=0)
        Xc = np.where(observed, X.astype(np.float64) - centre, 0.0)
        mu = means - centre
        mask = observed.astype(np.float64)
        maha = (Xc * Xc) @ precisions.T
        maha -= 2.0 * (Xc @ (precisions * mu).T)
        maha += mask @ (precisions * mu * mu).T
        np.maximum(maha, 0.0, out=maha)
        out[:] = const[:, None] - 0.5 * maha + 0.5 * (mask @ np.log(precisions).T)
    return out


def missing_statistics(X, observed, resp, means, prec_chol, covariance_type):
    """Expected sufficient statistics of rows with missing entries.

    Each component's rows are completed by their conditional means under that
    component, E[x_m | x_o, k], and its scatter gains the conditional
    covariances sum_i r_ik Cov[x_m | x_o, k], at the current parameters.

    Parameters
    ----------
    X, observed : as :func:`missing_log_prob`
    resp : ndarray of shape (n_samples, n_components)
        Responsibilities times the sample weights.
    means, prec_chol, covariance_type : the current parameters

    Returns
    -------
    stats : Moments
        Of kind 'full', 'tied' or 'diag' (for 'diag' and 'spherical'), in X's
        dtype, mergeable with the complete rows' statistics.
    """
    n, d = X.shape
    K = resp.shape[1]
    kind = "diag" if covariance_type == "spherical" else covariance_type
    means = np.asarray(means, dtype=np.float64)
    resp = np.asarray(resp, dtype=np.float64)
    weight = resp.sum(axis=0)
    mean = np.zeros((K, d))
    scatter = {"full": np.zeros((K, d, d)), "tied": np.zeros((d, d)),
               "diag": np.zeros((K, d))}[kind]
    if covariance_type in ("full", "tied"):
        order = missing_patterns(observed)
        for k, U in enumerate(_factors(prec_chol, covariance_type, K)):
            _, _, completed, cond_cov = condition_rows(X, observed, order, means[k], U,
                                                       resp[:, k], complete=True)
            part = block_moments(completed, resp[:, k:k + 1], "full")
            mean[k] = part.mean[0]
            if kind == "full":
                scatter[k] = part.scatter[0] + cond_cov
            else:
                scatter += part.scatter[0] + cond_cov
    else:
        # Completed rows x^_kj = x_j (observed) or mu_kj (missing), summed in
        # closed form over all components, about the centre of the means.
        variances = 1.0 / _diagonal_precisions(prec_chol, covariance_type, means.shape)
        centre = means.mean(axis=0)
        Xc = np.where(observed, X.astype(np.float64) - centre, 0.0)
        mu = means - centre
        mask = observed.astype(np.float64)
        observed_mass = resp.T @ mask  # sum_i r_ik o_ij
        missing_mass = weight[:, None] - observed_mass
        sums = resp.T @ Xc
        safe = np.where(weight > 0, weight, 1.0)[:, None]
        offset = (sums + missing_mass * mu) / safe
        mean = np.where(weight[:, None] > 0, offset + centre, 0.0)
        # sum_i r_ik o_ij (x_ij - m_kj)^2 + (mu_kj - m_kj)^2 missing mass + conditional variance.
        observed_part = resp.T @ (Xc * Xc) - 2.0 * offset * sums + offset ** 2 * observed_mass
        scatter = (np.maximum(observed_part, 0.0) + (mu - offset) ** 2 * missing_mass
                   + missing_mass * variances)
    dtype = X.dtype
    return Moments(weight.astype(dtype), mean.astype(dtype), scatter.astype(dtype), kind)


def conditional_fill(X, observed, resp, means, prec_chol, covariance_type, rng=None):
    """Missing entries of each row from p(x_m | x_o) under a Gaussian mixture.

    Parameters
    ----------
    X, observed : as :func:`missing_log_prob`
    resp : ndarray of shape (n_samples, n_components)
        p(k | x_o) of each row.
    means, prec_chol, covariance_type : the fitted mixture
    rng : numpy.random.Generator or None
        None: the conditional mean, sum_k p(k | x_o) E[x_m | x_o, k]. A
        generator: a draw, k ~ p(k | x_o), then x_m ~ N(E[x_m | x_o, k],
        Lambda_k,mm^-1) (multiple imputation).

    Returns
    -------
    filled : ndarray of shape (n_samples, n_features), float64
        x_o unchanged.
    """
    n, d = X.shape
    K = means.shape[0]
    means = np.asarray(means, dtype=np.float64)
    full = covariance_type in ("full", "tied")
    order = missing_patterns(observed) if full else None
    factors = _factors(prec_chol, covariance_type, K) if full else None
    completed = np.empty((K, n, d)) if rng is not None else None
    filled = np.zeros((n, d))
    for k in range(K):
        if full:
            _, _, rows, _ = condition_rows(X, observed, order, means[k], factors[k],
                                           complete=True)
        else:
            rows = np.where(observed, X.astype(np.float64), means[k])
        if rng is None:
            filled += resp[:, k:k + 1] * rows
        else:
            completed[k] = rows
    if rng is None:
        return np.where(observed, X, filled)
    cumulative = np.cumsum(resp, axis=1)
    chosen = np.minimum((rng.uniform(size=(n, 1)) > cumulative).sum(axis=1), K - 1)
    filled = completed[chosen, np.arange(n)]
    if full:
        for i in range(n):
            m = ~observed[i]
            U = factors[chosen[i]]
            # Cov[x_m | x_o] = Lambda_mm^-1 = L^-T L^-1 with L L^T = Lambda_mm.
            L = np.linalg.cholesky((U @ U.T)[np.ix_(m, m)])
            filled[i, m] += np.linalg.solve(L.T, rng.standard_normal(m.sum()))
    else:
        sd = 1.0 / np.sqrt(_diagonal_precisions(prec_chol, covariance_type, means.shape))
        noise = rng.standard_normal((n, d)) * sd[chosen]
        filled = np.where(observed, filled, filled + noise)
    return np.where(observed, X, filled)
