"""Loaders for the real data sets: MNIST, binarized MNIST and the Olivetti faces."""

from ._loaders import get_data_home, load_binarized_mnist, load_mnist, load_olivetti_faces

__all__ = ["get_data_home", "load_mnist", "load_binarized_mnist", "load_olivetti_faces"]
