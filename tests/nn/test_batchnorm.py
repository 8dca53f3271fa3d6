"""`nn.BatchNorm1d/2d`: PyTorch's bookkeeping (parameters, buffers, modes, momentum, errors),
and a reference run against PyTorch itself (skipped when torch is not installed)."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

LAYERS = {"1d": (nn.BatchNorm1d, (16, 5)), "1d-sequence": (nn.BatchNorm1d, (8, 5, 7)),
          "2d": (nn.BatchNorm2d, (8, 5, 4, 4))}


def batches(shape, count, seed=0):
    """Batches with a different offset and scale per channel, so the statistics matter."""
    rng = np.random.default_rng(seed)
    spread = (1, shape[1]) + (1,) * (len(shape) - 2)
    mean, std = rng.uniform(-3, 3, spread), rng.uniform(0.5, 3, spread)
    return [(rng.standard_normal(shape) * std + mean).astype(np.float32) for _ in range(count)]


# --------------------------------------------------------------------------- construction


def test_defaults_match_pytorch():
    layer = nn.BatchNorm2d(3)
    np.testing.assert_array_equal(layer.weight.data, np.ones(3))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(3))
    np.testing.assert_array_equal(layer.running_mean.data, np.zeros(3))
    np.testing.assert_array_equal(layer.running_var.data, np.ones(3))
    assert layer.num_batches_tracked.item() == 0 and layer.num_batches_tracked.dtype == np.int64
    assert (layer.eps, layer.momentum, layer.training) == (1e-5, 0.1, True)
    assert list(layer.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                        "num_batches_tracked"]
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert repr(layer) == ("BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, "
                           "track_running_stats=True)")


def test_affine_false_has_no_parameters_and_no_tracking_has_no_buffers():
    assert list(nn.BatchNorm1d(4, affine=False).parameters()) == []
    layer = nn.BatchNorm1d(4, track_running_stats=False)
    assert layer.running_mean is None and layer.num_batches_tracked is None
    assert list(layer.state_dict()) == ["weight", "bias"]


# --------------------------------------------------------------------------- modes and momentum


@pytest.mark.parametrize("name", LAYERS)
def test_training_updates_running_stats_and_eval_uses_them(name):
    layer_class, shape = LAYERS[name]
    layer = layer_class(shape[1])
    x = mg.tensor(batches(shape, 1)[0])
    axes = (0,) + tuple(range(2, len(shape)))
    layer(x)
    np.testing.assert_allclose(layer.running_mean.data, 0.1 * x.data.mean(axis=axes), rtol=1e-5)
    np.testing.assert_allclose(layer.running_var.data, 0.9 + 0.1 * x.data.var(axis=axes, ddof=1),
                               rtol=1e-5)
    assert layer.num_batches_tracked.item() == 1
    before = layer.state_dict()
    layer.eval()
    y = layer(x)
    for key, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=f"eval changed {key}")
    view = (1, -1) + (1,) * (len(shape) - 2)
    expected = ((x.data - layer.running_mean.data.reshape(view))
                / np.sqrt(layer.running_var.data.reshape(view) + 1e-5))
    np.testing.assert_allclose(y.data, expected, rtol=1e-5, atol=1e-6)


def test_momentum_none_gives_the_cumulative_average():
    layer = nn.BatchNorm1d(3, momentum=None)
    stream = batches((10, 3), 4)
    for x in stream:
        layer(mg.tensor(x))
    average_of_means = np.mean([x.mean(axis=0) for x in stream], axis=0)
    np.testing.assert_allclose(layer.running_mean.data, average_of_means, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.running_var.data,
                               np.mean([x.var(axis=0, ddof=1) for x in stream], axis=0), rtol=1e-5)
    assert layer.num_batches_tracked.item() == 4


def test_without_running_stats_eval_still_uses_the_batch():
    layer = nn.BatchNorm1d(3, affine=False, track_running_stats=False).eval()
    y = layer(mg.tensor(batches((10, 3), 1)[0]))
    np.testing.assert_allclose(y.data.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(y.data.var(axis=0), 1, rtol=1e-3)


def test_reset_running_stats():
    layer = nn.BatchNorm1d(3)
    layer(mg.tensor(batches((10, 3), 1)[0]))
    layer.reset_running_stats()
    np.testing.assert_array_equal(layer.running_mean.data, 0)
    np.testing.assert_array_equal(layer.running_var.data, 1)
    assert layer.num_batches_tracked.item() == 0


def test_state_dict_round_trip_reproduces_eval_outputs():
    trained, fresh = nn.BatchNorm2d(5), nn.BatchNorm2d(5)
    for x in batches((8, 5, 4, 4), 3):
        trained(mg.tensor(x))
    trained.weight.data[...] = np.arange(5)
    fresh.load_state_dict(trained.state_dict())
    x = mg.tensor(batches((8, 5, 4, 4), 1, seed=1)[0])
    np.testing.assert_array_equal(fresh.eval()(x).data, trained.eval()(x).data)
    assert fresh.num_batches_tracked.item() == 3


def test_float64_input_keeps_its_dtype():
    layer = nn.BatchNorm1d(3)
    x = mg.tensor(np.random.default_rng(0).standard_normal((6, 3)), requires_grad=True)
    y = layer(x)
    y.backward(np.ones(y.shape))
    assert y.dtype == x.grad.dtype == np.float64
    assert layer.weight.grad.dtype == layer.running_mean.dtype == np.float32


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("layer_class, shape", [(nn.BatchNorm1d, (1, 3)),
                                                (nn.BatchNorm1d, (1, 3, 1)),
                                                (nn.BatchNorm2d, (1, 3, 1, 1))])
def test_one_value_per_channel_in_training_is_an_error_and_changes_nothing(layer_class, shape):
    layer = layer_class(3)  # a fresh layer per run: the test switches it to eval
    with pytest.raises(ValueError, match=r"^Expected more than 1 value per channel when training, "
                                         rf"got input size \({', '.join(map(str, shape))}\)$"):
        layer(mg.zeros(*shape))
    assert layer.num_batches_tracked.item() == 0
    layer.eval()(mg.zeros(*shape))  # fine in eval: the running statistics need no batch


@pytest.mark.parametrize("layer, shape, message", [
    (nn.BatchNorm1d(3), (4, 5), r"BatchNorm1d: expected C = 3 .* got shape \(4, 5\)"),
    (nn.BatchNorm1d(3), (4, 3, 2, 2), r"BatchNorm1d: expected 2D \(N, C\) or 3D \(N, C, L\) input "
                                      r"with C = 3, got shape \(4, 3, 2, 2\)"),
    (nn.BatchNorm2d(3), (4, 2, 5, 5), r"BatchNorm2d: expected C = 3 .* got shape \(4, 2, 5, 5\)"),
    (nn.BatchNorm2d(3), (4, 3, 5), r"BatchNorm2d: expected 4D \(N, C, H, W\) input with C = 3, "
                                   r"got shape \(4, 3, 5\)"),
])
def test_wrong_channels_or_dimensions_name_expected_c_and_shape(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer(mg.zeros(*shape))


# --------------------------------------------------------------------------- 9. against PyTorch

CONFIGS = {
    "1d": ("1d", {}), "1d-sequence": ("1d-sequence", {}), "2d": ("2d", {}),
    "momentum-none": ("2d", {"momentum": None}), "affine-false": ("1d", {"affine": False}),
    "no-running-stats": ("2d", {"track_running_stats": False}),
}


@pytest.mark.parametrize("config", CONFIGS)
def test_five_training_steps_then_eval_match_pytorch(config):
    """Same batches, same random upstream gradients, same SGD steps on γ and β: outputs,
    gradients, running statistics and the final eval outputs agree with PyTorch."""
    torch = pytest.importorskip("torch")
    layout, options = CONFIGS[config]
    kind, shape = LAYERS[layout]
    ours = kind(shape[1], **options)
    theirs = getattr(torch.nn, kind.__name__)(shape[1], **options)
    if ours.affine:  # start from non-trivial γ, β
        gamma = np.linspace(0.5, 2, shape[1], dtype=np.float32)
        beta = np.linspace(-1, 1, shape[1], dtype=np.float32)
        ours.weight.data[...], ours.bias.data[...] = gamma, beta
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(gamma))
            theirs.bias.copy_(torch.from_numpy(beta))
    rng = np.random.default_rng(0)

    def close(a, b, what):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-4, atol=1e-5, err_msg=what)

    for step, x in enumerate(batches(shape, 5)):
        upstream = rng.standard_normal(shape).astype(np.float32)
        x_ours, x_theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
        y_ours.backward(upstream)
        y_theirs.backward(torch.from_numpy(upstream))
        close(y_ours.data, y_theirs, f"step {step}: output")
        close(x_ours.grad.data, x_theirs.grad, f"step {step}: input gradient")
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            close(p.grad.data, q.grad, f"step {step}: {name} gradient")
            p.data -= 0.1 * p.grad.data
            p.grad = None
            with torch.no_grad():
                q -= 0.1 * q.grad
            q.grad = None
        for name, buffer in ours.named_buffers():
            close(buffer.data, getattr(theirs, name), f"step {step}: {name}")
    assert len(list(ours.buffers())) == len(list(theirs.buffers()))
    ours.eval(), theirs.eval()
    x = batches(shape, 1, seed=1)[0]
    close(ours(mg.tensor(x)).data, theirs(torch.from_numpy(x)), "eval output")


@pytest.mark.parametrize("options, message", [
    (dict(momentum=-1.0), r"momentum must be in \[0, 1\].*got -1.0"),
    (dict(momentum=1.5), r"momentum must be in \[0, 1\].*got 1.5"),
    (dict(eps=-1.0), r"eps must be >= 0.*got -1.0"),
])
def test_bad_momentum_or_eps_is_refused(options, message):
    with pytest.raises(ValueError, match=message):
        nn.BatchNorm1d(4, **options)
    nn.BatchNorm2d(4, momentum=None, eps=0.0)  # a cumulative average and eps = 0 are fine
