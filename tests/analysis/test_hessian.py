"""hessian_top_eigenvalue: power iteration on finite-difference Hessian-vector products."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.analysis import hessian_top_eigenvalue, hessian_vector_product
from tests.analysis.quadratic import quadratic_loss, with_eigenvalues


@pytest.mark.parametrize("eigenvalues", [[10.0, 3.0, 1.0, 0.5, 0.1],
                                         [4.0, -1.0, 2.5, 0.0, 3.0, 1.0],
                                         [-9.0, 2.0, 1.0]])
def test_finds_the_eigenvalue_largest_in_magnitude_of_a_quadratic(eigenvalues):
    model, batch, _, _ = with_eigenvalues(eigenvalues)
    top = max(eigenvalues, key=abs)
    estimate = hessian_top_eigenvalue(model, quadratic_loss, batch, iters=60)
    assert estimate == pytest.approx(top, rel=1e-4)


def test_hessian_vector_product_of_a_quadratic_is_exact():
    model, batch, H, _ = with_eigenvalues([3.0, 2.0, -1.0], dtype=np.float64)
    v = [np.array([0.3, -1.0, 2.0])]
    hv = hessian_vector_product(model, quadratic_loss, batch, v)
    np.testing.assert_allclose(hv[0], H @ v[0], rtol=1e-6)


def test_the_model_is_left_exactly_as_it_was():
    mg.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((16, 5)).astype(np.float32), rng.integers(0, 3, 16)
    nn.functional.cross_entropy(net(mg.Tensor(X)), y).backward()
    arrays = [t.data for t in list(net.parameters()) + list(net.buffers())]
    before = {k: v.copy() for k, v in net.state_dict().items()}
    grads = [p.grad for p in net.parameters()]
    value = hessian_top_eigenvalue(net, nn.functional.cross_entropy, (X, y), iters=5)
    assert np.isfinite(value) and value > 0  # cross-entropy is convex in the logits
    after = net.state_dict()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=key)
        assert after[key].dtype == before[key].dtype
    assert all(t.data is a for t, a in zip(list(net.parameters()) + list(net.buffers()), arrays))
    assert all(p.grad is g for p, g in zip(net.parameters(), grads))
    assert net.training
