"""Filter-normalised directions and loss surfaces (Li et al. 2018)."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.analysis import filter_normalized_direction, loss_surface

GRID = np.linspace(-1, 1, 9)


def bn_net(eps=1e-5):
    mg.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6, eps=eps), nn.ReLU(), nn.Linear(6, 3))


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


def with_running_stats(net, X):
    """One training-mode pass with momentum 1: the running statistics are those of X."""
    for module in net.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.momentum = 1.0
    net.train()
    with mg.no_grad():
        net(mg.Tensor(X))
    return net


def test_each_filter_gets_the_norm_of_the_filter_it_moves():
    net = bn_net()
    direction = filter_normalized_direction(net, seed=3)
    assert list(direction) == [name for name, _ in net.named_parameters()]
    for name, p in net.named_parameters():
        d = direction[name]
        assert d.shape == p.shape and d.dtype == p.dtype
        if p.ndim == 1:  # biases and BN's γ, β stay put
            assert not d.any()
        else:
            np.testing.assert_allclose(np.linalg.norm(d, axis=1), np.linalg.norm(p.data, axis=1),
                                       rtol=1e-5)
    again = filter_normalized_direction(net, seed=3)
    assert all(np.array_equal(direction[k], again[k]) for k in direction)
    weights = [name for name, p in net.named_parameters() if p.ndim == 2]
    whole = filter_normalized_direction(net, seed=3, normalize="global")
    np.testing.assert_allclose(np.sqrt(sum(np.sum(whole[n] ** 2) for n in weights)),
                               np.sqrt(sum(np.sum(direction[n] ** 2) for n in weights)), rtol=1e-5)
    assert not np.allclose(np.linalg.norm(whole["0.weight"], axis=1),
                           np.linalg.norm(net[0].weight.data, axis=1))
    raw = filter_normalized_direction(net, seed=3, normalize=None)
    ratio = raw["0.weight"] / whole["0.weight"]  # "global" is the raw direction, rescaled once
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-5)
    np.testing.assert_allclose(raw["3.weight"] / whole["3.weight"], ratio.flat[0], rtol=1e-5)


def test_scaling_one_filter_of_a_bn_net_leaves_the_normalised_curve_unchanged():
    """BN with ε = 0 makes a filter's scale invisible: w_f → c·w_f (and its bias, and its running
    statistics, as training with the scaled filter would have given) computes the same function.
    The filter-normalised direction scales with the filter, so the whole 1-D curve is the same;
    a raw direction (or one scaled as a whole) takes the same absolute step for the c-times
    larger filter: a different curve."""
    X, y = data()
    loss = nn.functional.cross_entropy
    net = with_running_stats(bn_net(eps=0.0), X)
    scaled = bn_net(eps=0.0)
    scaled.load_state_dict(net.state_dict())
    c, f = 4.0, 2
    scaled[0].weight.data[f] *= c
    scaled[0].bias.data[f] *= c
    scaled[1].running_mean.data[f] *= c
    scaled[1].running_var.data[f] *= c * c
    curves = {}
    for normalize in ("filter", "global", None):
        curves[normalize] = [loss_surface(model, loss, (X, y),
                                          filter_normalized_direction(model, seed=1, normalize=normalize),
                                          GRID) for model in (net, scaled)]
    np.testing.assert_allclose(curves["filter"][1][4], curves["filter"][0][4], rtol=1e-5)  # α = 0
    np.testing.assert_allclose(curves["filter"][1], curves["filter"][0], rtol=1e-5)
    for unnormalised in ("global", None):
        assert np.max(np.abs(curves[unnormalised][1] - curves[unnormalised][0])) > 0.01


def test_surface_is_evaluated_in_eval_mode_and_changes_nothing():
    X, y = data()
    loss = nn.functional.cross_entropy
    net = with_running_stats(bn_net(), X[:16])  # running stats differ from X's batch stats
    net.train()
    before = {k: v.copy() for k, v in net.state_dict().items()}
    directions = [filter_normalized_direction(net, seed=s) for s in (0, 1)]
    surface = loss_surface(net, loss, (X, y), directions, GRID, batch_size=20)
    assert surface.shape == (9, 9)
    net.eval()
    with mg.no_grad():
        at_theta = loss(net(mg.Tensor(X)), y).item()
    net.train()
    assert surface[4, 4] == pytest.approx(at_theta, rel=1e-5)
    assert surface.min() < surface[4, 4] < surface.max()
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
    assert net.training


def test_a_direction_for_another_model_is_rejected():
    X, y = data()
    other = nn.Sequential(nn.Linear(4, 3))
    with pytest.raises(ValueError, match="names do not match"):
        loss_surface(bn_net(), nn.functional.cross_entropy, (X, y),
                     filter_normalized_direction(other, seed=0), GRID)
