"""Loaders for MNIST (IDX), binarized MNIST (.amat) and the Olivetti faces (.mat).

Each loader reads the published files as they are from a ``data_home`` folder,
verifies them against their checksums, downloads them from their original
location when they are missing (and ``download_if_missing``), and raises an
error naming the file when one is missing, truncated or corrupt.
"""

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

__all__ = [
    "get_data_home",
    "load_mnist",
    "load_binarized_mnist",
    "load_olivetti_faces",
]

_MNIST_URL = "http://yann.lecun.com/exdb/mnist/"
_BINARIZED_URL = "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/"
_OLIVETTI_URL = "https://cs.nyu.edu/~roweis/data/"

# sha256 of the payload: the decompressed bytes for the gzip files (the same
# whether stored compressed or not), the uint8 pixel array for the Olivetti .mat
# (its container has been re-saved by others with identical pixels).
_CHECKSUMS = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    "binarized_mnist_train.amat": "ad693b29f94c14277b095f5238ddefbbdaaae0939789dd2f4f0205278cee3e4d",
    "binarized_mnist_valid.amat": "1de3d397c40fe8eeb33dafd4099a1f665ec01e96d9be234aaeeac8a34930e2e2",
    "binarized_mnist_test.amat": "e6687bfea3f820c174f33b7865140b2a2dd2930ef786f35d45795fc193b5ab2c",
    "olivettifaces.mat": "7964c5cc44c85859441189f37c95bb64ac343e67b4fed0ca51e40c35ef12643b",
}


def get_data_home(data_home=None):
    """Folder that holds the data sets.

    Parameters
    ----------
    data_home : str or path-like, optional
        The folder. None uses the environment variable ``SKGEN_DATA``, else
        ``~/skgen_data``.

    Returns
    -------
    path : pathlib.Path
        The folder (not created).
    """
    if data_home is None:
        data_home = os.environ.get("SKGEN_DATA", Path.home() / "skgen_data")
    return Path(data_home).expanduser()


def _locate(folder, name, url, download_if_missing):
    """Path of ``name`` or ``name.gz`` in ``folder``; downloads ``name.gz`` if allowed."""
    for candidate in (folder / name, folder / (name + ".gz")):
        if candidate.is_file():
            return candidate
    target = folder / (name + ".gz") if url.endswith(".gz") else folder / name
    if not download_if_missing:
        raise FileNotFoundError(
            f"Data file {name!r} (or {name + '.gz'!r}) not found in {folder}; pass "
            "download_if_missing=True or copy the published file there."
        )
    folder.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.NamedTemporaryFile(dir=folder, delete=False)
    try:
        with urllib.request.urlopen(url, timeout=60) as response, tmp:
            shutil.copyfileobj(response, tmp)
        os.replace(tmp.name, target)
    except OSError as exc:
        Path(tmp.name).unlink(missing_ok=True)
        raise FileNotFoundError(
            f"Data file {name!r} not found in {folder} and its download from {url} "
            f"failed: {exc}"
        ) from exc
    return target


def _read_payload(path):
    """Bytes of ``path``, decompressed if gzip, with a clear error when truncated."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (EOFError, OSError, gzip.BadGzipFile) as exc:
        raise ValueError(f"Data file {str(path)!r} is truncated or corrupt: {exc}") from exc


def _verify(payload, name, path):
    digest = hashlib.sha256(payload).hexdigest()
    if digest != _CHECKSUMS[name]:
        raise ValueError(
            f"Data file {str(path)!r} fails its checksum: sha256 of its content is "
            f"{digest}, expected {_CHECKSUMS[name]}. Delete it to download it again."
        )


def _parse_idx(payload, path):
    """Parse an IDX file (LeCun's MNIST format): magic, dims, big-endian data.

    Returns
    -------
    array : ndarray
        uint8 array of the shape in the header.

    Raises
    ------
    ValueError
        When the header is not IDX or the data is shorter than the header says.
    """
    if len(payload) < 4 or payload[0] != 0 or payload[1] != 0:
        raise ValueError(f"Data file {str(path)!r} is not an IDX file (bad magic number)")
    type_code, ndim = payload[2], payload[3]
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if type_code not in dtypes or len(payload) < 4 + 4 * ndim:
        raise ValueError(f"Data file {str(path)!r} has a malformed IDX header")
    shape = tuple(int.from_bytes(payload[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(dtypes[type_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    data = payload[4 + 4 * ndim :]
    if len(data) != expected:
        raise ValueError(
            f"Data file {str(path)!r} is truncated: header promises {expected} bytes of "
            f"data, found {len(data)}"
        )
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _parse_amat(payload, path, n_features=784):
    """Parse a whitespace-separated 0/1 ``.amat`` text file, one image per line.

    Raises
    ------
    ValueError
        On a character other than 0, 1 and whitespace, or lines of the wrong length.
    """
    buf = np.frombuffer(payload, dtype=np.uint8)
    digit = (buf == ord("0")) | (buf == ord("1"))
    space = (buf == ord(" ")) | (buf == ord("\n")) | (buf == ord("\r")) | (buf == ord("\t"))
    if not np.all(digit | space):
        raise ValueError(f"Data file {str(path)!r} is malformed: values other than 0 and 1")
    values = buf[digit] - ord("0")
    n_lines = len([line for line in payload.split(b"\n") if line.strip()])
    if n_lines == 0 or values.size != n_lines * n_features:
        raise ValueError(
            f"Data file {str(path)!r} is malformed or truncated: {values.size} values on "
            f"{n_lines} lines, expected {n_features} per line"
        )
    return values.reshape(n_lines, n_features)


def _load(folder, name, url, download_if_missing, verify=True):
    path = _locate(folder, name, url, download_if_missing)
    payload = _read_payload(path)
    if verify:
        _verify(payload, name, path)
    return payload, path


def load_mnist(data_home=None, *, subset="train", download_if_missing=True, verify=True):
    """Load MNIST handwritten digits from the original IDX files.

    Parameters
    ----------
    data_home : str or path-like, optional
        Data folder; the files are read from (or downloaded to) its ``mnist/``
        subfolder: ``train-images-idx3-ubyte[.gz]`` and the three other IDX files.
        See :func:`get_data_home`.
    subset : {'train', 'test', 'all'}, default='train'
        60000 training images, 10000 test images, or both (train first).
    download_if_missing : bool, default=True
        Download missing files from LeCun's site.
    verify : bool, default=True
        Check each file's sha256 against the published data.

    Returns
    -------
    data : Bunch
        ``data``: uint8 array (n_samples, 784), grey levels 0-255;
        ``images``: uint8 array (n_samples, 28, 28); ``target``: uint8 array
        (n_samples,) of digits 0-9; ``DESCR``: str.

    Raises
    ------
    FileNotFoundError
        When a file is missing and cannot be downloaded (the message names it).
    ValueError
        When a file is truncated, malformed or fails its checksum (named), or
        ``subset`` is invalid.

    References
    ----------
    LeCun, Bottou, Bengio & Haffner (1998), "Gradient-based learning applied to
    document recognition"; http://yann.lecun.com/exdb/mnist/
    """
    parts = {"train": ["train"], "test": ["t10k"], "all": ["train", "t10k"]}
    if subset not in parts:
        raise ValueError(f"subset must be 'train', 'test' or 'all', got {subset!r}")
    folder = get_data_home(data_home) / "mnist"
    images, labels = [], []
    for prefix in parts[subset]:
        for kind, out in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
            name = f"{prefix}-{kind}"
            payload, path = _load(folder, name, _MNIST_URL + name + ".gz", download_if_missing, verify)
            out.append(_parse_idx(payload, path))
    images = np.concatenate(images)
    target = np.concatenate(labels)
    if images.shape[0] != target.shape[0]:
        raise ValueError("MNIST images and labels files disagree on the number of samples")
    return Bunch(
        data=images.reshape(len(images), -1),
        images=images,
        target=target,
        DESCR=f"MNIST handwritten digits ({subset}), 28x28 grey levels 0-255.",
    )


def load_binarized_mnist(data_home=None, *, subset="train", download_if_missing=True,
                         verify=True):
    """Load the fixed binarization of MNIST (Larochelle & Murray 2011).

    Parameters
    ----------
    data_home : str or path-like, optional
        Data folder; ``binarized_mnist_{train,valid,test}.amat[.gz]`` are read
        from its ``binarized_mnist/`` subfolder.
    subset : {'train', 'valid', 'test'}, default='train'
        50000, 10000 or 10000 images.
    download_if_missing : bool, default=True
        Download missing files from the original location.
    verify : bool, default=True
        Check each file's sha256 against the published data.

    Returns
    -------
    data : Bunch
        ``data``: uint8 array (n_samples, 784) of 0 and 1; ``images``: uint8
        array (n_samples, 28, 28); ``DESCR``: str. The set has no labels.

    Raises
    ------
    FileNotFoundError
        When the file is missing and cannot be downloaded.
    ValueError
        When the file is truncated, malformed or fails its checksum, or
        ``subset`` is invalid.

    References
    ----------
    Larochelle & Murray (2011), "The neural autoregressive distribution
    estimator", AISTATS; used by Burda, Grosse & Salakhutdinov (2015).
    """
    if subset not in ("train", "valid", "test"):
        raise ValueError(f"subset must be 'train', 'valid' or 'test', got {subset!r}")
    name = f"binarized_mnist_{subset}.amat"
    payload, path = _load(
        get_data_home(data_home) / "binarized_mnist", name, _BINARIZED_URL + name, download_if_missing, verify
    )
    X = _parse_amat(payload, path)
    return Bunch(
        data=X,
        images=X.reshape(-1, 28, 28),
        DESCR=f"Binarized MNIST ({subset}), fixed binarization of Larochelle & Murray.",
    )


def load_olivetti_faces(data_home=None, *, download_if_missing=True, verify=True):
    """Load the Olivetti / AT&T faces from the original ``olivettifaces.mat``.

    Parameters
    ----------
    data_home : str or path-like, optional
        Data folder; ``olivettifaces.mat`` is read from its ``olivetti/``
        subfolder.
    download_if_missing : bool, default=True
        Download the file from Sam Roweis's page when missing.
    verify : bool, default=True
        Check the sha256 of the pixel array.

    Returns
    -------
    data : Bunch
        ``data``: float32 array (400, 4096) scaled to [0, 1] as scikit-learn's
        ``fetch_olivetti_faces``; ``images``: float32 array (400, 64, 64);
        ``target``: int array (400,) of the person (0-39); ``DESCR``: str.

    Raises
    ------
    FileNotFoundError
        When the file is missing and cannot be downloaded.
    ValueError
        When the file is unreadable, has no ``faces`` variable of shape
        (4096, 400), or fails its checksum.

    References
    ----------
    Samaria & Harter (1994), "Parameterisation of a stochastic model for human
    face identification"; AT&T Laboratories Cambridge.
    """
    from scipy.io import loadmat

    name = "olivettifaces.mat"
    folder = get_data_home(data_home) / "olivetti"
    path = _locate(folder, name, _OLIVETTI_URL + name, download_if_missing)
    try:
        faces = loadmat(path)["faces"]
    except Exception as exc:  # scipy raises several types for broken files
        raise ValueError(f"Data file {str(path)!r} is truncated or corrupt: {exc}") from exc
    if faces.shape != (4096, 400):
        raise ValueError(
            f"Data file {str(path)!r}: variable 'faces' has shape {faces.shape}, "
            "expected (4096, 400)"
        )
    if verify:
        _verify(np.ascontiguousarray(faces, dtype=np.uint8).tobytes(), name, path)
    data = faces.T.astype(np.float32)
    data -= data.min()
    data /= data.max()
    # Columns are 64x64 images stored column-major: transpose each image.
    images = data.reshape(400, 64, 64).transpose(0, 2, 1).copy()
    return Bunch(
        data=images.reshape(400, -1),
        images=images,
        target=np.repeat(np.arange(40), 10),
        DESCR="Olivetti faces (AT&T Laboratories Cambridge), 400 images of 40 people.",
    )
