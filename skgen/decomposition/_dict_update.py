"""The dictionary update of dictionary learning: block-coordinate descent on the
atoms (Mairal, Bach, Ponce & Sapiro 2010, "Online learning for matrix
factorization and sparse coding", JMLR 11, algorithm 2)."""

import numpy as np

__all__ = ["update_dict"]


_UNUSED_ATOM = 1e-6  # A_jj at or below this: no code uses the atom (SPAMS' value)
_ATOM_BLOCK = 16


def update_dict(dictionary, X, code, A, B, positive, random_state):
    """One block-coordinate-descent sweep over the atoms, in place.

    Mairal et al. (2010), algorithm 2: with A = sum z z^T and B = sum x z^T,
    atom j in turn becomes d_j + (b_j - D a_j) / A_jj (D a_j with the atoms
    before j already updated), projected onto ||d_j|| <= 1 (and onto d_j >= 0
    when ``positive``). The sweep is exact but blocked: for a block of 16 atoms
    the products a_j^T D are taken by one matrix product, and inside the block
    only the changes of the block's earlier atoms are added, so the O(n_atoms^2
    n_features) work is matrix-matrix rather than one matrix-vector product per
    atom. An atom no code uses (A_jj <= 1e-6) is replaced by a random signal
    plus 1% noise, as SPAMS and scikit-learn do.

    Parameters
    ----------
    dictionary : ndarray of shape (n_atoms, n_features)
        Updated in place.
    X : ndarray of shape (n_samples, n_features)
        Signals (only read when an atom is replaced).
    code : ndarray of shape (n_samples, n_atoms)
        Codes; the column of a replaced atom is zeroed.
    A : ndarray of shape (n_atoms, n_atoms)
        Code second moments.
    B : ndarray of shape (n_features, n_atoms)
        Signal-code cross moments.
    positive : bool
        Project atoms onto the non-negative orthant.
    random_state : RandomState
        Source of replacement signals.

    Returns
    -------
    n_replaced : int
        Atoms replaced.
    """
    K = dictionary.shape[0]
    n_replaced = 0
    for start in range(0, K, _ATOM_BLOCK):
        block = range(start, min(start + _ATOM_BLOCK, K))
        P = A[start:block.stop] @ dictionary  # a_j^T D before the block changes
        delta = np.empty((len(block), dictionary.shape[1]), dtype=dictionary.dtype)
        for t, j in enumerate(block):
            old = dictionary[j].copy()
            if A[j, j] > _UNUSED_ATOM:
                grad = B[:, j] - P[t]
                if t:
                    grad -= A[j, start:j] @ delta[:t]
                new = old + grad / A[j, j]
            else:
                atom = X[random_state.choice(X.shape[0])]
                noise = random_state.normal(0, 0.01 * (atom.std() or 1), size=atom.shape)
                new = atom + noise
                code[:, j] = 0
                n_replaced += 1
            if positive:
                np.clip(new, 0, None, out=new)
            new /= max(np.sqrt(new @ new), 1)
            dictionary[j] = new
            delta[t] = new - old
    return n_replaced
