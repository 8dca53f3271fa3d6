"""landscape_along_gradient (S18 Fig. 4): exact on a quadratic, and side-effect free."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.analysis import landscape_along_gradient
from tests.analysis.quadratic import quadratic_loss, with_eigenvalues


def test_metrics_of_a_quadratic_match_closed_form():
    """L = ½wᵀHw − bᵀw: g = Hw − b, ∇L(w − ηg) = g − ηHg, so ‖Δ∇‖ = η‖Hg‖ and the effective
    β-smoothness is ‖Hg‖/‖g‖ at every η (between λ_min and λ_max)."""
    model, batch, H, b = with_eigenvalues([5.0, 2.0, 0.5], dtype=np.float64)
    w = model.w.data.copy()
    etas = [0.05, 0.1, 0.2, 0.4]
    out = landscape_along_gradient(model, quadratic_loss, batch, etas)
    g = H @ w - b
    def loss(v):
        return 0.5 * v @ H @ v - b @ v
    expected_losses = np.array([loss(w - eta * g) for eta in etas])
    np.testing.assert_allclose(out["losses"], expected_losses, rtol=1e-10)
    np.testing.assert_allclose(out["grad_distances"], np.array(etas) * np.linalg.norm(H @ g), rtol=1e-10)
    assert out["loss_variation"] == pytest.approx(np.ptp(expected_losses), rel=1e-10)
    assert out["gradient_predictiveness"] == pytest.approx(0.4 * np.linalg.norm(H @ g), rel=1e-10)
    assert out["beta_smoothness"] == pytest.approx(np.linalg.norm(H @ g) / np.linalg.norm(g), rel=1e-10)
    assert 0.5 <= out["beta_smoothness"] <= 5.0


def bn_net():
    mg.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def test_restores_the_weights_exactly():
    net = bn_net()
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((16, 5)).astype(np.float32), rng.integers(0, 3, 16)
    nn.functional.cross_entropy(net(mg.Tensor(X)), y).backward()
    tensors = list(net.parameters()) + list(net.buffers())
    arrays = [t.data for t in tensors]
    before = {k: v.copy() for k, v in net.state_dict().items()}
    grads = [p.grad.data.copy() for p in net.parameters()]
    state = mg.default_generator().bit_generator.state
    out = landscape_along_gradient(net, nn.functional.cross_entropy, (X, y), [0.1, 0.5, 1.0])
    assert out["loss_variation"] > 0 and out["gradient_predictiveness"] > 0
    after = net.state_dict()
    for key in before:  # weights and BN running statistics, bit for bit, same dtype
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)
    assert all(t.data is a for t, a in zip(tensors, arrays))
    for p, g in zip(net.parameters(), grads):
        np.testing.assert_array_equal(p.grad.data, g)
    assert mg.default_generator().bit_generator.state == state
    assert out["losses"].dtype == np.float64 and net[0].weight.dtype == np.float32


def test_rejects_non_positive_steps():
    with pytest.raises(ValueError, match="etas must be positive"):
        landscape_along_gradient(bn_net(), nn.functional.cross_entropy,
                                 (np.zeros((4, 5), np.float32), np.zeros(4, np.int64)), [0.0, 1.0])
