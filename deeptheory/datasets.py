"""Real image data from local files, and the papers' preprocessing into binary tasks.

No download happens here: every loader reads files you already have, in their standard
formats, and says where to get them when they are missing.

* **IDX** (MNIST, Fashion-MNIST, EMNIST): a big-endian header ``00 00 TT NN`` (TT the
  element type, 0x08 = unsigned byte; NN the number of dimensions), then NN int32 sizes,
  then the data in row-major order. Images are ``idx3`` (magic 2051 = 0x00000803),
  labels ``idx1`` (magic 2049 = 0x00000801). Files may be gzipped or not (detected from
  their first bytes, not their names). Standard names: ``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``
  (MNIST and Fashion-MNIST), and ``emnist-<subset>-{train,test}-{images-idx3,labels-idx1}
  -ubyte`` (EMNIST), each optionally with ``.gz``.
* **EMNIST convention**: the EMNIST files store each 28×28 image transposed with respect
  to MNIST (read row-major, a letter appears mirrored and rotated by 90°). With
  ``upright=True`` (the default) :func:`load_emnist` transposes every image back, so
  ``images[i]`` is indexed [row, column] like MNIST. EMNIST-letters labels run from 1
  (a) to 26 (z).
* **CIFAR-10** python version: ``cifar-10-batches-py/data_batch_1`` … ``data_batch_5`` and
  ``test_batch``, pickled dicts with ``b"data"`` (10000, 3072) uint8 (1024 red, 1024
  green, 1024 blue values per image, each a row-major 32×32 plane) and ``b"labels"``.
  They are read with a restricted unpickler that can only build dicts, lists, strings,
  bytes, numbers and plain numpy arrays: a pickle that asks for any other global (e.g.
  ``os.system``) is refused, so a tampered file cannot run code.
* **Embedded default**: :func:`load_digits` returns the 1797 8×8 handwritten digits that
  ship with scikit-learn (pixel values 0 … 16), so examples and tests run offline.

Preprocessing (:func:`preprocess`), as in Geiger et al. 2020 and Spigler et al. 2020
(shared/science.md §2.2): the label becomes y = +1 for an **odd** class index and −1 for
an even one (y = 2 (label mod 2) − 1); the mean image is subtracted; optionally the images
are projected on their top principal components (optionally whitened); finally every
image is rescaled to Euclidean norm √dim, dim being the number of features left.
"""

from __future__ import annotations

import gzip
import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from deeptheory._validation import check_int

Tensor = torch.Tensor

__all__ = [
    "Dataset",
    "load_cifar10",
    "load_digits",
    "load_emnist",
    "load_fashion_mnist",
    "load_mnist",
    "preprocess",
    "read_cifar_batch",
    "read_idx",
]

#: IDX element types: code → (numpy big-endian dtype).
_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

_SOURCES = {
    "MNIST": "http://yann.lecun.com/exdb/mnist/ (mirror: "
    "https://ossci-datasets.s3.amazonaws.com/mnist/)",
    "Fashion-MNIST": "https://github.com/zalandoresearch/fashion-mnist (data/fashion/)",
    "EMNIST": "https://www.nist.gov/itl/products-and-services/emnist-dataset "
    "(the 'gzip' archive; unzip it)",
    "CIFAR-10": "https://www.cs.toronto.edu/~kriz/cifar.html (CIFAR-10 python "
    "version, cifar-10-python.tar.gz; untar it)",
}


@dataclass(frozen=True)
class Dataset:
    """Images and integer class labels, as stored (no preprocessing).

    Attributes:
      images: uint8 tensor, (n, 28, 28) for the IDX sets, (n, 3, 32, 32) for CIFAR-10,
        (n, 8, 8) for the digits.
      labels: int64 tensor (n,) of class indices.
      name: e.g. ``"mnist/train"``, ``"cifar10/test"``, ``"digits"``.
    """

    images: Tensor
    labels: Tensor
    name: str

    def __post_init__(self) -> None:
        if len(self.images) != len(self.labels):
            raise ValueError(
                f"{self.name}: {len(self.images)} images but {len(self.labels)} labels"
            )

    def __len__(self) -> int:
        return len(self.labels)


# ---------------------------------------------------------------------------- IDX


def _read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped if it starts with the gzip magic 1f 8b."""
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, OSError) as error:
        raise ValueError(
            f"{path}: corrupt or truncated gzip file ({error}); download it again"
        ) from None


def read_idx(path: str | Path, *, magic: int | None = None) -> np.ndarray:
    """Read one IDX file (gzipped or raw) into a numpy array of its stored shape.

    Args:
      path: the file.
      magic: the expected magic number as an int (2051 for images, 2049 for labels);
        None accepts any valid IDX header.

    Returns:
      A native-endian array (uint8 for ``ubyte`` files) of shape (size_1, …, size_NN).

    Raises:
      FileNotFoundError: no such file. ValueError: not an IDX file (bad magic number),
      the wrong kind of IDX file, or a file shorter or longer than its header says.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no IDX file at {path}")
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: truncated file ({len(data)} bytes, no IDX header)")
    found = int.from_bytes(data[:4], "big")
    if data[:2] != b"\x00\x00" or data[2] not in _IDX_TYPES or data[3] == 0:
        raise ValueError(
            f"{path}: bad magic number 0x{found:08x}; an IDX file starts with 00 00, "
            f"a type code in {sorted(hex(t) for t in _IDX_TYPES)} and the number of "
            "dimensions (images: 0x00000803 = 2051, labels: 0x00000801 = 2049)"
        )
    if magic is not None and found != magic:
        raise ValueError(
            f"{path}: wrong magic number {found} (0x{found:08x}); expected {magic} "
            f"(0x{magic:08x}, {'images' if magic == IMAGES_MAGIC else 'labels'})"
        )
    dtype, ndim = _IDX_TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated file ({len(data)} bytes, header {header})")
    shape = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        problem = "truncated file" if len(data) < expected else "trailing bytes"
        raise ValueError(
            f"{path}: {problem}: the header says shape {shape} of {dtype.str}, i.e. "
            f"{expected} bytes, but the (uncompressed) file has {len(data)}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def _find(folder: Path, stem: str, *, dataset: str, expected: list[str]) -> Path:
    """``folder/stem.gz`` or ``folder/stem``; a helpful error if neither exists."""
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{dataset}: no folder {folder}. Expected it to hold "
            f"{', '.join(expected)} (each optionally .gz); get them from "
            f"{_SOURCES[dataset]}"
        )
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(
        f"{dataset}: {folder} has no {stem} (or {stem}.gz). Expected "
        f"{', '.join(expected)} (each optionally .gz); get them from "
        f"{_SOURCES[dataset]}"
    )


def _load_idx_pair(
    folder: str | Path, prefix: str, split: str, *, dataset: str, name: str
) -> tuple[np.ndarray, np.ndarray]:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    folder = Path(folder)
    test = "test" if prefix.startswith("emnist") else "t10k"
    stems = {
        s: (f"{prefix}{s_}-images-idx3-ubyte", f"{prefix}{s_}-labels-idx1-ubyte")
        for s, s_ in (("train", "train"), ("test", test))
    }
    expected = [n for pair in stems.values() for n in pair]
    image_stem, label_stem = stems[split]
    images = read_idx(
        _find(folder, image_stem, dataset=dataset, expected=expected),
        magic=IMAGES_MAGIC,
    )
    labels = read_idx(
        _find(folder, label_stem, dataset=dataset, expected=expected),
        magic=LABELS_MAGIC,
    )
    if len(images) != len(labels):
        raise ValueError(
            f"{name}: {len(images)} images in {image_stem} but {len(labels)} labels "
            f"in {label_stem}"
        )
    return images, labels


def _dataset(images: np.ndarray, labels: np.ndarray, name: str) -> Dataset:
    return Dataset(
        torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8)),
        torch.from_numpy(np.asarray(labels, dtype=np.int64)),
        name,
    )


def load_mnist(folder: str | Path, split: str = "train") -> Dataset:
    """MNIST from ``folder`` holding the four standard IDX files (optionally gzipped).

    Args:
      folder: e.g. ``~/data/mnist``, with ``train-images-idx3-ubyte.gz`` etc.
      split: ``"train"`` (60 000 images) or ``"test"`` (the ``t10k`` files, 10 000).

    Returns:
      A :class:`Dataset`: images (n, 28, 28) uint8, labels 0 … 9.
    """
    images, labels = _load_idx_pair(
        folder, "", split, dataset="MNIST", name=f"mnist/{split}"
    )
    return _dataset(images, labels, f"mnist/{split}")


def load_fashion_mnist(folder: str | Path, split: str = "train") -> Dataset:
    """Fashion-MNIST: same file names and format as MNIST (see :func:`load_mnist`)."""
    images, labels = _load_idx_pair(
        folder, "", split, dataset="Fashion-MNIST", name=f"fashion-mnist/{split}"
    )
    return _dataset(images, labels, f"fashion-mnist/{split}")


def load_emnist(
    folder: str | Path,
    split: str = "train",
    *,
    subset: str = "letters",
    upright: bool = True,
) -> Dataset:
    """EMNIST from ``folder`` holding ``emnist-<subset>-<split>-images-idx3-ubyte(.gz)``.

    Args:
      folder: the unzipped ``gzip`` folder of the EMNIST archive.
      split: ``"train"`` or ``"test"``.
      subset: ``"letters"`` (labels 1 … 26), ``"digits"``, ``"mnist"``, ``"balanced"``,
        ``"byclass"`` or ``"bymerge"``.
      upright: transpose every stored image (see the module docstring) so that it
        reads like MNIST; False returns the images as stored.
    """
    allowed = ("letters", "digits", "mnist", "balanced", "byclass", "bymerge")
    if subset not in allowed:
        raise ValueError(f"subset must be one of {allowed}; got {subset!r}")
    name = f"emnist-{subset}/{split}"
    images, labels = _load_idx_pair(
        folder, f"emnist-{subset}-", split, dataset="EMNIST", name=name
    )
    if upright:
        if images.ndim != 3:
            raise ValueError(f"{name}: expected (n, 28, 28) images; got {images.shape}")
        images = images.transpose(0, 2, 1)
    return _dataset(images, labels, name)


# ----------------------------------------------------------------------- CIFAR-10


def _reconstruct(cls, shape, dtype):  # numpy's pickle constructor, plain arrays only
    if cls is not np.ndarray:
        raise _Refused(f"refusing to build a {cls!r} (not numpy.ndarray)")
    if isinstance(dtype, bytes):
        dtype = dtype.decode("ascii")
    return np.ndarray.__new__(np.ndarray, shape, np.dtype(dtype))


def _frombuffer(buffer, dtype, shape, order):  # numpy's protocol-5 constructor
    return np.frombuffer(bytes(buffer), dtype=dtype).reshape(shape, order=order).copy()


def _encode(
    text, encoding="latin1"
):  # how protocol-2 pickles from Python 3 store bytes
    return str(text).encode(encoding)


#: The only globals a CIFAR pickle may name, mapped to what they build.
_SAFE_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): _encode,
}


class _Refused(pickle.UnpicklingError):
    """A pickle named a global outside :data:`_SAFE_GLOBALS`."""


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds dicts, lists, tuples, str, bytes, numbers and numpy arrays; nothing else."""

    def find_class(self, module: str, name: str):
        try:
            return _SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise _Refused(
                f"refusing to load the global {module}.{name}: a CIFAR-10 batch only "
                "holds dicts, lists, bytes and numpy arrays"
            ) from None


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch file → ``(images (n, 3, 32, 32) uint8, labels (n,))``.

    Read with a restricted unpickler (see the module docstring); a file naming any
    other global raises ``pickle.UnpicklingError`` before anything is executed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no CIFAR-10 batch file at {path}")
    raw = path.read_bytes()
    try:
        batch = _RestrictedUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except _Refused as error:
        raise pickle.UnpicklingError(f"{path}: {error}") from None
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        IndexError,
        KeyError,
    ) as error:
        raise ValueError(
            f"{path}: truncated or corrupt CIFAR-10 batch ({type(error).__name__}: "
            f"{error})"
        ) from None
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a pickled dict; got {type(batch).__name__}")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise ValueError(
            f"{path}: a CIFAR-10 batch has keys b'data' and b'labels'; "
            f"got {sorted(map(str, batch))}"
        )
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(
            f"{path}: b'data' must be (n, 3072) uint8; got {data.shape} {data.dtype}"
        )
    if labels.shape != (len(data),):
        raise ValueError(
            f"{path}: {len(data)} images but labels of shape {labels.shape}"
        )
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar10(folder: str | Path, split: str = "train") -> Dataset:
    """CIFAR-10 (python version) from ``folder``.

    Args:
      folder: ``cifar-10-batches-py`` itself, or the folder containing it.
      split: ``"train"`` (``data_batch_1`` … ``data_batch_5``, 50 000 images) or
        ``"test"`` (``test_batch``, 10 000).

    Returns:
      A :class:`Dataset`: images (n, 3, 32, 32) uint8 (channels R, G, B), labels 0 … 9.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    folder = Path(folder)
    if (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    names = (
        [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    )
    expected = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    where = f"; get them from {_SOURCES['CIFAR-10']}"
    if not folder.is_dir():
        raise FileNotFoundError(
            f"CIFAR-10: no folder {folder}. Expected cifar-10-batches-py/ with "
            f"{', '.join(expected)}{where}"
        )
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10: {folder} lacks {', '.join(missing)}. Expected "
            f"{', '.join(expected)}{where}"
        )
    parts = [read_cifar_batch(folder / n) for n in names]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return _dataset(images, labels, f"cifar10/{split}")


# ------------------------------------------------------------------------ digits


def load_digits() -> Dataset:
    """The 1797 8×8 handwritten digits bundled with scikit-learn (values 0 … 16).

    The embedded default: no file needed. Labels 0 … 9, about 180 per class.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return _dataset(bunch.images.astype(np.uint8), bunch.target, "digits")


# ------------------------------------------------------------------ preprocessing


def preprocess(
    x: Tensor | np.ndarray,
    labels: Tensor | np.ndarray,
    *,
    parity: bool = True,
    center: bool = True,
    normalize: bool = True,
    pca: int | None = None,
    whiten: bool = False,
) -> tuple[Tensor, Tensor]:
    """The papers' preprocessing of images into a binary task, in float64.

    Steps, in order (each optional):

    1. flatten every image to a vector of dim = its number of pixels (× channels);
    2. ``center``: subtract the mean image (the mean over the n given images);
    3. ``pca=k``: project on the top k principal directions of the mean-removed images
       (eigenvectors of their covariance, signs fixed so that each direction's largest
       entry in absolute value is positive); ``whiten`` divides each component by its
       standard deviation; dim becomes k;
    4. ``normalize``: rescale every image to Euclidean norm √dim;
    5. ``parity``: y = +1 for an odd class label, −1 for an even one (2 (label mod 2) − 1);
       without it the labels are returned as they are (int64).

    Preprocess the pooled images once and split afterwards, so that train and test
    share one mean image and one PCA basis.

    Args:
      x: (n, …) images, any numeric dtype. labels: (n,) integer class labels.

    Returns:
      ``(x, y)``: (n, dim) float64 and (n,) float64 ±1 (or int64 labels).
    """
    x = torch.as_tensor(x)
    labels = torch.as_tensor(labels)
    if x.ndim < 2:
        raise ValueError(f"x must have shape (n, ...); got {tuple(x.shape)}")
    if x.dtype in (torch.bool, torch.complex64, torch.complex128):
        raise TypeError(f"x must hold real numbers; got {x.dtype}")
    if labels.shape != (len(x),):
        raise ValueError(
            f"labels must have shape ({len(x)},) (one per image); "
            f"got {tuple(labels.shape)}"
        )
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be integers; got {labels.dtype}")
    n = len(x)
    x = x.reshape(n, -1).to(torch.float64)
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x contains non-finite values (nan or inf)")
    if center:
        x = x - x.mean(dim=0)
    if pca is not None:
        k = check_int("pca", pca, minimum=1)
        if k > x.shape[1]:
            raise ValueError(f"pca must be <= dim = {x.shape[1]}; got {k}")
        x = x @ _principal_directions(x, k, whiten=whiten)
    elif whiten:
        raise ValueError("whiten=True needs pca=k (whitening is done in the PCA basis)")
    if normalize:
        norms = x.norm(dim=1, keepdim=True)
        if bool((norms == 0).any()):
            bad = int((norms[:, 0] == 0).nonzero()[0])
            raise ValueError(
                f"image {bad} has norm 0 after the earlier steps; it cannot be "
                "rescaled to norm √dim"
            )
        x = x * (x.shape[1] ** 0.5 / norms)
    y = 2.0 * (labels % 2).to(torch.float64) - 1.0 if parity else labels.to(torch.int64)
    return x, y


def _principal_directions(x: Tensor, k: int, *, whiten: bool) -> Tensor:
    """(dim, k) top-k eigenvectors of the covariance of the rows of x (about their
    mean), largest first, each scaled by 1/std if ``whiten``."""
    centered = x - x.mean(dim=0)
    covariance = centered.T @ centered / max(len(x) - 1, 1)
    values, vectors = torch.linalg.eigh(covariance)  # ascending
    values, vectors = values.flip(0)[:k], vectors.flip(1)[:, :k]
    rows = vectors.abs().argmax(dim=0)
    vectors = vectors * torch.sign(vectors[rows, torch.arange(k)])
    if whiten:
        if bool((values <= 0).any()):
            raise ValueError(
                f"whiten: the top {k} principal variances include zeros; use a smaller "
                "pca"
            )
        vectors = vectors / values.sqrt()
    return vectors
