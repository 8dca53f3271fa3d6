"""ℓp BatchNorm ([S18] §3.2): forward vs NumPy, hand-derived backward vs finite differences,
and the properties that follow from the definition (norms taken before mean-shifting)."""
import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from tests.strategies import check_op, distinct_values, examples, values

NORMS = [1, 2, math.inf]


@st.composite
def inputs(draw):
    """(N, C), (N, C, L) or (N, C, H, W) whose |x| has no ties (ℓ∞'s max is then unique) and
    stays away from 0 (|z| has a kink there): distinct magnitudes, random signs. γ, β per channel."""
    ndim = draw(st.sampled_from([2, 3, 4]))
    shape = (draw(st.integers(2, 5)), draw(st.integers(1, 3)),
             *draw(st.lists(st.integers(1, 3), min_size=ndim - 2, max_size=ndim - 2)))
    magnitudes = draw(distinct_values(shape, low=1.0, high=3.0))
    signs = np.where(draw(hnp.arrays(bool, shape)), 1.0, -1.0)
    x = signs * magnitudes
    channels = shape[1]
    return x, draw(values((channels,), 0.5, 2.0)), draw(values((channels,)))


def reference(x, gamma, beta, p, eps):
    """The definition, in NumPy: (x − mean x)/s(n_p(x)) per channel, then γ·, +β."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if p == 1:
        s = np.abs(x).mean(axis=axes, keepdims=True) + eps
    elif p == 2:
        s = np.sqrt((x * x).mean(axis=axes, keepdims=True) + eps)
    else:
        s = np.abs(x).max(axis=axes, keepdims=True) + eps
    return (x - x.mean(axis=axes, keepdims=True)) / s * gamma.reshape(shape) + beta.reshape(shape)


@pytest.mark.parametrize("p", NORMS)
@examples(50)
@given(case=inputs(), eps=st.sampled_from([0.0, 1e-5, 0.1]))
def test_forward_and_backward_match_reference_and_finite_differences(p, case, eps):
    def op(x, g, b):
        return F.lp_batch_norm(x, None, None, g, b, training=True, eps=eps, p=p)
    check_op(op, lambda x, g, b: reference(x, g, b, p, eps), *case, atol=1e-9, rtol=1e-7)


@pytest.mark.parametrize("p", NORMS)
@examples(50)
@given(case=inputs())
def test_without_affine_matches_reference(p, case):
    x, _, _ = case
    ones, zeros = np.ones(x.shape[1]), np.zeros(x.shape[1])
    def op(x):
        return F.lp_batch_norm(x, None, None, training=True, p=p)
    check_op(op, lambda x: reference(x, ones, zeros, p, 1e-5), x, atol=1e-9, rtol=1e-7)


@pytest.mark.parametrize("p", NORMS)
@examples(50)
@given(case=inputs(), c=st.floats(0.1, 10))
def test_scale_invariant_so_gradient_orthogonal_to_input(p, case, c):
    """With ε = 0 the output does not change when x is scaled by c > 0, so (Euler) the
    gradient is orthogonal to x per channel: Σ dx·x = 0. The mean is NOT a symmetry here
    (the norm is taken before subtracting it), unlike BN: Σ dx ≠ 0 in general."""
    x, gamma, beta = case
    def out(x):
        return F.lp_batch_norm(x, None, None, mg.tensor(gamma), mg.tensor(beta),
                               training=True, eps=0.0, p=p)
    np.testing.assert_allclose(out(mg.tensor(c * x)).data, out(mg.tensor(x)).data, atol=1e-9)
    xt = mg.tensor(x, requires_grad=True)
    upstream = np.random.default_rng(0).standard_normal(x.shape)
    out(xt).backward(upstream)
    axes = (0,) + tuple(range(2, x.ndim))
    scale = np.abs(xt.grad.data * x).sum(axis=axes)
    np.testing.assert_allclose((xt.grad.data * x).sum(axis=axes), 0, atol=1e-10 * (1 + scale.max()))


@examples(50)
@given(case=inputs())
def test_l2_equals_batch_norm_on_centred_input(case):
    """When every channel already has mean 0, √mean(z²) is the standard deviation: ℓ2 = BN."""
    x, gamma, beta = case
    axes = (0,) + tuple(range(2, x.ndim))
    x = x - x.mean(axis=axes, keepdims=True)
    args = (mg.tensor(gamma), mg.tensor(beta))
    lp = F.lp_batch_norm(mg.tensor(x), None, None, *args, training=True, p=2)
    bn = F.batch_norm(mg.tensor(x), None, None, *args, training=True)
    np.testing.assert_allclose(lp.data, bn.data, atol=1e-9)


@pytest.mark.parametrize("p", NORMS)
def test_module_running_statistics_and_eval_mode(p):
    mg.manual_seed(0)
    layer = nn.LpBatchNorm2d(3, p=p, momentum=0.5)
    x = mg.randn(4, 3, 5, 5) * 3 + 1
    y = layer(x)
    assert y.dtype == np.float32
    axes = (0, 2, 3)
    norm = {1: np.abs(x.data).mean(axes), 2: np.sqrt((x.data ** 2).mean(axes)),
            math.inf: np.abs(x.data).max(axes)}[p]
    np.testing.assert_allclose(layer.running_mean.data, 0.5 * x.data.mean(axes), rtol=1e-5)
    np.testing.assert_allclose(layer.running_norm.data, 0.5 + 0.5 * norm, rtol=1e-5)
    layer.eval()
    layer.running_mean.data[...], layer.running_norm.data[...] = x.data.mean(axes), norm
    np.testing.assert_allclose(layer(x).data, y.data, rtol=1e-4, atol=1e-5)
    out = layer(mg.tensor(x.data, requires_grad=True))
    out.backward(np.ones(out.shape, np.float32))
    assert layer.weight.grad.dtype == np.float32


def test_module_trains_its_affine_parameters():
    layer = nn.LpBatchNorm1d(4, p=1)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert [name for name, _ in layer.named_buffers()] == ["running_mean", "running_norm"]
    bare = nn.LpBatchNorm1d(4, affine=False, track_running_stats=False)
    assert bare(mg.randn(3, 4)).shape == (3, 4) and not list(bare.parameters())


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="p must be 1, 2 or"):
        nn.LpBatchNorm1d(3, p=3)
    with pytest.raises(ValueError, match=r"LpBatchNorm1d\(3\).*\(2, 5\)"):
        nn.LpBatchNorm1d(3)(mg.randn(2, 5))
    with pytest.raises(ValueError, match="LpBatchNorm2d"):
        nn.LpBatchNorm2d(3)(mg.randn(2, 3))
    with pytest.raises(ValueError, match="more than 1 value per feature"):
        nn.LpBatchNorm1d(3)(mg.randn(1, 3))
    with pytest.raises(ValueError, match=r"weight has shape \(2,\)"):
        F.lp_batch_norm(mg.randn(4, 3), None, None, mg.ones(2), None, training=True)
