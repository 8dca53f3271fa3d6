"""The CIFAR-10 reader, on a tiny copy written here in the official format (no network).

The official files are Python 2 pickles (protocol 2) of dicts with bytes keys; a tiny copy
with 4 images per training batch and 3 test images exercises the same code paths.
"""
import hashlib
import pickle
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from minigrad.data import CIFAR10, DataLoader, Normalize, cifar10

NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse",
         b"ship", b"truck"]
TRAIN_SIZES, TEST_SIZE = [4, 4, 4, 4, 4], 3


def official_batches():
    """{file name: the dict it pickles}, with random pixels and labels."""
    rng = np.random.default_rng(0)
    sizes = dict(zip(cifar10.TRAIN_FILES, TRAIN_SIZES), test_batch=TEST_SIZE)
    batches = {name: {b"batch_label": name.encode(),
                      b"labels": rng.integers(0, 10, n).tolist(),
                      b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                      b"filenames": [b"img_%d.png" % i for i in range(n)]}
               for name, n in sizes.items()}
    batches["batches.meta"] = {b"num_cases_per_batch": 4, b"label_names": NAMES, b"num_vis": 3072}
    return batches


@pytest.fixture(scope="module")
def batches():
    return official_batches()


@pytest.fixture(scope="module")
def folder_root(tmp_path_factory, batches):
    """root/cifar-10-batches-py/<files>, as after extracting the archive."""
    root = tmp_path_factory.mktemp("folder")
    (root / cifar10.FOLDER).mkdir()
    for name, content in batches.items():
        (root / cifar10.FOLDER / name).write_bytes(pickle.dumps(content, protocol=2))
    return root


@pytest.fixture(scope="module")
def archive_root(tmp_path_factory, folder_root):
    """root/cifar-10-python.tar.gz holding cifar-10-batches-py/<files>, and nothing else."""
    root = tmp_path_factory.mktemp("archive")
    with tarfile.open(root / cifar10.ARCHIVE, "w:gz") as tar:
        tar.add(folder_root / cifar10.FOLDER, arcname=cifar10.FOLDER)
    return root


@pytest.mark.parametrize("layout", ["folder_root", "archive_root"])
@pytest.mark.parametrize("train", [True, False])
def test_reads_both_layouts(request, batches, layout, train):
    dataset = CIFAR10(request.getfixturevalue(layout), train=train)
    files = cifar10.TRAIN_FILES if train else cifar10.TEST_FILES
    rows = np.concatenate([batches[name][b"data"] for name in files])
    labels = sum((batches[name][b"labels"] for name in files), [])
    assert len(dataset) == len(rows)
    assert dataset.data.shape == (len(rows), 32, 32, 3) and dataset.data.dtype == np.uint8
    assert dataset.targets.dtype == np.int64 and dataset.targets.tolist() == labels
    assert dataset.classes == [name.decode() for name in NAMES]
    # A row is 1024 red values, then green, then blue, each image row by row.
    np.testing.assert_array_equal(dataset.data[1, :, :, 0], rows[1, :1024].reshape(32, 32))
    np.testing.assert_array_equal(dataset.data[1, :, :, 2], rows[1, 2048:].reshape(32, 32))


def test_items_are_float_images_in_unit_range(folder_root):
    dataset = CIFAR10(folder_root)
    image, label = dataset[5]
    assert image.shape == (3, 32, 32) and image.dtype == np.float32
    assert isinstance(label, int) and label == dataset.targets[5]
    np.testing.assert_allclose(image, dataset.data[5].transpose(2, 0, 1) / 255, rtol=1e-6)


def test_loader_batches_with_batchwise_transform(folder_root):
    normalize = Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.3])
    dataset = CIFAR10(folder_root, transform=normalize)
    xb, yb = next(iter(DataLoader(dataset, batch_size=6, shuffle=True, seed=0)))
    order = np.random.default_rng(0).permutation(len(dataset))[:6]
    expected = np.stack([dataset[int(i)][0] for i in order])
    assert xb.shape == (6, 3, 32, 32) and xb.dtype == np.float32 and yb.dtype == np.int64
    assert xb.data.flags.c_contiguous
    np.testing.assert_allclose(xb.data, expected, rtol=1e-6)
    np.testing.assert_array_equal(yb.data, dataset.targets[order])


def test_missing_data_says_where_and_how(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        CIFAR10(tmp_path / "nowhere")
    message = str(error.value)
    assert str(tmp_path / "nowhere" / cifar10.FOLDER) in message
    assert "download=True" in message and cifar10.ARCHIVE in message


def test_missing_batch_file_is_named(tmp_path, folder_root):
    shutil.copytree(folder_root / cifar10.FOLDER, tmp_path / cifar10.FOLDER)
    (tmp_path / cifar10.FOLDER / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        CIFAR10(tmp_path)
    CIFAR10(tmp_path, train=False)  # the test set is still complete


def test_truncated_pickle_is_named(tmp_path, folder_root):
    shutil.copytree(folder_root / cifar10.FOLDER, tmp_path / cifar10.FOLDER)
    path = tmp_path / cifar10.FOLDER / "test_batch"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(RuntimeError, match="test_batch.*truncated or corrupt"):
        CIFAR10(tmp_path, train=False)


def test_wrong_content_is_named(tmp_path, folder_root):
    shutil.copytree(folder_root / cifar10.FOLDER, tmp_path / cifar10.FOLDER)
    content = {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}
    (tmp_path / cifar10.FOLDER / "test_batch").write_bytes(pickle.dumps(content, protocol=2))
    with pytest.raises(RuntimeError, match=r"test_batch .*is not a CIFAR-10 batch.*\(2, 100\)"):
        CIFAR10(tmp_path, train=False)
    (tmp_path / cifar10.FOLDER / "batches.meta").write_bytes(pickle.dumps({}, protocol=2))
    with pytest.raises(RuntimeError, match="batches.meta .*label_names"):
        CIFAR10(tmp_path)


def test_truncated_archive_is_named(tmp_path, archive_root):
    archive = tmp_path / cifar10.ARCHIVE
    archive.write_bytes((archive_root / cifar10.ARCHIVE).read_bytes()[:-3000])
    with pytest.raises(RuntimeError, match=f"{cifar10.ARCHIVE}.*truncated or corrupt"):
        CIFAR10(tmp_path)


def fake_fetch(content, calls):
    """A stand-in for the network: writes `content` where the download would go."""
    def fetch(url, path):
        assert url == cifar10.URL
        calls.append(path)
        path.write_bytes(content)
    return fetch


def test_download_with_bad_md5_fails_and_leaves_nothing(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(cifar10, "_fetch", fake_fetch(b"<html>not the archive</html>", calls))
    with pytest.raises(RuntimeError, match="MD5.*" + cifar10.MD5):
        CIFAR10(tmp_path, download=True)
    assert len(calls) == 1 and list(tmp_path.iterdir()) == []


def test_download_checks_md5_and_is_not_repeated(tmp_path, monkeypatch, archive_root):
    content = (archive_root / cifar10.ARCHIVE).read_bytes()
    calls = []
    monkeypatch.setattr(cifar10, "_fetch", fake_fetch(content, calls))
    monkeypatch.setattr(cifar10, "MD5", hashlib.md5(content).hexdigest())
    root = tmp_path / "new" / "folder"
    assert len(CIFAR10(root, download=True)) == sum(TRAIN_SIZES)
    assert len(CIFAR10(root, train=False, download=True)) == TEST_SIZE
    assert len(calls) == 1 and sorted(p.name for p in root.iterdir()) == [cifar10.ARCHIVE]


def test_download_skipped_when_folder_exists(folder_root, monkeypatch):
    monkeypatch.setattr(cifar10, "_fetch", fake_fetch(b"", calls := []))
    CIFAR10(folder_root, download=True)
    assert calls == []


def test_import_does_not_load_optional_packages():
    """tqdm is imported only when downloading, so `import minigrad` needs NumPy alone."""
    code = "import sys, minigrad.data; print(sorted({'tqdm', 'matplotlib'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
