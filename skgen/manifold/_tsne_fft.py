"""t-SNE repulsion by FFT-accelerated interpolation (Linderman et al. 2019).

The repulsive sums R_i = sum_j w_ij r_ij (y_i - y_j) and Z = sum_{i != j} w_ij
of ``_tsne_gradients`` (same kernel, same conventions, no factor 4), computed by
interpolating unit charges onto an equispaced grid (Lagrange polynomials on each
box's nodes), convolving with kernels by FFTs, and interpolating back:
Linderman, Rachh, Hoskins, Steinerberger & Kluger (2019), "Fast
interpolation-based t-SNE for improved visualization of single-cell RNA-seq
data", Nature Methods 16, sec. "Online methods". 1-D and 2-D embeddings.

Unlike FIt-SNE and openTSNE, which convolve the d + 1 charges (1, y) with w r
and the charge 1 with w (d + 1 forward and d + 2 inverse transforms), R is
convolved directly: w r (y_i - y_j) = -grad_{y_i} w_ij / 2, an odd vector
kernel g(d) = w(d) r(d) d whose spectrum is imaginary (a sine transform along
its own axis), applied to the single charge 1: one forward and d inverse
transforms. Z needs only its total, sum_i phi_w(y_i) = q^T W q over the node
charges q, which Parseval's theorem gives from q's spectrum and w's without an
inverse transform. R_i then comes without the cancellation y_i phi_0 - phi_y of
two large potentials.
"""

import numpy as np
from numba import prange
from scipy import fft as sfft

from ..utils._numba import jit

__all__ = ["FFTRepulsion"]

# Private node grids the scatter sums (one per chunk of points, at most this many).
_SCATTER_CHUNKS = 4

# Nodes per dimension (G) from which scipy.fft runs on several threads. Below it
# one thread is faster (padded 300-900: 2.1 vs 2.7 ms to 15.0 vs 15.5 ms for a
# step's transforms, 2 cores), and pocketfft's threads woken between the
# parfors slowed the whole fit (10000 points: repulsion 3.2 -> 2.75 s, medians
# of 6 fresh processes); from padded 1200 two threads win (23.6 vs 19.7 ms).
_THREADED_FFT_NODES = 512


@jit(parallel=True)
def _interpolation_weights(coords, lo, box_width, n_boxes, n_nodes, box, weights):
    """Box of each coordinate and its Lagrange weights on the box's nodes.

    Nodes sit at (k + 1/2) / n_nodes of the box, k = 0..n_nodes-1.
    """
    n = coords.shape[0]
    for i in prange(n):
        u = (coords[i] - lo) / box_width
        b = int(u)
        if b >= n_boxes:
            b = n_boxes - 1
        if b < 0:
            b = 0
        box[i] = b
        t = u - b
        for k in range(n_nodes):
            tk = (k + 0.5) / n_nodes
            v = 1.0
            for m in range(n_nodes):
                if m != k:
                    tm = (m + 0.5) / n_nodes
                    v *= (t - tm) / (tk - tm)
            weights[i, k] = v


@jit(parallel=True)
def _scatter_1d(box, wx, n_nodes, n_chunks, grids):
    """Unit charges onto the nodes: one private grid per chunk of points."""
    n = box.shape[0]
    chunk = (n + n_chunks - 1) // n_chunks
    for t in prange(n_chunks):
        g = grids[t]
        g[:] = 0.0
        for i in range(t * chunk, min(n, (t + 1) * chunk)):
            base = box[i] * n_nodes
            for a in range(n_nodes):
                g[base + a] += wx[i, a]


@jit(parallel=True)
def _gather_1d(box, wx, potentials, n_nodes, out):
    n = box.shape[0]
    n_channels = potentials.shape[0]
    for i in prange(n):
        base = box[i] * n_nodes
        for c in range(n_channels):
            v = 0.0
            for a in range(n_nodes):
                v += wx[i, a] * potentials[c, base + a]
            out[i, c] = v


@jit(parallel=True)
def _scatter_2d(bx, by, wx, wy, n_nodes, n_chunks, grids):
    n = bx.shape[0]
    chunk = (n + n_chunks - 1) // n_chunks
    for t in prange(n_chunks):
        g = grids[t]
        g[:] = 0.0
        for i in range(t * chunk, min(n, (t + 1) * chunk)):
            base_x = bx[i] * n_nodes
            base_y = by[i] * n_nodes
            for b in range(n_nodes):
                for a in range(n_nodes):
                    g[base_y + b, base_x + a] += wx[i, a] * wy[i, b]


@jit(parallel=True)
def _gather_2d(bx, by, wx, wy, potentials, n_nodes, out):
    n = bx.shape[0]
    n_channels = potentials.shape[0]
    for i in prange(n):
        base_x = bx[i] * n_nodes
        base_y = by[i] * n_nodes
        for c in range(n_channels):
            v = 0.0
            for b in range(n_nodes):
                for a in range(n_nodes):
                    v += wx[i, a] * wy[i, b] * potentials[c, base_y + b, base_x + a]
            out[i, c] = v


class FFTRepulsion:
    """Repulsive sums by polynomial interpolation on a grid and FFT convolution.

    The embedding's bounding square is cut into boxes, each with
    ``n_interpolation_points`` equispaced nodes per dimension, so that all
    nodes form one equispaced grid. Unit charges are spread to the nodes by
    Lagrange interpolation (Linderman et al. 2019), convolved with the odd
    kernel g(d) = w r d (one potential per dimension) and interpolated back;
    Z is q^T W q by Parseval (module docstring). The kernels' Toeplitz (1-D)
    or block-Toeplitz (2-D) matrices are applied as circulants of twice the
    size with scipy.fft; their spectra are real (w: a type-I DCT) or imaginary
    (g: a type-I DST along its own axis, a type-I DCT along the other).

    Boxes: max(``min_num_intervals``, span / ``ints_in_interval``) per
    dimension, tiling the embedding's bounding square exactly (openTSNE's
    rule). The padded charge grid is transformed row-wise only where it holds
    data, and only the needed quarter of each result is transformed back.
    The FFTs run in float32 (twice as fast as float64): their rounding (~1e-7
    relative) is far below the interpolation error (~1e-3 with 3 nodes per
    box).

    Parameters
    ----------
    dof : float
        Degrees of freedom alpha.
    n_interpolation_points : int, default=3
    min_num_intervals : int, default=50
    ints_in_interval : float, default=1.0
    n_threads : int, default=1
        Threads of the scatter (private grids per thread), and of scipy.fft on
        grids of at least ``_THREADED_FFT_NODES`` nodes per dimension.
    """

    def __init__(self, dof, n_interpolation_points=3, min_num_intervals=50,
                 ints_in_interval=1.0, n_threads=1):
        self.dof = float(dof)
        self.p = int(n_interpolation_points)
        self.min_num_intervals = int(min_num_intervals)
        self.ints_in_interval = float(ints_in_interval)
        self.n_threads = int(n_threads)

    def _grid(self, lo, hi):
        """(number of boxes per dimension, box width) tiling [lo, hi] exactly.

        openTSNE's rule, its count rounded up to an FFT-friendly size (as
        openTSNE also does). Tried and measured worse: boxes of a fixed width
        (reusing the kernel's spectrum across iterations) left the grid's edge
        off the data's and ended 0.5% higher in KL on 10000 points, with or
        without a randomly shifted origin.
        """
        span = max(hi - lo, 1e-12)
        n_boxes = max(self.min_num_intervals, int(np.ceil(span / self.ints_in_interval)))
        # Round up to a grid whose padded length has only small prime factors
        # (a prime length sends pocketfft to Bluestein's algorithm, 3-5x slower).
        while sfft.next_fast_len(2 * self.p * n_boxes, real=True) != 2 * self.p * n_boxes:
            n_boxes += 1
        return n_boxes, span / n_boxes * (1.0 + 1e-12)

    def _workers(self, n_grid):
        """scipy.fft's threads for a grid of ``n_grid`` nodes per dimension."""
        return self.n_threads if n_grid >= _THREADED_FFT_NODES else 1

    def _kernels(self, n_grid, h, dim):
        """Half spectra of w (real) and of g (imaginary parts).

        Returns ``(w_hat, g_hat)``, each of shape (G + 1,) in 1-D and (G + 1,
        G + 1) in 2-D, frequencies 0..G ([y, x] in 2-D). The spectrum of w at
        frequency k is w_hat[k] (2G - k: the same); that of g (2-D: g_x) is
        -1j * g_hat[k] (2G - k: its negative along g's own axis, the same along
        the other). g_y's is g_x's transposed (w r is symmetric in x and y). An
        even sequence of length 2G has the type-I DCT of its first G + 1 terms
        as its DFT; an odd one, -1j times the type-I DST of terms 1..G-1 (zero
        at 0 and G).
        """
        # float32: the spectra are float32 anyway, and a float64 build cost
        # twice the transforms.
        m = np.arange(n_grid + 1, dtype=np.float32) * np.float32(h)
        if dim == 1:
            d2 = m ** 2
        else:
            d2 = m[:, None] ** 2 + m[None, :] ** 2  # [y, x]
        r = np.reciprocal(1.0 + d2 * np.float32(1.0 / self.dof))
        w = r if self.dof == 1.0 else r ** np.float32(self.dof)
        # The odd kernel along x (the last axis): w r d_x, terms 1..G-1.
        g = (w * r)[..., 1:n_grid] * m[1:n_grid]
        # Offset G is never needed (circulant embedding): drop it.
        w[..., n_grid] = 0.0
        workers = self._workers(n_grid)
        g_hat = np.zeros(d2.shape, dtype=np.float32)
        if dim == 1:
            g_hat[1:n_grid] = sfft.dst(g, type=1, workers=workers, overwrite_x=True)
            return sfft.dct(w, type=1, workers=workers, overwrite_x=True), g_hat
        w[n_grid, :] = 0.0
        g[n_grid, :] = 0.0
        w_hat = sfft.dctn(w, type=1, workers=workers, overwrite_x=True)
        g_hat[:, 1:n_grid] = sfft.dct(
            sfft.dst(g, type=1, axis=1, workers=workers, overwrite_x=True),
            type=1, axis=0, workers=workers, overwrite_x=True)
        return w_hat, g_hat

    def _convolve(self, grid, w_hat, g_hat, n_grid, dim):
        """Potentials of g on the nodes, (d, G[, G]), and q^T W q (float)."""
        workers = self._workers(n_grid)
        G = n_grid
        if dim == 1:
            spectrum = sfft.rfft(grid, n=2 * G, workers=workers)
            power = spectrum.real ** 2 + spectrum.imag ** 2
        else:
            # Half the padded rows are zero: transform the G data rows along x,
            # then every column along y.
            half = sfft.rfft(grid, n=2 * G, axis=-1, workers=workers)
            spectrum = sfft.fft(half, n=2 * G, axis=-2, workers=workers,
                                overwrite_x=True)
            power = spectrum.real ** 2 + spectrum.imag ** 2
            # Fold y frequencies 2G - k onto k: w_hat holds rows 0..G.
            power = power[:G + 1]
            power[1:G] += (spectrum.real[:G:-1] ** 2 + spectrum.imag[:G:-1] ** 2)
        # Parseval over the full spectrum: the rfft's x columns 1..G-1 count twice.
        power *= w_hat
        quad = (2.0 * power.sum(dtype=np.float64) - power[..., 0].sum(dtype=np.float64)
                - power[..., G].sum(dtype=np.float64)) / (2 * G) ** dim
        # -1j times the spectrum, then the imaginary kernels' real factors.
        rotated = np.multiply(spectrum, np.complex64(-1j))
        if dim == 1:
            return sfft.irfft(rotated * g_hat, n=2 * G, workers=workers,
                              overwrite_x=True)[None, :G], quad
        g_y = np.ascontiguousarray(g_hat.T)
        products = np.empty((2,) + spectrum.shape, dtype=np.complex64)
        np.multiply(rotated[:G + 1], g_hat, out=products[0, :G + 1])
        np.multiply(rotated[G + 1:], g_hat[G - 1:0:-1], out=products[0, G + 1:])
        np.multiply(rotated[:G + 1], g_y, out=products[1, :G + 1])
        np.multiply(rotated[G + 1:], g_y[G - 1:0:-1], out=products[1, G + 1:])
        np.negative(products[1, G + 1:], out=products[1, G + 1:])
        # Only the first G rows and columns of the result are needed.
        cols = sfft.ifft(products, axis=-2, workers=workers, overwrite_x=True)[:, :G]
        return sfft.irfft(cols, n=2 * G, axis=-1, workers=workers)[:, :, :G], quad

    def __call__(self, Y, out):
        """R_i into ``out``; returns Z (each point's own w = 1 excluded).

        Parameters
        ----------
        Y : ndarray of shape (n_samples, dim), dim in {1, 2}
        out : ndarray of shape (n_samples, dim)

        Returns
        -------
        z : float
            sum_{i != j} w_ij.
        """
        n, dim = Y.shape
        lo = float(Y.min())
        n_boxes, box_width = self._grid(lo, float(Y.max()))
        p = self.p
        n_grid = n_boxes * p
        w_hat, g_hat = self._kernels(n_grid, box_width / p, dim)
        # A chunk count independent of the threads: the grids' sum, hence the
        # embedding, is the same on any number of cores.
        n_chunks = min(_SCATTER_CHUNKS, n // 4096 + 1)
        boxes = []
        weights = []
        for c in range(dim):
            b = np.empty(n, dtype=np.int64)
            w = np.empty((n, p))
            _interpolation_weights(np.ascontiguousarray(Y[:, c]), lo, box_width,
                                   n_boxes, p, b, w)
            boxes.append(b)
            weights.append(w)
        grids = np.empty((n_chunks,) + (n_grid,) * dim)
        if dim == 1:
            _scatter_1d(boxes[0], weights[0], p, n_chunks, grids)
        else:
            _scatter_2d(boxes[0], boxes[1], weights[0], weights[1], p, n_chunks,
                        grids)
        grid = grids.sum(axis=0) if n_chunks > 1 else grids[0]
        potentials, quad = self._convolve(grid.astype(np.float32), w_hat, g_hat,
                                          n_grid, dim)
        potentials = np.ascontiguousarray(potentials, dtype=np.float64)
        if dim == 1:
            _gather_1d(boxes[0], weights[0], potentials, p, out)
        else:
            _gather_2d(boxes[0], boxes[1], weights[0], weights[1], potentials, p, out)
        return quad - n
