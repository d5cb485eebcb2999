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

import numpy as np
from sklearn.utils.extmath import svd_flip

__all__ = ["fit_ppca_missing", "ppca_log_likelihood", "ppca_conditional_mean",
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
    n_obs = observed.sum(axis=1)
    k = W.shape[1]
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


def fit_ppca_missing(X, k, max_iter=PPCA_MAX_ITER, tol=PPCA_TOL):
    """Maximum-likelihood PPCA of the observed entries of X by EM.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
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
    X = np.asarray(X, dtype=np.float64)
    observed = ~np.isnan(X)
    n, d = X.shape
    # Work about the observed column means (digits of data far from 0).
    centre = np.where(observed, X, 0.0).sum(axis=0) / np.maximum(observed.sum(axis=0), 1)
    Xc = np.where(observed, X - centre, 0.0)
    # Start: the PCA of the mean-filled data.
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    variances = s ** 2 / n
    sigma2 = max(float(variances[k:].mean()) if d > k else 0.0, 1e-6 * float(variances[0]))
    W = vt[:k].T * np.sqrt(np.maximum(variances[:k] - sigma2, 1e-12))
    mu = np.zeros(d)
    n_obs = observed.sum()
    obs = observed.astype(np.float64)
    history = []
    for _ in range(max_iter):
        R = np.where(observed, Xc - mu, 0.0)
        Ez, M_inv, M, rhs = _posterior(R, observed, W, sigma2)
        counts = observed.sum(axis=1)
        log_det = (counts - k) * np.log(sigma2) + np.linalg.slogdet(M)[1]
        maha = (np.einsum("ij,ij->i", R, R) - np.einsum("ij,ij->i", rhs, Ez)) / sigma2
        history.append(float(np.mean(-0.5 * (counts * np.log(2 * np.pi) + log_det + maha))))
        if len(history) > 1 and abs(history[-1] - history[-2]) < tol:
            break
        # M-step on z~ = [z; 1]: E[z~] and E[z~ z~^T] of every row.
        Ez1 = np.hstack([Ez, np.ones((n, 1))])
        Ezz = sigma2 * M_inv + Ez[:, :, None] * Ez[:, None, :]
        Ezz1 = np.empty((n, k + 1, k + 1))
        Ezz1[:, :k, :k] = Ezz
        Ezz1[:, :k, k] = Ez
        Ezz1[:, k, :k] = Ez
        Ezz1[:, k, k] = 1.0
        A = (obs.T @ Ezz1.reshape(n, -1)).reshape(d, k + 1, k + 1)
        B = Xc.T @ Ez1  # missing entries of Xc are 0
        W1 = np.linalg.solve(A, B[:, :, None])[:, :, 0]
        fitted = Ez1 @ W1.T
        quad = np.einsum("ja,jab,jb->", W1, A, W1)
        sigma2 = float((np.sum(Xc * Xc) - 2 * np.sum(Xc * fitted) + quad) / n_obs)
        sigma2 = max(sigma2, 1e-12 * max(float(np.sum(Xc * Xc)) / n_obs, 1e-300))
        W, mu = W1[:, :k], W1[:, k]
    U, S, _ = np.linalg.svd(W, full_matrices=False)
    _, components = svd_flip(None, U.T, u_based_decision=False)
    return (S ** 2 + sigma2, components, sigma2, centre + mu, len(history),
            np.asarray(history))
