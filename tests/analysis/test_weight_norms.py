"""WeightNormRecorder on cases with a known answer: a weight rotated and scaled by hand, and
plain SGD on a scale-invariant loss, where ‖W_{t+1}‖² = ‖W_t‖² + η²‖g_t‖² exactly."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.analysis import WeightNormRecorder, angle_between, layer_weights


def test_a_weight_turned_by_a_known_angle_and_scaled_each_step():
    theta, scale = 0.013, 1.1
    weight = nn.Parameter(np.array([[3.0, 0.0], [0.0, 0.0]]))
    recorder = WeightNormRecorder({"w": weight}, lr=0.5)
    for t in range(1, 6):
        weight.data[...] = 3.0 * scale ** t * np.array([[np.cos(t * theta), np.sin(t * theta)],
                                                        [0.0, 0.0]])
        recorder()
    np.testing.assert_allclose(recorder.angle[:, 0], theta, rtol=1e-12)
    np.testing.assert_allclose(recorder.norm[:, 0], 3.0 * scale ** np.arange(6), rtol=1e-14)
    np.testing.assert_allclose(recorder.effective_lr[:, 0], 0.5 / recorder.norm[:, 0] ** 2)


def test_tiny_angles_stay_accurate_where_arccos_of_the_cosine_does_not():
    a, b = np.array([1.0, 0.0]), np.array([np.cos(1e-9), np.sin(1e-9)])
    assert abs(angle_between(a, b) - 1e-9) < 1e-20
    assert angle_between(a, -a) == pytest.approx(np.pi)


def scale_invariant_net(seed=0):
    mg.manual_seed(seed)
    net = nn.Sequential(nn.Linear(6, 5, bias=False), nn.BatchNorm1d(5, affine=False, eps=0.0),
                        nn.ReLU(), nn.Linear(5, 3, bias=False),
                        nn.BatchNorm1d(3, affine=False, eps=0.0))
    for p in net.parameters():
        p.data = p.data.astype(np.float64)
    return net


def test_sgd_on_scale_invariant_weights_grows_the_norm_by_the_step_and_reads_the_group_lr():
    net = scale_invariant_net()
    first, second = net[0].weight, net[3].weight
    optimizer = mg.optim.SGD([{"params": [first], "lr": 0.3}, {"params": [second], "lr": 0.7}])
    recorder = WeightNormRecorder(net, optimizer=optimizer)
    assert recorder.names == ["0.weight", "3.weight"]
    rng = np.random.default_rng(0)
    steps = []
    for _ in range(5):
        x, y = rng.standard_normal((16, 6)), rng.integers(0, 3, 16)
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(mg.tensor(x)), y).backward()
        steps.append([0.3 * np.linalg.norm(first.grad.data),
                      0.7 * np.linalg.norm(second.grad.data)])
        optimizer.step()
        recorder(None, net)
    norm, steps = recorder.norm, np.array(steps)
    np.testing.assert_allclose(norm[1:] ** 2, norm[:-1] ** 2 + steps ** 2, rtol=1e-13)
    np.testing.assert_allclose(np.tan(recorder.angle), steps / norm[:-1], rtol=1e-10)
    np.testing.assert_allclose(recorder.effective_lr, [0.3, 0.7] / norm ** 2)


def test_clear_errors():
    with pytest.raises(ValueError, match="no weights"):
        WeightNormRecorder(nn.Sequential(nn.ReLU()), lr=0.1)
    with pytest.raises(ValueError, match="either an optimizer"):
        WeightNormRecorder(nn.Linear(2, 2), lr=0.1, optimizer=mg.optim.SGD(
            nn.Linear(2, 2).parameters()))
    assert list(layer_weights(nn.Linear(2, 2))) == ["weight"]
