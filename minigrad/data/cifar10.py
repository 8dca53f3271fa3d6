"""CIFAR-10 from the official "python version" files, as torchvision reads them.

The archive cifar-10-python.tar.gz holds a folder cifar-10-batches-py/ with five training
batches (data_batch_1..5, 10,000 images each), test_batch (10,000) and batches.meta. Each is
a Python 2 pickle of a dict with bytes keys: b"data" is a (10000, 3072) uint8 array, one
image per row stored channel by channel (1024 red, then green, then blue values, row-major),
b"labels" a list of ints in 0..9; batches.meta has b"label_names".

`CIFAR10(root)` reads either the extracted folder root/cifar-10-batches-py/ or the archive
root/cifar-10-python.tar.gz directly (no extraction needed). Unpickling can run code, so
read only the official files: `download=True` checks the archive's MD5.
"""
import hashlib
import pickle
from pathlib import Path

import numpy as np

from .dataset import ImageDataset

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)
META_FILE = "batches.meta"


class CIFAR10(ImageDataset):
    """The CIFAR-10 training (50,000 images) or test (10,000) set, torchvision-style.

    Items are (image (3, 32, 32) float32 in [0, 1], int label); a `DataLoader` gets whole
    batches (B, 3, 32, 32) with one indexing operation, the transform applied batch-wise.
    `.data` is (N, 32, 32, 3) uint8 as stored, `.targets` the int64 labels, `.classes` the
    ten class names. `download=True` fetches the archive into `root` first unless the folder
    or an intact archive is already there.
    """

    def __init__(self, root, train=True, transform=None, download=False):
        super().__init__(transform)
        self.root, self.train = Path(root).expanduser(), train
        if download and not (self.root / FOLDER).is_dir():
            download_cifar10(self.root)
        batch_files = TRAIN_FILES if train else TEST_FILES
        contents = _read_files(self.root, batch_files + (META_FILE,))
        batches = [_check_batch(contents[name], f"{name} (in {self.root})")
                   for name in batch_files]
        # Rows are (3, 32, 32) images; expose them as (32, 32, 3), like torchvision.
        self.data = np.concatenate([data for data, _ in batches]).reshape(-1, 3, 32, 32)
        self.data = self.data.transpose(0, 2, 3, 1)
        self.targets = np.concatenate([labels for _, labels in batches])
        self.classes = _class_names(contents[META_FILE], f"{META_FILE} (in {self.root})")

    def images(self, indices):
        """uint8 (B, 32, 32, 3) -> float32 (B, 3, 32, 32) in [0, 1], C-contiguous."""
        images = self.data[indices].transpose(0, 3, 1, 2).astype(np.float32, order="C")
        images /= 255
        return images


def _read_files(root, names):
    """Unpickle the named files from root/cifar-10-batches-py/, or else from the archive."""
    folder, archive = root / FOLDER, root / ARCHIVE
    if folder.is_dir():
        return {name: _unpickle_path(folder / name) for name in names}
    if archive.is_file():
        return _read_archive(archive, names)
    raise FileNotFoundError(
        f"CIFAR-10 not found: neither the folder {folder} nor the archive {archive} exists. "
        f"Pass download=True to fetch it (163 MB) from {URL}, or download {ARCHIVE} yourself "
        f"and place it in {root} (extracting it is optional).")


def _unpickle_path(path):
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10 file {path} is missing; the folder {path.parent} "
                                f"should hold {', '.join(TRAIN_FILES + TEST_FILES)} and "
                                f"{META_FILE}. Extract {ARCHIVE} again or delete the folder.")
    with open(path, "rb") as file:
        return _unpickle(file, path)


def _read_archive(archive, names):
    """Read the members in one pass: a .tar.gz cannot seek backwards without decompressing
    again from the start."""
    import tarfile
    import zlib

    wanted = {f"{FOLDER}/{name}": name for name in names}
    contents = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name in wanted:
                    name = wanted[member.name]
                    contents[name] = _unpickle(tar.extractfile(member), f"{archive}:{member.name}")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:  # not a whole .tar.gz
        raise RuntimeError(f"cannot read {archive}: it is truncated or corrupt ({error}). "
                           f"Delete it and download it again.") from error
    missing = [name for name in names if name not in contents]
    if missing:
        raise RuntimeError(f"{archive} has no {', '.join(missing)} in {FOLDER}/: "
                           f"is it the CIFAR-10 python version?")
    return contents


def _unpickle(file, name):
    """Load one official pickle (written by Python 2, hence encoding="bytes")."""
    try:
        return pickle.load(file, encoding="bytes")
    # A damaged pickle can fail in many ways (EOFError, UnpicklingError, ValueError, ...).
    except Exception as error:
        raise RuntimeError(f"cannot read {name}: it is truncated or corrupt "
                           f"({type(error).__name__}: {error}). Delete it and download "
                           f"CIFAR-10 again.") from error


def _check_batch(batch, name):
    """The (N, 3072) uint8 pixels and N int64 labels of one batch, after checking both."""
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise RuntimeError(f"{name} is not a CIFAR-10 batch: expected a dict with keys "
                           f"b'data' and b'labels'")
    data, labels = batch[b"data"], np.asarray(batch[b"labels"], dtype=np.int64)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3 * 32 * 32 or labels.shape != (len(data),):
        raise RuntimeError(f"{name} is not a CIFAR-10 batch: b'data' should be (N, 3072) "
                           f"uint8 and b'labels' N ints, got {getattr(data, 'shape', data)} "
                           f"{getattr(data, 'dtype', '')} and {labels.shape}")
    return data, labels


def _class_names(meta, name):
    """The ten class names, as str, from batches.meta."""
    if not isinstance(meta, dict) or b"label_names" not in meta:
        raise RuntimeError(f"{name} is not CIFAR-10's metadata: expected a dict with the key "
                           f"b'label_names'")
    return [label.decode() if isinstance(label, bytes) else label
            for label in meta[b"label_names"]]


def download_cifar10(root):
    """Download the archive into `root` unless an intact copy is there; check its MD5.

    The file is written as <archive>.part and renamed only once its MD5 matches, so an
    interrupted or corrupted download never leaves a file that looks complete.
    """
    root = Path(root).expanduser()
    archive = root / ARCHIVE
    if archive.is_file() and _md5(archive) == MD5:
        return archive
    root.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(ARCHIVE + ".part")
    _fetch(URL, partial)
    digest = _md5(partial)
    if digest != MD5:
        partial.unlink()
        raise RuntimeError(f"the file downloaded from {URL} has MD5 {digest}, expected {MD5}: "
                           f"the download is corrupt. Try again, or fetch {ARCHIVE} yourself "
                           f"and place it in {root}.")
    partial.replace(archive)
    return archive


def _fetch(url, path):
    """Stream `url` into `path` with a tqdm progress bar (the only network access here)."""
    import urllib.request

    from tqdm import tqdm

    with urllib.request.urlopen(url) as response, open(path, "wb") as file:
        size = int(response.headers.get("Content-Length", 0)) or None
        with tqdm(total=size, unit="B", unit_scale=True, desc=ARCHIVE) as progress:
            while chunk := response.read(1 << 20):
                file.write(chunk)
                progress.update(len(chunk))


def _md5(path):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
