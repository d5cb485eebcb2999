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
and Extensions*, section 2.2). Rows are grouped by their pattern of missing
entries (:class:`IncompleteRows`, once per pass): a group shares the factor of
Lambda_mm and its inverse, and the M-step's conditional covariances are one
sum per group. The E-step keeps what the M-step of the same pass needs (the
corrections Lambda_mm^-1 b and the groups' inverses, :class:`Conditionals`),
so that a pass conditions each row once. For diagonal and spherical
covariances the marginal simply drops the missing features.
"""

from functools import cached_property
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ..utils import Moments
from ..utils._numba import jit

__all__ = ["IncompleteRows", "Conditionals", "Groups", "missing_patterns", "observed_mask",
           "missing_log_prob", "missing_statistics", "conditional_fill"]


@jit
def _forward(L, r, n, b):
    """b <- L^-1 b for the lower-triangular L[:n, :n] with r = 1 / diag(L), in place."""
    for a in range(n):
        s = b[a]
        for e in range(a):
            s -= L[a, e] * b[e]
        b[a] = s * r[a]


@jit
def _backward(L, r, n, b):
    """b <- L^-T b for the lower-triangular L[:n, :n] with r = 1 / diag(L), in place."""
    for a in range(n - 1, -1, -1):
        s = b[a]
        for e in range(a + 1, n):
            s -= L[e, a] * b[e]
        b[a] = s * r[a]


@jit
def _condition_kernel(precision, D, order, group_starts, offsets, missing_cols,
                      inverse_offsets, correction, log_det_mm, delta, inverses):
    """Per group of rows sharing the missing entries m: L L^T = Lambda_mm
    (and, when ``inverses`` is not empty, Lambda_mm^-1 = L^-T L^-1 at the
    group's ``inverse_offsets``); per row i, from D = Lambda z0: y = L^-1 D_m,
    correction = ||y||^2 = b^T Lambda_mm^-1 b, log det Lambda_mm, and (when
    ``delta`` is not empty) Lambda_mm^-1 b at the row's ``offsets``. No
    fastmath: the factor's square roots need their guards."""
    d = D.shape[1]
    L = np.empty((d, d))
    W = np.empty((d, d))
    r = np.empty(d)
    b = np.empty(d)
    want_delta = delta.shape[0] > 0
    want_inverse = inverses.shape[0] > 0
    for g in range(group_starts.shape[0] - 1):
        start, stop = group_starts[g], group_starts[g + 1]
        first = order[start]
        lo = offsets[first]
        n_m = offsets[first + 1] - lo
        # log det as the log of a product of the pivots, renormalised before
        # it can leave float64's range (one log per few pivots, not one each).
        log_det = 0.0
        product = 1.0
        for a in range(n_m):
            ja = missing_cols[lo + a]
            for c in range(a + 1):
                s = precision[ja, missing_cols[lo + c]]
                for e in range(c):
                    s -= L[a, e] * L[c, e]
                if a == c:
                    pivot = np.sqrt(s) if s > 0.0 else np.nan
                    L[a, a] = pivot
                    r[a] = 1.0 / pivot
                    product *= pivot
                else:
                    L[a, c] = s * r[c]
            if not 1e-100 < product < 1e100:
                log_det += 2.0 * np.log(product)
                product = 1.0
        log_det += 2.0 * np.log(product)
        if want_inverse:
            # W = L^-1 (lower triangular), then Lambda_mm^-1 = W^T W.
            for c in range(n_m):
                W[c, c] = r[c]
                for a in range(c + 1, n_m):
                    s = 0.0
                    for e in range(c, a):
                        s -= L[a, e] * W[e, c]
                    W[a, c] = s * r[a]
            base = inverse_offsets[g]
            for a in range(n_m):
                for c in range(a + 1):
                    s = 0.0
                    for e in range(a, n_m):
                        s += W[e, a] * W[e, c]
                    inverses[base + a * n_m + c] = s
                    inverses[base + c * n_m + a] = s
        for t in range(start, stop):
            i = order[t]
            for a in range(n_m):
                b[a] = D[i, missing_cols[lo + a]]
            _forward(L, r, n_m, b)
            total = 0.0
            for a in range(n_m):
                total += b[a] * b[a]
            correction[i] = total
            log_det_mm[i] = log_det
            if want_delta:
                _backward(L, r, n_m, b)
                row = offsets[i]
                for a in range(n_m):
                    delta[row + a] = b[a]


@jit
def _scatter_inverses(group_weights, group_first, offsets, missing_cols, inverse_offsets,
                      inverses, out):
    """out[m, m] += sum_g w_g Lambda_mm,g^-1 over the groups of rows."""
    for g in range(group_weights.shape[0]):
        w = group_weights[g]
        if w == 0.0:
            continue
        first = group_first[g]
        lo = offsets[first]
        n_m = offsets[first + 1] - lo
        base = inverse_offsets[g]
        for a in range(n_m):
            ja = missing_cols[lo + a]
            for c in range(n_m):
                out[ja, missing_cols[lo + c]] += w * inverses[base + a * n_m + c]


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


def _run_starts(packed):
    """True where a row's packed pattern differs from the previous row's."""
    new = np.ones(packed.shape[0], dtype=bool)
    new[1:] = np.any(packed[1:] != packed[:-1], axis=1)
    return new


class Conditionals(NamedTuple):
    """One component's conditioning of :class:`IncompleteRows` (float64).

    maha : ndarray of shape (n_samples,)
        (x_o - mu_o)^T Sigma_oo^-1 (x_o - mu_o).
    log_det_mm : ndarray of shape (n_samples,)
        log det Lambda_mm, nats (log det Sigma_oo = log det Sigma + this).
    delta : ndarray of shape (n_missing,) or None
        Lambda_mm^-1 b per missing entry (row-major, as ``rows.groups.missing_cols``):
        E[x_m | x_o] = mu_m - delta.
    inverses : ndarray or None
        Lambda_mm^-1 of each group, flat (``rows.groups.inverse_offsets``).
    centred : ndarray of shape (n_samples, n_features) or None
        z0, the rows less the mean with 0 where missing; the M-step's
        :meth:`IncompleteRows.completed_moments` overwrites it.
    """

    maha: np.ndarray
    log_det_mm: np.ndarray
    delta: np.ndarray = None
    inverses: np.ndarray = None
    centred: np.ndarray = None


class Groups(NamedTuple):
    """Rows of :class:`IncompleteRows` grouped by their pattern of missing entries.

    order : ndarray of int64, shape (n_samples,)
        The order rows are visited in: :func:`missing_patterns` (equal
        patterns adjacent) when patterns repeat, else the rows' own.
    starts : ndarray of int64, shape (n_groups + 1,)
        Where each pattern's run starts in ``order`` (and the end).
    first : ndarray of int64, shape (n_groups,)
        The first row of each group.
    offsets : ndarray of int64, shape (n_samples + 1,)
        Row i's missing columns are ``missing_cols[offsets[i]:offsets[i + 1]]``.
    missing_rows, missing_cols : ndarray of int64, shape (n_missing,)
        ``np.nonzero(~observed)``.
    missing_flat : ndarray of int64, shape (n_missing,)
        The same entries as indices into the raveled rows.
    inverse_offsets : ndarray of int64, shape (n_groups + 1,)
        Where each group's n_m x n_m inverse starts in a flat buffer.
    """

    order: np.ndarray
    starts: np.ndarray
    first: np.ndarray
    offsets: np.ndarray
    missing_rows: np.ndarray
    missing_cols: np.ndarray
    missing_flat: np.ndarray
    inverse_offsets: np.ndarray


def _groups(observed):
    n = observed.shape[0]
    n_missing = observed.shape[1] - observed.sum(axis=1)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_missing, out=offsets[1:])
    rows, cols = np.nonzero(~observed)
    packed = np.packbits(observed, axis=1)
    order = missing_patterns(observed)
    new = _run_starts(packed[order])
    if new.sum() > n // 2:
        # Mostly distinct patterns (a few % of many features missing at
        # random): sorting would share few factors and cost each row a cache
        # miss, so the rows stay in place (equal neighbours still share).
        order = np.arange(n, dtype=np.int64)
        new = _run_starts(packed)
    starts = np.append(np.flatnonzero(new), n).astype(np.int64)
    first = order[starts[:-1]]
    inverse_offsets = np.zeros(first.shape[0] + 1, dtype=np.int64)
    np.cumsum(n_missing[first].astype(np.int64) ** 2, out=inverse_offsets[1:])
    rows, cols = rows.astype(np.int64), cols.astype(np.int64)
    return Groups(order, starts, first, offsets, rows, cols, rows * observed.shape[1] + cols,
                  inverse_offsets)


class IncompleteRows:
    """Rows with missing entries, prepared once for a pass.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        NaN where missing; every row observes at least one entry.
    observed : ndarray of bool, shape (n_samples, n_features)

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float64
    observed : ndarray of bool, shape (n_samples, n_features)
    n_observed : ndarray of shape (n_samples,)
    groups : Groups
        The rows grouped by pattern (computed when first used: full and tied
        covariances only).
    """

    def __init__(self, X, observed):
        self.X = np.asarray(X, dtype=np.float64)
        self.dtype = X.dtype
        self.observed = np.ascontiguousarray(observed)
        self.n_observed = self.observed.sum(axis=1)
        self._centred = None

    @cached_property
    def groups(self):
        return _groups(self.observed)

    @property
    def shape(self):
        return self.X.shape

    def condition(self, mean, U, keep=False):
        """The rows under N(mean, Lambda^-1), Lambda = U U^T.

        Parameters
        ----------
        mean : ndarray of shape (n_features,)
        U : ndarray of shape (n_features, n_features)
            Upper-triangular precision Cholesky factor (``precisions_cholesky_[k]``).
        keep : bool, default=False
            Also keep what the M-step needs (``delta``, ``inverses``, ``centred``).

        Returns
        -------
        Conditionals
        """
        n = self.X.shape[0]
        mean = np.asarray(mean, dtype=np.float64)
        U = np.asarray(U, dtype=np.float64)
        precision = U @ U.T
        g = self.groups
        z0 = self.X - mean
        z0.reshape(-1)[g.missing_flat] = 0.0
        D = z0 @ precision
        quad = np.einsum("ij,ij->i", z0, D)
        correction = np.empty(n)
        log_det = np.empty(n)
        delta = np.empty(g.missing_cols.shape[0] if keep else 0)
        inverses = np.empty(g.inverse_offsets[-1] if keep else 0)
        _condition_kernel(precision, D, g.order, g.starts, g.offsets, g.missing_cols,
                          g.inverse_offsets, correction, log_det, delta, inverses)
        if not keep:
            return Conditionals(quad - correction, log_det)
        return Conditionals(quad - correction, log_det, delta, inverses, z0)

    def completed(self, mean, conditionals):
        """The rows with x_m = E[x_m | x_o] = mu_m - delta, float64."""
        g = self.groups
        out = np.where(self.observed, self.X, np.asarray(mean, dtype=np.float64))
        out[g.missing_rows, g.missing_cols] -= conditionals.delta
        return out

    def completed_moments(self, mean, conditionals, resp):
        """Weight, mean and scatter of the completed rows under weights ``resp``.

        The completed rows are taken about ``mean`` (the component's, at which
        they were conditioned): x_o - mu_o observed, -delta missing; the
        scatter about their own weighted mean is then one Gram product less
        the rank-one shift (float64; the shift is the M-step's move of the
        mean, small against the rows' spread). ``conditionals.centred`` is
        overwritten.

        Returns
        -------
        weight : float
        new_mean : ndarray of shape (n_features,)
        scatter : ndarray of shape (n_features, n_features)
        """
        mean = np.asarray(mean, dtype=np.float64)
        resp = np.asarray(resp, dtype=np.float64)
        g = self.groups
        C = conditionals.centred
        if C is None:
            C = self.X - mean
        C.reshape(-1)[g.missing_flat] = -conditionals.delta
        weight = float(resp.sum())
        d = C.shape[1]
        if weight <= 0.0:
            return 0.0, np.zeros(d), np.zeros((d, d))
        shift = (resp @ C) / weight
        np.multiply(C, np.sqrt(resp)[:, np.newaxis], out=C)
        scatter = C.T @ C  # one symmetric rank-n update (BLAS syrk)
        scatter -= weight * np.outer(shift, shift)
        return weight, mean + shift, scatter

    def conditional_covariance(self, resp, conditionals):
        """sum_i resp_i Lambda_mm,i^-1 in the (m, m) blocks, shape (d, d)."""
        d = self.X.shape[1]
        g = self.groups
        out = np.zeros((d, d))
        if g.first.shape[0] == 0:
            return out
        weights = np.add.reduceat(np.asarray(resp, dtype=np.float64)[g.order], g.starts[:-1])
        _scatter_inverses(weights, g.first, g.offsets, g.missing_cols, g.inverse_offsets,
                          conditionals.inverses, out)
        return out

    def centred(self, centre):
        """(x - centre) with missing entries 0, its square, and the observed
        mask as floats: the diagonal case's three row matrices, kept for the
        M-step of the pass that computed them."""
        if self._centred is None or not np.array_equal(self._centred[0], centre):
            Xc = np.where(self.observed, self.X - centre, 0.0)
            self._centred = (centre, Xc, Xc * Xc, self.observed.astype(np.float64))
        return self._centred[1:]


def observed_mask(X):
    """The observed entries of dense X, or None when X has no NaN (the common
    case, which then takes the complete-data code unchanged)."""
    if sp.issparse(X) or X.size == 0 or not np.isnan(np.max(X)):
        return None  # max propagates NaN: one read, no mask, for complete data
    return ~np.isnan(X)


def _factors(prec_chol, covariance_type, n_components):
    """Precision Cholesky factors U_k (float64, upper triangular) of full or tied."""
    U = np.asarray(prec_chol, dtype=np.float64)
    return U if covariance_type == "full" else np.broadcast_to(U, (n_components,) + U.shape)


def _diagonal_precisions(prec_chol, covariance_type, shape):
    """Per-feature precisions of diag or spherical, shape (n_components, n_features)."""
    p = np.asarray(prec_chol, dtype=np.float64) ** 2
    return np.broadcast_to(p[:, np.newaxis] if covariance_type == "spherical" else p, shape)


def missing_log_prob(rows, means, prec_chol, covariance_type, keep=False):
    """log N(x_o | mu_k,o, Sigma_k,oo) of rows with missing entries, in nats.

    Parameters
    ----------
    rows : IncompleteRows
    means : ndarray of shape (n_components, n_features)
    prec_chol : ndarray
        ``precisions_cholesky_`` of the mixture.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    keep : bool, default=False
        Also return each component's :class:`Conditionals` with what
        :func:`missing_statistics` needs (full and tied).

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components), float64
    conditionals : list of Conditionals or None
        With ``keep`` for full and tied; None otherwise.
    """
    n, d = rows.shape
    K = means.shape[0]
    means = np.asarray(means, dtype=np.float64)
    const = -0.5 * rows.n_observed * np.log(2 * np.pi)
    out = np.empty((n, K))
    kept = None
    if covariance_type in ("full", "tied"):
        kept = []
        for k, U in enumerate(_factors(prec_chol, covariance_type, K)):
            conditionals = rows.condition(means[k], U, keep=keep)
            out[:, k] = (const - 0.5 * (conditionals.maha + conditionals.log_det_mm)
                         + np.log(np.diag(U)).sum())
            kept.append(conditionals)
    else:
        # sum_{j in o} lambda_kj (x_j - mu_kj)^2 expanded into three products over
        # all components at once, about the centre of the means (float64).
        precisions = _diagonal_precisions(prec_chol, covariance_type, means.shape)
        centre = means.mean(axis=0)
        Xc, Xc2, mask = rows.centred(centre)
        mu = means - centre
        maha = Xc2 @ precisions.T
        maha -= 2.0 * (Xc @ (precisions * mu).T)
        maha += mask @ (precisions * mu * mu).T
        np.maximum(maha, 0.0, out=maha)
        out[:] = const[:, None] - 0.5 * maha + 0.5 * (mask @ np.log(precisions).T)
    return out, (kept if keep else None)


def missing_statistics(rows, resp, means, prec_chol, covariance_type, conditionals=None):
    """Expected sufficient statistics of rows with missing entries.

    Each component's rows are completed by their conditional means under that
    component, E[x_m | x_o, k], and its scatter gains the conditional
    covariances sum_i r_ik Cov[x_m | x_o, k], at the current parameters.

    Parameters
    ----------
    rows : IncompleteRows
    resp : ndarray of shape (n_samples, n_components)
        Responsibilities times the sample weights.
    means, prec_chol, covariance_type : the current parameters
    conditionals : list of Conditionals or None
        From :func:`missing_log_prob` with ``keep=True`` at the same parameters
        (the E-step of the same pass); None: computed here.

    Returns
    -------
    stats : Moments
        Of kind 'full', 'tied' or 'diag' (for 'diag' and 'spherical'), in the
        rows' dtype, mergeable with the complete rows' statistics.
    """
    n, d = rows.shape
    K = resp.shape[1]
    kind = "diag" if covariance_type == "spherical" else covariance_type
    means = np.asarray(means, dtype=np.float64)
    resp = np.asarray(resp, dtype=np.float64)
    weight = resp.sum(axis=0)
    mean = np.zeros((K, d))
    scatter = {"full": np.zeros((K, d, d)), "tied": np.zeros((d, d)),
               "diag": np.zeros((K, d))}[kind]
    if covariance_type in ("full", "tied"):
        factors = _factors(prec_chol, covariance_type, K)
        for k in range(K):
            given = (rows.condition(means[k], factors[k], keep=True) if conditionals is None
                     else conditionals[k])
            _, mean[k], part = rows.completed_moments(means[k], given, resp[:, k])
            extra = part + rows.conditional_covariance(resp[:, k], given)
            if kind == "full":
                scatter[k] = extra
            else:
                scatter += extra
    else:
        # Completed rows x^_kj = x_j (observed) or mu_kj (missing), summed in
        # closed form over all components, about the centre of the means.
        variances = 1.0 / _diagonal_precisions(prec_chol, covariance_type, means.shape)
        centre = means.mean(axis=0)
        Xc, Xc2, mask = rows.centred(centre)
        mu = means - centre
        observed_mass = resp.T @ mask  # sum_i r_ik o_ij
        missing_mass = weight[:, None] - observed_mass
        sums = resp.T @ Xc
        safe = np.where(weight > 0, weight, 1.0)[:, None]
        offset = (sums + missing_mass * mu) / safe
        mean = np.where(weight[:, None] > 0, offset + centre, 0.0)
        # sum_i r_ik o_ij (x_ij - m_kj)^2 + (mu_kj - m_kj)^2 missing mass + conditional variance.
        observed_part = resp.T @ Xc2 - 2.0 * offset * sums + offset ** 2 * observed_mass
        scatter = (np.maximum(observed_part, 0.0) + (mu - offset) ** 2 * missing_mass
                   + missing_mass * variances)
    dtype = rows.dtype
    return Moments(weight.astype(dtype), mean.astype(dtype), scatter.astype(dtype), kind)


def conditional_fill(rows, resp, means, prec_chol, covariance_type, rng=None):
    """Missing entries of each row from p(x_m | x_o) under a Gaussian mixture.

    Parameters
    ----------
    rows : IncompleteRows
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
    n, d = rows.shape
    K = means.shape[0]
    X, observed = rows.X, rows.observed
    means = np.asarray(means, dtype=np.float64)
    full = covariance_type in ("full", "tied")
    factors = _factors(prec_chol, covariance_type, K) if full else None
    completed = np.empty((K, n, d)) if rng is not None else None
    filled = np.zeros((n, d))
    for k in range(K):
        if full:
            completed_k = rows.completed(means[k], rows.condition(means[k], factors[k],
                                                                  keep=True))
        else:
            completed_k = np.where(observed, X, means[k])
        if rng is None:
            filled += resp[:, k:k + 1] * completed_k
        else:
            completed[k] = completed_k
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
