"""Layers against PyTorch: same weights, same input, same upstream gradient -> the same
outputs and gradients (float64, so differences are rounding only)."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

torch = pytest.importorskip("torch")


def run_both(make_ours, make_theirs, x_np, seed=0):
    """Copy our layer's parameters into PyTorch's, run forward + backward on both with one
    random upstream gradient; return (ours, theirs) lists [y, dx, dparam...]."""
    ours, theirs = make_ours(), make_theirs().double()
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            p.data = p.data.astype(np.float64)
            q.copy_(torch.from_numpy(p.data))
    x = mg.tensor(x_np, requires_grad=True)
    xt = torch.tensor(x_np, requires_grad=True)
    y, yt = ours(x), theirs(xt)
    upstream = np.random.default_rng(seed).standard_normal(y.shape)
    y.backward(upstream)
    yt.backward(torch.from_numpy(upstream))
    mine = [y.data, x.grad.data] + [p.grad.data for p in ours.parameters()]
    reference = [yt.detach().numpy(), xt.grad.numpy()] + [q.grad.numpy() for q in theirs.parameters()]
    return mine, reference


def assert_same(mine, reference):
    assert len(mine) == len(reference)
    for a, b in zip(mine, reference):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("args", [
    dict(in_channels=3, out_channels=5, kernel_size=3, padding=1),
    dict(in_channels=3, out_channels=4, kernel_size=3, stride=2),
    dict(in_channels=2, out_channels=4, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0)),
    dict(in_channels=3, out_channels=2, kernel_size=1, bias=False),
    dict(in_channels=1, out_channels=3, kernel_size=5, stride=3, padding=2),
])
def test_conv2d(args):
    x = np.random.default_rng(1).standard_normal((2, args["in_channels"], 9, 8))
    assert_same(*run_both(lambda: nn.Conv2d(**args), lambda: torch.nn.Conv2d(**args), x))


@pytest.mark.parametrize("layer", ["MaxPool2d", "AvgPool2d"])
@pytest.mark.parametrize("args", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                  dict(kernel_size=(2, 3), stride=1), dict(kernel_size=3, stride=3)])
def test_pooling(layer, args):
    x = np.random.default_rng(2).standard_normal((2, 3, 9, 8))
    assert_same(*run_both(lambda: getattr(nn, layer)(**args), lambda: getattr(torch.nn, layer)(**args), x))


def test_max_pool_ties_after_relu_route_like_pytorch():
    """ReLU makes many exact zeros, so whole pooling windows tie: both send the gradient
    to the first element of the window."""
    x = np.random.default_rng(3).standard_normal((2, 3, 8, 8)) - 1.0
    def make_ours():
        return nn.Sequential(nn.ReLU(), nn.MaxPool2d(2))
    def make_theirs():
        return torch.nn.Sequential(torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    assert_same(*run_both(make_ours, make_theirs, x))


def test_adaptive_avg_pool():
    x = np.random.default_rng(4).standard_normal((2, 3, 6, 4))
    assert_same(*run_both(lambda: nn.AdaptiveAvgPool2d(1), lambda: torch.nn.AdaptiveAvgPool2d(1), x))
    assert_same(*run_both(lambda: nn.AdaptiveAvgPool2d((3, 2)),
                          lambda: torch.nn.AdaptiveAvgPool2d((3, 2)), x))


@pytest.mark.parametrize("shape", [(4, 7), (2, 3, 7)])
def test_linear(shape):
    x = np.random.default_rng(5).standard_normal(shape)
    assert_same(*run_both(lambda: nn.Linear(7, 3), lambda: torch.nn.Linear(7, 3), x))


@pytest.mark.parametrize("shape, normalized", [((4, 6), 6), ((2, 3, 4, 5), (4, 5))])
def test_layer_norm(shape, normalized):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape) * 3 + 1

    def ours():
        layer = nn.LayerNorm(normalized)
        layer.weight.data[...] = rng.standard_normal(layer.weight.shape)  # not the identity
        layer.bias.data[...] = rng.standard_normal(layer.bias.shape)
        return layer

    assert_same(*run_both(ours, lambda: torch.nn.LayerNorm(normalized), x))


def test_small_cnn_end_to_end():
    """The benchmark's block structure in miniature: conv -> ReLU -> pool twice, then a head."""
    def build(lib):
        return lib.nn.Sequential(
            lib.nn.Conv2d(3, 4, 3, padding=1), lib.nn.ReLU(), lib.nn.MaxPool2d(2),
            lib.nn.Conv2d(4, 6, 3, padding=1), lib.nn.LeakyReLU(0.1), lib.nn.AvgPool2d(2),
            lib.nn.Flatten(), lib.nn.Linear(24, 5), lib.nn.Tanh())

    x = np.random.default_rng(7).standard_normal((3, 3, 8, 8))
    assert_same(*run_both(lambda: build(mg), lambda: build(torch), x))


def test_default_init_matches_pytorchs_distribution():
    """Not the same random numbers, the same law: compare ranges and spreads."""
    mg.manual_seed(0)
    torch.manual_seed(0)
    ours, theirs = nn.Conv2d(32, 64, 3), torch.nn.Conv2d(32, 64, 3)
    for p, q in ((ours.weight, theirs.weight), (ours.bias, theirs.bias)):
        q = q.detach().numpy()
        np.testing.assert_allclose(np.abs(p.data).max(), np.abs(q).max(), rtol=0.05)
        np.testing.assert_allclose(p.data.std(), q.std(), rtol=0.15)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_scale_invariant_net_trained_with_weight_decay_and_a_changing_lr(momentum):
    """Lesson 09's setting: bias-free Linear -> BatchNorm1d(affine=False, eps=0) blocks, SGD
    with weight decay (and momentum), the lr changed before every step as a schedule does:
    the weights after 6 steps equal PyTorch's. PyTorch refuses eps = 0 in training, so it gets
    eps = 1e-300, which float64 rounds away next to any variance here (σ² + 1e-300 == σ²)."""
    def build(lib, eps):
        return lib.nn.Sequential(
            lib.nn.Linear(7, 6, bias=False), lib.nn.BatchNorm1d(6, affine=False, eps=eps),
            lib.nn.ReLU(), lib.nn.Linear(6, 4, bias=False),
            lib.nn.BatchNorm1d(4, affine=False, eps=eps))

    ours, theirs = build(mg, 0.0), build(torch, 1e-300).double()
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            p.data = p.data.astype(np.float64)
            q.copy_(torch.from_numpy(p.data))
    options = dict(lr=0.5, momentum=momentum, weight_decay=5e-3)
    optimizers = mg.optim.SGD(ours.parameters(), **options), torch.optim.SGD(theirs.parameters(),
                                                                             **options)
    rng = np.random.default_rng(8)
    for step in range(6):
        x, y = rng.standard_normal((16, 7)), rng.integers(0, 4, 16)
        for optimizer in optimizers:
            optimizer.param_groups[0]["lr"] = 0.5 * 1.1 ** step
        loss = mg.nn.functional.cross_entropy(ours(mg.tensor(x)), y)
        loss_t = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)), torch.from_numpy(y))
        np.testing.assert_allclose(loss.item(), loss_t.item(), rtol=1e-12)
        for model, value in ((ours, loss), (theirs, loss_t)):
            model.zero_grad()
            value.backward()
        for optimizer in optimizers:
            optimizer.step()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-12)
