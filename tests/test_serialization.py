"""minigrad.save / minigrad.load: bit-exact round trips, no pickle, clear errors."""
import json
import zipfile

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim


def assert_same_tree(got, expected):
    """Equal structure, types, dtypes and bytes (NaN equal to NaN)."""
    assert type(got) is type(expected), (type(got), type(expected))
    if isinstance(expected, dict):
        assert list(got) == list(expected)
        for key in expected:
            assert_same_tree(got[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_same_tree(g, e)
    elif isinstance(expected, minigrad.Tensor):
        assert got.requires_grad == expected.requires_grad
        assert_same_tree(got.data, expected.data)
    elif isinstance(expected, (np.ndarray, np.generic)):
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert np.asarray(got).tobytes() == np.asarray(expected).tobytes()
    elif isinstance(expected, float):
        assert repr(got) == repr(expected)  # -0.0 and nan included
    else:
        assert got == expected


def test_round_trip_is_bit_exact(tmp_path):
    rng = np.random.default_rng(0)
    tree = {
        "float32": rng.standard_normal((3, 4)).astype(np.float32),
        "float64 with specials": np.array([np.nan, np.inf, -0.0, 1e-310]),
        "float16": np.array([1.5, -2.25], np.float16),
        "ints": np.arange(-3, 3, dtype=np.int8), "uint": np.array(2**63, np.uint64),
        "bools": np.array([[True, False]]), "empty": np.zeros((0, 5), np.int16),
        "fortran": np.asfortranarray(rng.standard_normal((2, 3))),
        "0-d": np.array(7, np.int64), "np scalar": np.float32(0.1), "np bool": np.bool_(True),
        "tensor": minigrad.tensor([1.0, 2.0], requires_grad=True),
        "python": [1, 2**80, 0.1, -0.0, float("nan"), float("inf"), True, False, None, "é \"x\""],
        "tuple": (0.9, 0.999),
        3: {0: "int keys stay ints", "0": "string keys stay strings"},
        "a/b": np.ones(1), "a": {"b": np.zeros(1)},  # the same flat name, kept apart
        "__structure__": np.ones(2),  # the reserved name, kept apart
    }
    minigrad.save(tree, tmp_path / "tree.npz")
    assert_same_tree(minigrad.load(tmp_path / "tree.npz"), tree)


def test_file_is_a_plain_npz_without_pickle(tmp_path):
    path = tmp_path / "checkpoint.ckpt"  # any name: no ".npz" is appended
    minigrad.save({"model": {"fc.weight": np.ones((2, 2), np.float32)}, "epoch": 3}, path)
    assert zipfile.is_zipfile(path) and list(tmp_path.iterdir()) == [path]
    with np.load(path, allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["model/fc.weight"], np.ones((2, 2)))
        structure = json.loads(archive["__structure__"].tobytes())
    assert structure["dict"][1] == ["epoch", 3]


class TinyNet(nn.Module):
    """x @ W + b, then BatchNorm1d: parameters and running statistics to save."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(minigrad.randn(5, 4).data * 0.5)
        self.bias = nn.Parameter(np.zeros(4, np.float32))
        self.norm = nn.BatchNorm1d(4)

    def forward(self, x):
        return self.norm(x @ self.weight + self.bias).relu()


def test_model_and_optimizer_resume_identically(tmp_path):
    minigrad.manual_seed(0)
    x = minigrad.randn(16, 5)
    target = minigrad.randn(16, 4)

    def train(model, optimizer, steps):
        model.train()
        for _ in range(steps):
            optimizer.zero_grad()
            minigrad.mse_loss(model(x), target).backward()
            optimizer.step()

    model = TinyNet()
    optimizer = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    train(model, optimizer, 5)
    minigrad.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()},
                  tmp_path / "ckpt.npz")

    restored = TinyNet()
    restored_optimizer = optim.Adam(restored.parameters())
    checkpoint = minigrad.load(tmp_path / "ckpt.npz")
    restored.load_state_dict(checkpoint["model"])
    restored_optimizer.load_state_dict(checkpoint["optimizer"])
    assert restored.norm.num_batches_tracked.item() == 5
    np.testing.assert_array_equal(restored.norm.running_var.data, model.norm.running_var.data)
    with minigrad.no_grad():
        for mode in (nn.Module.eval, nn.Module.train):  # running stats, then batch stats
            mode(model), mode(restored)
            assert restored(x).data.tobytes() == model(x).data.tobytes()

    train(model, optimizer, 5)
    train(restored, restored_optimizer, 5)
    for (name, a), (_, b) in zip(model.state_dict().items(), restored.state_dict().items()):
        assert a.tobytes() == b.tobytes(), name


@pytest.mark.parametrize("bad, message", [
    ({"f": lambda: 0}, "cannot store a function at key path 'f'"),
    ({(1, 2): 0}, "keys must be str or int"),
    ({"x": [np.array([object()])]}, "key path 'x' -> 0 has dtype object"),
    ({1.5: 0}, "keys must be str or int"),
    (complex(1, 2), "cannot store a complex at the top level"),
])
def test_save_rejects_what_needs_pickle(tmp_path, bad, message):
    with pytest.raises(TypeError, match=message):
        minigrad.save(bad, tmp_path / "bad.npz")
    assert list(tmp_path.iterdir()) == []  # no half-written file left behind


def test_load_errors_name_the_file(tmp_path):
    good = tmp_path / "good.npz"
    minigrad.save({"w": np.ones((64, 64))}, good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:1000])
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.ones(2))
    text = tmp_path / "text.npz"
    text.write_text("not a checkpoint")
    for path, message in [(truncated, "truncated"), (plain, "not a minigrad checkpoint"),
                          (text, "not a readable minigrad checkpoint")]:
        with pytest.raises(ValueError, match=message) as error:
            minigrad.load(path)
        assert str(path) in str(error.value)
    with pytest.raises(FileNotFoundError):
        minigrad.load(tmp_path / "missing.npz")
