"""The bottom of LLE's alignment matrix M: its eigenvectors after the constant.

M is positive semi-definite and singular (M 1 = 0). Its bottom eigenvectors come
from ARPACK in shift-invert mode at a small *negative* shift: the factorisation
scikit-learn does at shift 0 can fail with "Factor is exactly singular"; M -
sigma I with sigma < 0 is positive definite. The factorisation uses a symmetric
fill-reducing ordering. A disconnected neighbourhood graph makes M block
diagonal: each component is set apart and its block solved on its own.

Reference: Roweis & Saul (2000), "Nonlinear dimensionality reduction by locally
linear embedding", Science 290, eq. 3.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.linalg import eigh
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import (ArpackError, ArpackNoConvergence, LinearOperator,
                                 eigsh, lobpcg, splu)
from sklearn.utils import check_random_state

__all__ = ["null_space", "graph_components"]


def graph_components(indices, what):
    """Connected components of a k-nearest-neighbour graph; warn when several.

    Parameters
    ----------
    indices : ndarray of shape (n_samples, k)
        Each row's neighbours.
    what : str
        The parameter that sets k, e.g. "n_neighbors=5", used in the message.

    Returns
    -------
    n_parts : int
        Number of components (edges in either direction).
    labels : ndarray of shape (n_samples,)
        Component of each row.

    Warns
    -----
    UserWarning
        When the graph is disconnected (as scikit-learn's SpectralEmbedding
        warns): each component is then embedded on its own, the components
        set apart along the first axes (see :func:`null_space`).
    """
    n, k = indices.shape
    graph = sp.csr_matrix(
        (np.ones(n * k), indices.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n)
    )
    n_parts, labels = connected_components(graph, directed=True, connection="weak")
    if n_parts > 1:
        sizes = np.bincount(labels)
        warnings.warn(
            f"The {what} nearest-neighbour graph is disconnected: {n_parts} "
            f"components (sizes {', '.join(map(str, sorted(sizes)[::-1][:5]))}"
            f"{', ...' if n_parts > 5 else ''}). Each component is embedded on its "
            "own and the components are set apart along the first axes; increase "
            "the number of neighbours for one connected embedding.",
            UserWarning,
        )
    return n_parts, labels


def _component_basis(labels, n_parts):
    """Orthonormal indicators of the components, the first the constant vector.

    Returns
    -------
    basis : ndarray of shape (n_samples, n_parts)
        Column 0 is 1/sqrt(n); the others span the indicators orthogonal to it.
    """
    n = labels.shape[0]
    indicators = np.zeros((n, n_parts))
    indicators[np.arange(n), labels] = 1.0
    indicators = np.hstack([np.ones((n, 1)), indicators])
    q, _ = np.linalg.qr(indicators)
    return q[:, :n_parts] * np.sign(q[0, 0])


def _shift_invert_operator(M, shift):
    """(M - shift I)^-1 as a LinearOperator, by a symmetric-ordering LU."""
    n = M.shape[0]
    A = (M - shift * sp.identity(n, format="csr")).tocsc()
    lu = splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
              options={"SymmetricMode": True})
    calls = [0]

    def solve(b):
        calls[0] += 1
        return lu.solve(np.asarray(b, dtype=np.float64))

    return LinearOperator((n, n), matvec=solve, matmat=solve,
                          dtype=np.float64), calls


def _shifted_inverse(M):
    """(M - shift I)^-1 at a small negative shift, enlarged until it factorises.

    A shift well below the wanted (tiny, >= 0) eigenvalues keeps M - shift I
    positive definite while leaving the spectrum's bottom well separated.
    """
    scale = M.diagonal().mean()
    shift = -1e-10 * (scale if scale > 0 else 1.0)
    for _ in range(4):
        try:
            op, calls = _shift_invert_operator(M, shift)
            return op, calls, shift
        except RuntimeError:  # "singular": rounding; a larger shift repairs it
            shift *= 1e3
    raise ValueError(
        "the alignment matrix M could not be factorised; check the data for "
        "duplicates or increase reg"
    )


def null_space(M, n_components, *, eigen_solver="auto", tol=1e-6, max_iter=100,
               random_state=None, labels=None):
    """Bottom eigenvectors of a positive semi-definite M, skipping the first.

    Parameters
    ----------
    M : sparse matrix of shape (n_samples, n_samples)
        Symmetric positive semi-definite, with the constant vector in its null
        space (every LLE variant's M is).
    n_components : int
        Eigenvectors returned (after the skipped constant one).
    eigen_solver : {'auto', 'arpack', 'dense', 'lobpcg'}, default='auto'
        'dense': LAPACK on M made dense (O(N^2) memory). 'arpack': ARPACK
        shift-invert at a small negative shift, falling back to 'lobpcg' when
        it does not converge. 'lobpcg': LOBPCG preconditioned by the same
        shifted factorisation, with the constant vector deflated. 'auto':
        'arpack' when N > 200 and n_components < 9, else 'dense' (scikit-learn's
        rule).
    tol : float, default=1e-6
        Convergence tolerance of 'arpack' / 'lobpcg'.
    max_iter : int, default=100
        Iterations of 'arpack' / 'lobpcg'.
    random_state : int, RandomState instance or None, default=None
        Start vector of the iterative solvers.
    labels : ndarray of shape (n_samples,) or None, default=None
        Components of a disconnected neighbourhood graph. M is then block
        diagonal and its null space holds every component's constant vector:
        those indicators (orthogonal to the constant) come first, with
        eigenvalue 0, then the bottom eigenvectors orthogonal to all of them:
        the smallest of each component's own, each block solved as a connected
        graph's M by ``eigen_solver``.

    Returns
    -------
    vectors : ndarray of shape (n_samples, n_components)
        Unit eigenvectors, by increasing eigenvalue.
    error : float
        Sum of their eigenvalues (the embedding cost, ``reconstruction_error_``).
    n_iter : int
        Solves with the shifted factorisation (one per ARPACK iteration; one
        block solve per LOBPCG iteration), or 1 for the dense solver.
    """
    n = M.shape[0]
    n_parts = 1 if labels is None else int(labels.max()) + 1
    if n_parts > 1:
        return _split_null_space(M, n_components, labels, n_parts, eigen_solver, tol,
                                 max_iter, random_state)
    if eigen_solver == "auto":
        eigen_solver = "arpack" if n > 200 and n_components + 1 < 10 else "dense"
    if eigen_solver == "arpack" and n_components + 1 >= n:
        eigen_solver = "dense"
    rng = check_random_state(random_state)
    if eigen_solver == "dense":
        A = M.toarray() if sp.issparse(M) else np.array(M, dtype=np.float64)
        values, vectors = eigh(A, subset_by_index=(1, n_components),
                               overwrite_a=True)
        order = np.argsort(np.abs(values))
        return vectors[:, order], float(np.sum(values)), 1
    op, calls, shift = _shifted_inverse(M)
    if eigen_solver == "arpack":
        v0 = rng.uniform(-1, 1, n)
        try:
            values, vectors = eigsh(M, n_components + 1, sigma=shift, which="LM",
                                    OPinv=op, tol=tol, maxiter=max_iter, v0=v0)
            order = np.argsort(values)[1:]
            return vectors[:, order], float(np.sum(values[order])), calls[0]
        except (ArpackNoConvergence, ArpackError):
            warnings.warn("ARPACK did not converge; falling back to LOBPCG",
                          RuntimeWarning)
    ones = np.full((n, 1), 1 / np.sqrt(n))
    X0 = rng.uniform(-1, 1, (n, n_components))
    values, vectors = lobpcg(M, X0, M=op, Y=ones, tol=tol, maxiter=max(max_iter, 200),
                             largest=False)
    order = np.argsort(values)
    return vectors[:, order], float(np.sum(values[order])), calls[0]


def _split_null_space(M, n_components, labels, n_parts, eigen_solver, tol, max_iter,
                      random_state):
    """:func:`null_space` of a block-diagonal M (a disconnected graph).

    Each component's block is solved on its own, as a connected graph's M
    (its constant vector skipped), and the ``n_components - (n_parts - 1)``
    smallest of all their eigenpairs are kept: vectors zero outside their
    component are orthogonal to every component's indicator, so this is the
    bottom of M on the indicators' complement, with each block's own solver
    (ARPACK on the large ones, as a connected graph of that size).
    """
    basis = _component_basis(labels, n_parts)
    apart = basis[:, 1:n_components + 1]  # eigenvalue 0: the components set apart
    m = n_components - apart.shape[1]
    if m <= 0:
        return apart, 0.0, 1
    rng = check_random_state(random_state)
    M = sp.csr_matrix(M)
    n = M.shape[0]
    values, columns, n_iter = [], [], 0
    for part in range(n_parts):
        members = np.flatnonzero(labels == part)
        k = min(m, members.size - 1)  # a block of s points has s - 1 beyond its constant
        if k <= 0:
            continue
        block = M[members][:, members]
        vectors, _, calls = null_space(block, k, eigen_solver=eigen_solver, tol=tol,
                                       max_iter=max_iter, random_state=rng)
        n_iter += calls
        # The iterative solvers leave the vectors orthogonal to the block's
        # constant to their tolerance only, and a near-null cluster wider than
        # the request can put some of the constant in them: project it out,
        # then Rayleigh-Ritz on what spans the rest (orthonormal eigenpairs).
        u, s, _ = np.linalg.svd(vectors - vectors.mean(axis=0), full_matrices=False)
        span = u[:, s > 1e-6]
        ritz, rotation = eigh(span.T @ (block @ span))
        for value, v in zip(ritz, (span @ rotation).T):
            values.append(float(value))
            column = np.zeros(n)
            column[members] = v
            columns.append(column)
    order = np.argsort(values, kind="stable")[:m]
    chosen = np.column_stack([columns[i] for i in order])
    return np.hstack([apart, chosen]), float(np.sum(np.asarray(values)[order])), n_iter
