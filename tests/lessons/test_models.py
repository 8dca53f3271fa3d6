"""The lessons' shared models (lessons/models.py): the residual block through the same checks as
every op (forward against NumPy, backward against finite differences, float32 kept)."""
import numpy as np
from hypothesis import given, strategies as st

import minigrad as mg
from lessons import models
from minigrad import nn
from tests.strategies import check_dtype_kept, values


def numpy_block(x, weight, bias, gamma=None, beta=None, eps=1e-5):
    """x + relu(norm(x Wᵀ + b)) in NumPy; BN with the batch's biased variance, as in training."""
    h = x @ weight.T + (bias if bias is not None else 0)
    if gamma is not None:
        h = gamma * (h - h.mean(0)) / np.sqrt(h.var(0) + eps) + beta
    return x + np.maximum(h, 0)


def float64_block(width, norm, seed):
    """A block whose parameters are float64 (finite differences need them), with γ and β
    moved off 1 and 0 so their gradients are not a special case."""
    mg.manual_seed(seed)
    block = models.ResidualBlock(width, norm=norm)
    rng = np.random.default_rng(seed)
    for p in block.parameters():
        p.data = p.data.astype(np.float64) + 0.3 * rng.standard_normal(p.shape)
    return block


@given(batch=st.integers(3, 6), width=st.integers(1, 4), bn=st.booleans(),
       data=st.data())
def test_residual_block_forward_and_backward(batch, width, bn, data):
    block = float64_block(width, nn.BatchNorm1d if bn else None, seed=batch * 10 + width)
    x = data.draw(values((batch, width)))
    norm = block.norm if bn else None
    expected = numpy_block(x, block.linear.weight.data,
                           None if bn else block.linear.bias.data,
                           norm.weight.data if bn else None, norm.bias.data if bn else None)
    np.testing.assert_allclose(block(mg.tensor(x, dtype=np.float64)).data, expected, atol=1e-9)
    inputs = [mg.tensor(x, dtype=np.float64, requires_grad=True), *block.parameters()]
    assert mg.gradcheck(lambda x, *params: block(x), inputs)


def test_residual_block_keeps_float32():
    block = models.ResidualBlock(4, norm=nn.BatchNorm1d)
    check_dtype_kept(block, np.random.default_rng(0).standard_normal((5, 4)))


def test_residual_block_has_no_bias_before_a_norm():
    assert models.ResidualBlock(4, norm=nn.BatchNorm1d).linear.bias is None
    assert models.ResidualBlock(4).linear.bias is not None


def test_residual_mlp_has_depth_hidden_linears_and_the_stated_init():
    mg.manual_seed(0)
    net = models.residual_mlp(20, 10, width=64, depth=5, norm=nn.BatchNorm1d, init="he")
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 6  # stem, 4 blocks, classifier
    assert sum(isinstance(m, models.ResidualBlock) for m in net.modules()) == 4
    np.testing.assert_allclose(linears[2].weight.data.std(), np.sqrt(2 / 64), rtol=0.1)
    assert net(mg.randn(8, 20)).shape == (8, 10)
