"""Local real-data loaders and the papers' preprocessing: tiny files written here in each
standard format (IDX gzip and raw, CIFAR-10 pickles), round trips, EMNIST's transposition,
the preprocessing invariants, PCA against numpy's SVD, and the errors (missing files,
truncated files, bad magic numbers, a malicious pickle)."""

import gzip
import os
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from deeptheory.datasets import (
    Dataset,
    load_cifar10,
    load_digits,
    load_emnist,
    load_fashion_mnist,
    load_mnist,
    preprocess,
    read_cifar_batch,
    read_idx,
)

TYPE_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
              np.float32: 0x0D, np.float64: 0x0E}  # fmt: skip


def idx_bytes(array):
    """The IDX encoding of ``array``: 00 00 type ndim, big-endian sizes and data."""
    header = bytes([0, 0, TYPE_CODES[array.dtype.type], array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, *, gz):
    data = idx_bytes(array)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def fake_images(n, seed, shape=(28, 28)):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)


def write_mnist_folder(folder, *, gz, prefix="", test="t10k"):
    folder.mkdir(parents=True, exist_ok=True)
    sets = {}
    for split, stem, n in (("train", f"{prefix}train", 12), ("test", test, 5)):
        images = fake_images(n, seed=n)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(folder / f"{stem}-images-idx3-ubyte", images, gz=gz)
        write_idx(folder / f"{stem}-labels-idx1-ubyte", labels, gz=gz)
        sets[split] = (images, labels)
    return sets


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("loader", [load_mnist, load_fashion_mnist])
def test_mnist_format_round_trip(tmp_path, gz, loader):
    sets = write_mnist_folder(tmp_path, gz=gz)
    for split, (images, labels) in sets.items():
        data = loader(tmp_path, split)
        assert isinstance(data, Dataset) and len(data) == len(labels)
        assert data.images.dtype == torch.uint8 and data.labels.dtype == torch.int64
        assert np.array_equal(data.images.numpy(), images)
        assert np.array_equal(data.labels.numpy(), labels)
        assert data.name.endswith(split)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32,
                                   np.float32, np.float64])  # fmt: skip
@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_every_type(tmp_path, dtype, gz):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype is np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "a-idx3", array, gz=gz)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert np.array_equal(back, array)


def test_gzip_is_detected_from_the_content_not_the_name(tmp_path):
    array = np.arange(6, dtype=np.uint8)
    path = tmp_path / "labels-idx1-ubyte"  # no .gz suffix, gzipped content
    path.write_bytes(gzip.compress(idx_bytes(array)))
    assert np.array_equal(read_idx(path, magic=2049), array)


def test_emnist_images_are_transposed_upright(tmp_path):
    """EMNIST stores each image transposed; upright=True transposes it back."""
    sets = write_mnist_folder(tmp_path, gz=True, prefix="emnist-letters-",
                              test="emnist-letters-test")  # fmt: skip
    stored, labels = sets["train"]
    upright = load_emnist(tmp_path, "train")
    assert np.array_equal(upright.images.numpy(), stored.transpose(0, 2, 1))
    assert np.array_equal(upright.labels.numpy(), labels)
    raw = load_emnist(tmp_path, "train", upright=False)
    assert np.array_equal(raw.images.numpy(), stored)
    assert load_emnist(tmp_path, "test").name == "emnist-letters/test"
    with pytest.raises(ValueError, match="subset must be one of"):
        load_emnist(tmp_path, subset="kanji")


def test_missing_folder_and_files_say_what_to_get(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        load_mnist(tmp_path / "nowhere")
    message = str(error.value)
    assert str(tmp_path / "nowhere") in message
    assert "train-images-idx3-ubyte" in message and "t10k-labels-idx1-ubyte" in message
    assert "yann.lecun.com" in message
    (tmp_path / "fashion").mkdir()
    with pytest.raises(FileNotFoundError, match="zalandoresearch") as error:
        load_fashion_mnist(tmp_path / "fashion", "test")
    assert "t10k-images-idx3-ubyte" in str(error.value)
    with pytest.raises(FileNotFoundError, match="emnist-letters-train-images"):
        load_emnist(tmp_path / "fashion")
    with pytest.raises(ValueError, match="split must be"):
        load_mnist(tmp_path, "validation")


def test_truncated_files_are_reported(tmp_path):
    array = fake_images(3, seed=0)
    raw = idx_bytes(array)
    path = tmp_path / "raw-idx3"
    path.write_bytes(raw[:-10])
    with pytest.raises(ValueError, match="truncated file") as error:
        read_idx(path)
    assert str(path) in str(error.value)
    path.write_bytes(raw[:6])  # inside the header
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)
    path.write_bytes(raw + b"\x00")
    with pytest.raises(ValueError, match="trailing bytes"):
        read_idx(path)
    gz = tmp_path / "gz-idx3.gz"
    gz.write_bytes(gzip.compress(raw)[:-20])
    with pytest.raises(ValueError, match="truncated gzip"):
        read_idx(gz)


def test_bad_and_wrong_magic_numbers(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x89PNG" + bytes(100))
    with pytest.raises(ValueError, match="bad magic number 0x89504e47"):
        read_idx(path)
    labels = write_idx(tmp_path / "labels", np.arange(5, dtype=np.uint8), gz=False)
    with pytest.raises(ValueError, match="wrong magic number 2049"):
        read_idx(labels, magic=2051)
    # an MNIST folder whose image file is really a label file
    write_mnist_folder(tmp_path / "m", gz=False)
    (tmp_path / "m" / "train-images-idx3-ubyte").write_bytes(
        idx_bytes(np.arange(12, dtype=np.uint8))
    )
    with pytest.raises(ValueError, match="expected 2051"):
        load_mnist(tmp_path / "m")


def test_image_and_label_counts_must_match(tmp_path):
    write_mnist_folder(tmp_path, gz=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(11, np.uint8), gz=False)
    with pytest.raises(ValueError, match=r"12 images .* but 11 labels"):
        load_mnist(tmp_path)


# ----------------------------------------------------------------------- CIFAR-10


def cifar_batch(n, seed):
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": b"batch " + str(seed).encode(),
        b"labels": [int(v) for v in rng.integers(0, 10, n)],
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"filenames": [b"img_%d.png" % i for i in range(n)],
    }


def write_cifar_folder(root, *, protocol):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        batches[name] = cifar_batch(3 + i, seed=i)
        (folder / name).write_bytes(pickle.dumps(batches[name], protocol=protocol))
    return folder, batches


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar10_round_trip(tmp_path, protocol):
    folder, batches = write_cifar_folder(tmp_path, protocol=protocol)
    train = load_cifar10(tmp_path, "train")  # the parent folder works too
    data = np.concatenate([batches[f"data_batch_{k}"][b"data"] for k in range(1, 6)])
    labels = [v for k in range(1, 6) for v in batches[f"data_batch_{k}"][b"labels"]]
    assert train.images.shape == (len(data), 3, 32, 32)
    assert np.array_equal(train.images.numpy().reshape(len(data), -1), data)
    assert train.labels.tolist() == labels
    # channel-major rows: the first 1024 values are the red 32×32 plane
    assert np.array_equal(train.images[0, 0].numpy().ravel(), data[0, :1024])
    test = load_cifar10(folder, "test")
    assert np.array_equal(test.labels.numpy(), batches["test_batch"][b"labels"])


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "data_batch_1"
    batch = cifar_batch(2, seed=0)
    batch[b"labels"] = _Exploit(marker)
    path.write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load the global"):
        read_cifar_batch(path)
    assert not marker.exists()
    path.write_bytes(pickle.dumps(torch.zeros(3)))  # any non-numpy class too
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        read_cifar_batch(path)


def test_cifar_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cs\.toronto\.edu") as error:
        load_cifar10(tmp_path / "none")
    assert "data_batch_1" in str(error.value) and "test_batch" in str(error.value)
    folder, _ = write_cifar_folder(tmp_path, protocol=2)
    (folder / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="lacks data_batch_3"):
        load_cifar10(folder)
    raw = (folder / "test_batch").read_bytes()
    (folder / "test_batch").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_cifar10(folder, "test")
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": [1, 2]}, protocol=2))
    with pytest.raises(ValueError, match="b'labels'"):
        load_cifar10(folder, "test")


# ------------------------------------------------------------- digits, preprocess


def test_embedded_digits():
    data = load_digits()
    assert data.images.shape == (1797, 8, 8) and len(data) == 1797
    assert int(data.images.max()) == 16 and int(data.images.min()) == 0
    assert torch.bincount(data.labels).tolist()[:2] == [178, 182]


def test_preprocess_invariants_on_digits():
    data = load_digits()
    x, y = preprocess(data.images, data.labels)
    assert x.shape == (1797, 64) and x.dtype == torch.float64
    torch.testing.assert_close(x.norm(dim=1), torch.full((1797,), 8.0, dtype=x.dtype))
    # parity: +1 for odd digits, and the classes are balanced to 1 %
    assert torch.equal(y, torch.where(data.labels % 2 == 1, 1.0, -1.0).double())
    assert abs(float(y.mean())) < 0.01
    centered, _ = preprocess(data.images, data.labels, normalize=False)
    assert float(centered.mean(dim=0).abs().max()) < 1e-12
    raw, labels = preprocess(data.images, data.labels, center=False,
                             normalize=False, parity=False)  # fmt: skip
    assert torch.equal(raw, data.images.reshape(1797, 64).double())
    assert torch.equal(labels, data.labels)


@given(seed=st.integers(0, 2**31), n=st.integers(3, 30), dim=st.integers(2, 12))
def test_preprocess_norms_and_mean(seed, n, dim):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, dim)).astype(np.uint8)
    images[0, 0] = 0
    images[1, 0] = 255  # not every image equal to the mean
    x, y = preprocess(images, rng.integers(0, 10, n), normalize=False)
    assert float(x.mean(0).abs().max()) < 1e-9
    nonzero = x.norm(dim=1) > 1e-9
    x, _ = preprocess(images[nonzero.numpy()], rng.integers(0, 10, int(nonzero.sum())))
    torch.testing.assert_close(x.norm(dim=1), torch.full((len(x),), dim**0.5).double())
    assert set(y.tolist()) <= {-1.0, 1.0}


def test_pca_against_numpy_svd():
    data = load_digits()
    k = 10
    x, _ = preprocess(data.images, data.labels, pca=k, normalize=False)
    flat = data.images.reshape(1797, 64).numpy().astype(np.float64)
    centered = flat - flat.mean(0)
    _, s, vt = np.linalg.svd(centered, full_matrices=False)
    expected = centered @ vt[:k].T
    signs = np.sign((x.numpy() * expected).sum(0))  # SVD signs are arbitrary
    np.testing.assert_allclose(x.numpy(), expected * signs, atol=1e-9)
    # components ordered by variance, s² / (n − 1)
    np.testing.assert_allclose(x.numpy().var(0, ddof=1), s[:k] ** 2 / 1796, rtol=1e-10)
    white, _ = preprocess(data.images, data.labels, pca=k, whiten=True,
                          normalize=False)  # fmt: skip
    np.testing.assert_allclose(np.cov(white.numpy().T), np.eye(k), atol=1e-10)
    reduced, _ = preprocess(data.images, data.labels, pca=k)
    torch.testing.assert_close(
        reduced.norm(dim=1), torch.full((1797,), k**0.5).double()
    )


def test_preprocess_errors():
    images, labels = np.ones((4, 3, 3), np.uint8), np.arange(4)
    images[1] = 0
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\)"):
        preprocess(images, labels[:3])
    with pytest.raises(TypeError, match="labels must be integers"):
        preprocess(images, labels.astype(float))
    with pytest.raises(ValueError, match="pca must be <= dim = 9"):
        preprocess(images, labels, pca=10)
    with pytest.raises(ValueError, match="whiten=True needs pca"):
        preprocess(images, labels, whiten=True)
    with pytest.raises(ValueError, match="image 1 has norm 0"):
        preprocess(images, labels, center=False)
    with pytest.raises(ValueError, match=r"x must have shape \(n, ...\)"):
        preprocess(np.arange(4), labels)
