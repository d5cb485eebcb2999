"""Probabilistic PCA of data with missing entries (NaN), fitted by EM.

The model x = W z + mu + sigma eps, z ~ N(0, I_k), eps ~ N(0, I_d) (Tipping &
Bishop 1999) gives each row's observed entries the marginal N(mu_o, W_o W_o^T +
sigma^2 I). EM treats z as latent with the mean folded in (z~ = [z; 1], W~ =
[W, mu]), so that the M-step maximises the expected complete-data likelihood
over W and mu jointly, row of W~ by row, from the rows that observed each
feature; sigma^2 is then the mean expected squared residual of the observed
entries (Tipping & Bishop 1999, appendix; Ilin & Raiko 2010, "Practical
approaches to principal component analysis in the presence of missing values",
JMLR 11, section 3). Every quantity is vectorised over rows: with M_i = W_o^T
W_o + sigma^2 I_k (k x k), E[z_i] = M_i^-1 W_o^T (x_o - mu_o) and Cov[z_i] =
sigma^2 M_i^-1, at O(n d k^2) per iteration.
"""

import numbers

import numpy as np
from sklearn.utils.extmath import svd_flip

from ..utils._rows import add_pairs, observed_sums
from ..utils._validation import check_observed_rows

__all__ = ["fit_ppca_missing", "ppca_log_likelihood", "ppca_conditional_mean",
           "fit_missing", "fill_missing", "missing_log_likelihood",
           "PPCA_MAX_ITER", "PPCA_TOL"]

# EM stops when the mean log-likelihood per row changes by less than this
# (nats), or after PPCA_MAX_ITER iterations.
PPCA_TOL = 1e-7
PPCA_MAX_ITER = 1000


def _posterior(R, observed, W, sigma2):
    """E[z_i], Cov[z_i] (times 1/sigma^2: M_i^-1) and the pieces of log p(x_o).

    R: centred rows with the missing entries 0, shape (n, d).
    """
    n, d = R.shape
    k = W.shape[1]
    outer = (W[:, :, None] * W[:, None, :]).reshape(d, k * k)
    M = (observed.astype(np.float64) @ outer).reshape(n, k, k)
    M += sigma2 * np.eye(k)
    rhs = R @ W
    M_inv = np.linalg.inv(M)
    Ez = np.einsum("nab,nb->na", M_inv, rhs)
    return Ez, M_inv, M, rhs


def ppca_log_likelihood(X, observed, mean, W, sigma2):
    """log N(x_o | mu_o, W_o W_o^T + sigma^2 I) of each row, nats.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        NaN where missing.
    observed : ndarray of bool, shape (n_samples, n_features)
    mean : ndarray of shape (n_features,)
    W : ndarray of shape (n_features, n_components)
    sigma2 : float
        Positive noise variance.

    Returns
    -------
    log_likelihood : ndarray of shape (n_samples,)
    """
    R = np.where(observed, X - mean, 0.0)
    Ez, _, M, rhs = _posterior(R, observed, W, sigma2)
    return _row_log_likelihood(R, observed, Ez, M, rhs, sigma2)


def _row_log_likelihood(R, observed, Ez, M, rhs, sigma2):
    """log p(x_o) per row from :func:`_posterior`'s pieces, nats."""
    n_obs = observed.sum(axis=1)
    k = M.shape[1]
    # det(W_o W_o^T + s I) = s^(|o| - k) det(M); the Woodbury form of the inverse.
    log_det = (n_obs - k) * np.log(sigma2) + np.linalg.slogdet(M)[1]
    maha = (np.einsum("ij,ij->i", R, R) - np.einsum("ij,ij->i", rhs, Ez)) / sigma2
    return -0.5 * (n_obs * np.log(2 * np.pi) + log_det + maha)


def ppca_conditional_mean(X, observed, mean, W, sigma2, rng=None):
    """E[x | x_o] under the PPCA Gaussian, or a draw from p(x_m | x_o).

    x_o is kept; x_m = mu_m + W_m E[z | x_o], or, with ``rng``, mu_m + W_m z +
    sigma eps with z ~ N(E[z | x_o], sigma^2 M^-1) and eps ~ N(0, I).

    Returns
    -------
    completed : ndarray of shape (n_samples, n_features), float64
    """
    R = np.where(observed, X - mean, 0.0)
    Ez, M_inv, _, _ = _posterior(R, observed, W, sigma2)
    if rng is not None:
        L = np.linalg.cholesky(sigma2 * M_inv)
        Ez = Ez + np.einsum("nab,nb->na", L, rng.standard_normal(Ez.shape))
        noise = np.sqrt(sigma2) * rng.standard_normal(X.shape)
        return np.where(observed, X, mean + Ez @ W.T + noise)
    return np.where(observed, X, mean + Ez @ W.T)


# Rows per block of a pass: the per-row k x k posteriors stay about 32 MiB.
_BLOCK_VALUES = 1 << 22


def _row_blocks(n, k):
    step = max(1, _BLOCK_VALUES // ((k + 1) ** 2 + 1))
    return [slice(s, s + step) for s in range(0, n, step)]


def _gram_pass(centre, X, weights):
    """sum_i x~_i x~_i^T of the centred rows, missing entries 0 (mean-filled)."""
    Xc = np.where(np.isnan(X), 0.0, X - centre)
    return Xc.T @ Xc


def _em_pass(centre, W, mu, sigma2, X, weights):
    """One EM pass's sums over rows X: the mean log-likelihood's numerator and
    the M-step's A_j = sum_i o_ij E[z~ z~^T]_i and B_j = sum_i x~_ij E[z~]_i."""
    n, d = X.shape
    k = W.shape[1]
    A = np.zeros((d, k + 1, k + 1))
    B = np.zeros((d, k + 1))
    log_likelihood = 0.0
    for rows in _row_blocks(n, k):
        Xb = X[rows].astype(np.float64)
        observed = ~np.isnan(Xb)
        Xc = np.where(observed, Xb - centre, 0.0)
        R = np.where(observed, Xc - mu, 0.0)
        Ez, M_inv, M, rhs = _posterior(R, observed, W, sigma2)
        log_likelihood += float(np.sum(_row_log_likelihood(R, observed, Ez, M, rhs, sigma2)))
        # z~ = [z; 1]: E[z~] and E[z~ z~^T] of every row.
        m = Xb.shape[0]
        Ez1 = np.hstack([Ez, np.ones((m, 1))])
        Ezz1 = np.empty((m, k + 1, k + 1))
        Ezz1[:, :k, :k] = sigma2 * M_inv + Ez[:, :, None] * Ez[:, None, :]
        Ezz1[:, :k, k] = Ez
        Ezz1[:, k, :k] = Ez
        Ezz1[:, k, k] = 1.0
        A += (observed.astype(np.float64).T @ Ezz1.reshape(m, -1)).reshape(d, k + 1, k + 1)
        B += Xc.T @ Ez1
    return log_likelihood, A, B


def _add(a, b):
    return tuple(x + y for x, y in zip(a, b))


def fit_ppca_missing(rows, k, max_iter=PPCA_MAX_ITER, tol=PPCA_TOL):
    """Maximum-likelihood PPCA of the observed entries of a row source by EM.

    Every step is a reduction over the rows (in memory: blocks in threads; a
    dask array: its chunks), one pass per EM iteration after two for the
    start (the observed column means, then the Gram of the mean-filled rows).

    Parameters
    ----------
    rows : RowSource
        NaN where missing; every row observes at least one entry.
    k : int
        Components, 1 <= k < n_features.
    max_iter : int, default=1000
    tol : float, default=1e-7
        Stop when the mean log-likelihood per row changes by less (nats).

    Returns
    -------
    eigenvalues : ndarray of shape (k,)
        Of the fitted covariance W W^T + sigma^2 I along its top k axes,
        decreasing.
    components : ndarray of shape (k, n_features)
        Orthonormal axes spanning W, signs as ``svd_flip(u_based_decision=False)``.
    sigma2 : float
        Noise variance (the other d - k eigenvalues).
    mean : ndarray of shape (n_features,)
    n_iter : int
    log_likelihoods : ndarray of shape (n_iter,)
        Mean log p(x_o) per row before each M-step (non-decreasing).

    """
    n, d = rows.n_samples, rows.n_features
    # Work about the observed column means (digits of data far from 0).
    sums, counts = rows.reduce(observed_sums, add_pairs, threads=True)
    centre = sums / np.maximum(counts, 1)
    n_obs = float(counts.sum())
    # Start: the PCA of the mean-filled data.
    G = rows.reduce(_gram_pass, np.add, centre, threads=True)
    sxx = float(np.trace(G))
    eigenvalues, vectors = np.linalg.eigh(G)
    variances = np.maximum(eigenvalues[::-1], 0.0) / n
    sigma2 = max(float(variances[k:].mean()) if d > k else 0.0, 1e-6 * float(variances[0]))
    W = vectors[:, ::-1][:, :k] * np.sqrt(np.maximum(variances[:k] - sigma2, 1e-12))
    mu = np.zeros(d)
    history = []
    for _ in range(max_iter):
        log_likelihood, A, B = rows.reduce(_em_pass, _add, centre, W, mu, sigma2,
                                           threads=True)
        history.append(log_likelihood / n)
        if len(history) > 1 and abs(history[-1] - history[-2]) < tol:
            break
        W1 = np.linalg.solve(A, B[:, :, None])[:, :, 0]
        # sum_ij x~_ij (E[z~_i] . w~_j) = sum_j w~_j . B_j
        quad = np.einsum("ja,jab,jb->", W1, A, W1)
        sigma2 = float((sxx - 2 * np.sum(W1 * B) + quad) / n_obs)
        sigma2 = max(sigma2, 1e-12 * max(sxx / n_obs, 1e-300))
        W, mu = W1[:, :k], W1[:, k]
    U, S, _ = np.linalg.svd(W, full_matrices=False)
    _, components = svd_flip(None, U.T, u_based_decision=False)
    return (S ** 2 + sigma2, components, sigma2, centre + mu, len(history),
            np.asarray(history))


def fit_missing(pca, rows):
    """Set ``pca``'s fitted attributes from PPCA by EM on the observed entries.

    Parameters
    ----------
    pca : PCA
        Reads ``n_components``; sets the attributes ``PCA.fit`` sets, plus
        ``n_iter_`` and ``log_likelihoods_``.
    rows : RowSource
        NaN where missing: validated rows in memory; a dask array's source
        checks each chunk as a pass reads it (infinity, rows with no observed
        entry: its ``prepare``).

    Raises
    ------
    ValueError
        On infinity, a row with no observed entry, or ``n_components`` not an
        integer in [1, n_features - 1] (None: min(n_samples, n_features) - 1).
    """
    n, d = rows.n_samples, rows.n_features
    if not rows.lazy:
        if np.isinf(rows.X).any():
            raise ValueError("Input X contains infinity.")
        check_observed_rows(rows.X)
    k = pca.n_components
    if k is None:
        k = max(min(n, d) - 1, 1)
    if not isinstance(k, numbers.Integral) or isinstance(k, bool) or not 1 <= k < d:
        raise ValueError(
            f"X has missing values (NaN): PCA then fits probabilistic PCA by EM, which "
            f"needs n_components an integer between 1 and n_features - 1 = {d - 1} "
            f"(or None for {max(min(n, d) - 1, 1)}), got {pca.n_components!r}"
        )
    eigenvalues, components, sigma2, mean, n_iter, history = fit_ppca_missing(rows, k)
    dtype = rows.dtype
    pca.components_ = np.ascontiguousarray(components, dtype=dtype)
    pca.explained_variance_ = eigenvalues.astype(dtype)
    total = float(eigenvalues.sum() + (d - k) * sigma2)
    pca.explained_variance_ratio_ = (eigenvalues / total).astype(dtype)
    pca.singular_values_ = np.sqrt(eigenvalues * (n - 1)).astype(dtype)
    pca.mean_ = mean.astype(dtype)
    pca.noise_variance_ = float(sigma2)
    pca.n_components_ = k
    pca.n_samples_ = n
    pca.n_iter_ = n_iter
    pca.log_likelihoods_ = history


def _parameters(pca):
    """W (n_features, k) and a positive sigma^2 of a fitted PCA, float64."""
    ev = pca.explained_variance_.astype(np.float64)
    sigma2 = float(pca.noise_variance_)
    if sigma2 <= 0:
        # All variance kept: a tiny isotropic floor conditions incomplete rows.
        sigma2 = 1e-12 * max(float(ev.max(initial=0.0)), np.finfo(np.float64).tiny)
    W = pca.components_.T.astype(np.float64) * np.sqrt(np.maximum(ev - sigma2, 0.0))
    return W, sigma2


def fill_missing(pca, X, rng=None):
    """X with its NaN replaced from a fitted PCA's p(x_m | x_o).

    Parameters
    ----------
    pca : PCA
        Fitted (on complete or incomplete data).
    X : ndarray of shape (n_samples, n_features)
    rng : numpy.random.Generator or None
        None: the conditional mean; a generator: a draw.

    Returns
    -------
    filled : ndarray of shape (n_samples, n_features)
        X itself when it has no NaN.

    Raises
    ------
    ValueError
        On a row with no observed entry.
    """
    observed = ~np.isnan(X)
    if observed.all():
        return X
    check_observed_rows(X)
    W, sigma2 = _parameters(pca)
    rows = ~observed.all(axis=1)
    out = X.copy()
    out[rows] = ppca_conditional_mean(X[rows], observed[rows],
                                      pca.mean_.astype(np.float64), W, sigma2, rng)
    return out


def missing_log_likelihood(pca, X, complete_log_likelihood):
    """log p(x_o) of each row under a fitted PCA: ``complete_log_likelihood``
    for complete rows, the PPCA marginal of the observed entries for the others.

    Returns
    -------
    log_likelihood : ndarray of shape (n_samples,), nats

    Raises
    ------
    ValueError
        On a row with no observed entry.
    """
    observed = ~np.isnan(X)
    if observed.all():
        return complete_log_likelihood(X)
    check_observed_rows(X)
    out = np.empty(X.shape[0])
    complete = observed.all(axis=1)
    if complete.any():
        out[complete] = complete_log_likelihood(X[complete])
    W, sigma2 = _parameters(pca)
    out[~complete] = ppca_log_likelihood(X[~complete], observed[~complete],
                                         pca.mean_.astype(np.float64), W, sigma2)
    return out
