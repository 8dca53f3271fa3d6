"""`save(obj, path)` / `load(path)`: checkpoints as one `.npz` file, without pickle.

A checkpoint is a tree: dicts (str or int keys), lists and tuples, with ndarrays, Tensors, NumPy
scalars, Python numbers, strings and None at the leaves, e.g.
`{"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}`.
The file holds every array under a readable name made from its path ("model/fc1.weight",
"optimizer/state/0/exp_avg") plus one entry, "__structure__", a JSON description of the tree
in which each array is replaced by its name. So `np.load(path)["model/fc1.weight"]` works too.

Why not pickle: unpickling runs code named by the file, so a checkpoint from a stranger could do
anything. Loading here reads only raw arrays (`allow_pickle=False`) and JSON. Arrays keep their
dtype, shape and bytes, Python floats are written by repr (which round-trips exactly), so a
reloaded model computes bit-identical outputs.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

from .autograd import Tensor

STRUCTURE = "__structure__"


def save(obj, path):
    """Write `obj` (a tree of dicts/lists/tuples with arrays and plain values) to `path`."""
    arrays = {STRUCTURE: None}  # reserve the name
    structure = _describe(obj, [], arrays)
    arrays[STRUCTURE] = np.frombuffer(json.dumps(structure).encode(), dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    # Write beside the target, then rename: a crash mid-write never leaves half a checkpoint.
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file, zipfile.ZipFile(file, "w") as archive:
            for name, array in arrays.items():
                with archive.open(name + ".npy", "w", force_zip64=True) as entry:
                    np.lib.format.write_array(entry, array, allow_pickle=False)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def load(path):
    """Read a tree written by `save`; arrays come back as ndarrays with their saved dtypes."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, ValueError) as error:
        raise ValueError(f"{path} is not a readable minigrad checkpoint (truncated, corrupt or not "
                         f"an .npz file): {error}") from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} holds a single .npy array, not a minigrad checkpoint")
    with archive:
        if STRUCTURE not in archive.files:
            raise ValueError(f"{path} is not a minigrad checkpoint (no {STRUCTURE!r} entry); if it "
                             "is a plain .npz, read it with np.load")
        try:
            return _rebuild(json.loads(archive[STRUCTURE].tobytes().decode()), archive)
        except (zipfile.BadZipFile, EOFError, ValueError) as error:
            raise ValueError(f"{path} is a corrupt minigrad checkpoint: {error}") from error


def _describe(value, path, arrays):
    """The JSON description of `value`; arrays found on the way are added to `arrays` by name."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value  # JSON keeps these exactly (floats by repr, int vs float by the ".0")
    if isinstance(value, dict):
        for key in value:
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"save: dict keys must be str or int, got {key!r} at "
                                f"{_where(path)}")
        return {"dict": [[key, _describe(item, path + [key], arrays)]
                         for key, item in value.items()]}
    if isinstance(value, (list, tuple)):
        items = [_describe(item, path + [i], arrays) for i, item in enumerate(value)]
        return {"tuple" if isinstance(value, tuple) else "list": items}
    if isinstance(value, Tensor):
        return {"tensor": _store(value.data, path, arrays), "requires_grad": value.requires_grad}
    if isinstance(value, np.ndarray):
        return {"array": _store(value, path, arrays)}
    if isinstance(value, np.generic):
        return {"scalar": _store(np.asarray(value), path, arrays)}
    raise TypeError(f"save: cannot store a {type(value).__name__} at {_where(path)}; a checkpoint "
                    "holds dicts, lists, tuples, arrays, Tensors, numbers, strings and None")


def _store(array, path, arrays):
    if array.dtype.hasobject:
        raise TypeError(f"save: the array at {_where(path)} has dtype object, which needs pickle")
    name = "/".join(map(str, path)) or "array"
    unique, n = name, 1
    while unique in arrays:  # e.g. key "a/b" next to {"a": {"b": ...}}
        unique, n = f"{name}~{n}", n + 1
    arrays[unique] = array
    return unique


def _where(path):
    return "the top level" if not path else "key path " + " -> ".join(map(repr, path))


def _rebuild(node, archive):
    if not isinstance(node, dict):
        return node
    kind = next(iter(node))  # the first key names the kind; "tensor" also has "requires_grad"
    content = node[kind]
    if kind == "dict":
        return {key: _rebuild(item, archive) for key, item in content}
    if kind in ("list", "tuple"):
        items = [_rebuild(item, archive) for item in content]
        return items if kind == "list" else tuple(items)
    if kind == "tensor":
        return Tensor(archive[content], requires_grad=node["requires_grad"])
    if kind == "array":
        return archive[content]
    if kind == "scalar":
        return archive[content][()]
    raise ValueError(f"load: unknown entry {kind!r} in the checkpoint's structure")
