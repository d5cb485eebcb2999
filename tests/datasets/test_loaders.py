"""Loaders: parsers on small files the tests write, and the real files when present."""

import gzip
import hashlib

import numpy as np
import pytest

from skgen.datasets import (
    get_data_home,
    load_binarized_mnist,
    load_mnist,
    load_olivetti_faces,
)
from skgen.datasets import _loaders


def _idx_bytes(array, type_code=0x08):
    header = bytes([0, 0, type_code, array.ndim])
    header += b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + array.astype(">u1").tobytes()


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A 5-image MNIST in IDX format, with its checksums registered."""
    rng = np.random.RandomState(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    files = {
        "train-images-idx3-ubyte": _idx_bytes(rng.randint(0, 256, (5, 28, 28))),
        "train-labels-idx1-ubyte": _idx_bytes(np.arange(5)),
        "t10k-images-idx3-ubyte": _idx_bytes(rng.randint(0, 256, (2, 28, 28))),
        "t10k-labels-idx1-ubyte": _idx_bytes(np.array([7, 8])),
    }
    checksums = dict(_loaders._CHECKSUMS)
    for name, payload in files.items():
        with gzip.open(folder / (name + ".gz"), "wb") as f:
            f.write(payload)
        checksums[name] = hashlib.sha256(payload).hexdigest()
    monkeypatch.setattr(_loaders, "_CHECKSUMS", checksums)
    return tmp_path


def test_load_mnist_parses_idx(tiny_mnist):
    train = load_mnist(tiny_mnist, download_if_missing=False)
    assert train.data.shape == (5, 784) and train.images.shape == (5, 28, 28)
    assert train.data.dtype == np.uint8
    np.testing.assert_array_equal(train.target, np.arange(5))
    both = load_mnist(tiny_mnist, subset="all", download_if_missing=False)
    np.testing.assert_array_equal(both.target, [0, 1, 2, 3, 4, 7, 8])


def test_uncompressed_files_are_read_too(tiny_mnist):
    folder = tiny_mnist / "mnist"
    for gz in folder.glob("*.gz"):
        gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    assert load_mnist(tiny_mnist, download_if_missing=False).data.shape == (5, 784)


def test_missing_file_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path, download_if_missing=False)


def test_failed_download_named(tmp_path, monkeypatch):
    import urllib.request

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError, match="binarized_mnist_train.amat.*download"):
        load_binarized_mnist(tmp_path)
    assert not any((tmp_path / "binarized_mnist").iterdir())  # no partial file left


def test_truncated_file_named(tiny_mnist):
    path = tiny_mnist / "mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz.*truncated"):
        load_mnist(tiny_mnist, download_if_missing=False)


def test_checksum_failure_named(tiny_mnist):
    path = tiny_mnist / "mnist" / "train-labels-idx1-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(_idx_bytes(np.array([9, 9, 9, 9, 9])))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz.*checksum"):
        load_mnist(tiny_mnist, download_if_missing=False)


def test_idx_header_checks(tmp_path):
    with pytest.raises(ValueError, match="not an IDX"):
        _loaders._parse_idx(b"\x01\x02\x08\x01", tmp_path)
    with pytest.raises(ValueError, match="truncated"):
        _loaders._parse_idx(_idx_bytes(np.arange(5))[:-2], tmp_path)


def test_amat_parser(tmp_path):
    X = np.random.RandomState(0).randint(0, 2, (3, 784))
    text = "\n".join(" ".join(map(str, row)) for row in X).encode() + b"\n"
    np.testing.assert_array_equal(_loaders._parse_amat(text, tmp_path), X)
    with pytest.raises(ValueError, match="other than 0 and 1"):
        _loaders._parse_amat(text.replace(b"1", b"2", 1), tmp_path)
    with pytest.raises(ValueError, match="truncated"):
        _loaders._parse_amat(text[:-100], tmp_path)


def test_olivetti_mat_parser(tmp_path, monkeypatch):
    from scipy.io import savemat

    faces = np.random.RandomState(0).randint(0, 256, (4096, 400)).astype(np.uint8)
    (tmp_path / "olivetti").mkdir()
    savemat(tmp_path / "olivetti" / "olivettifaces.mat", {"faces": faces})
    checksums = dict(_loaders._CHECKSUMS)
    checksums["olivettifaces.mat"] = hashlib.sha256(faces.tobytes()).hexdigest()
    monkeypatch.setattr(_loaders, "_CHECKSUMS", checksums)
    bunch = load_olivetti_faces(tmp_path, download_if_missing=False)
    assert bunch.data.shape == (400, 4096) and bunch.images.shape == (400, 64, 64)
    assert bunch.data.min() == 0 and bunch.data.max() == 1
    # Column-major 64x64 columns: image 0, row 1, column 0 is faces[1, 0].
    scaled = (faces.astype(np.float32) - faces.min()) / (faces.max() - faces.min())
    assert bunch.images[0, 1, 0] == pytest.approx(scaled[1, 0])
    np.testing.assert_array_equal(np.bincount(bunch.target), np.full(40, 10))


def test_invalid_subset(tmp_path):
    with pytest.raises(ValueError, match="subset"):
        load_mnist(tmp_path, subset="validation")
    with pytest.raises(ValueError, match="subset"):
        load_binarized_mnist(tmp_path, subset="all")


def test_data_home_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SKGEN_DATA", str(tmp_path))
    assert get_data_home() == tmp_path


def test_real_files(data_home):
    mnist = load_mnist(data_home, subset="test")
    assert mnist.data.shape == (10000, 784)
    np.testing.assert_array_equal(np.bincount(mnist.target)[:3], [980, 1135, 1032])
    binarized = load_binarized_mnist(data_home, subset="valid")
    assert binarized.data.shape == (10000, 784)
    assert set(np.unique(binarized.data)) == {0, 1}
    faces = load_olivetti_faces(data_home)
    assert faces.data.shape == (400, 4096)
    assert faces.data.min() == 0 and faces.data.max() == 1
