"""Softmax, log-softmax and losses (minigrad/ops/loss.py, re-exported in nn.functional)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from tests.strategies import check_op, examples, shapes, values

reductions = st.sampled_from(["mean", "sum", "none"])


def np_log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def reduce(losses, reduction):
    return losses.mean() if reduction == "mean" else losses.sum() if reduction == "sum" else losses


@st.composite
def logits_and_targets(draw, low=-3.0, high=3.0):
    n, c = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    logits = draw(values((n, c), low, high))
    targets = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), np.int64)
    return logits, targets


@examples(50)
@given(data=st.data())
def test_softmax_and_log_softmax(data):
    shape = data.draw(shapes(min_dims=1))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(values(shape))
    check_op(lambda t: F.log_softmax(t, dim), lambda a: np_log_softmax(a, dim), x)
    check_op(lambda t: F.softmax(t, dim), lambda a: np.exp(np_log_softmax(a, dim)), x)
    check_op(lambda t: t.log_softmax(dim), lambda a: np_log_softmax(a, dim), x)
    check_op(lambda t: t.softmax(dim=dim), lambda a: np.exp(np_log_softmax(a, dim)), x)


@examples(50)
@given(logits_targets=logits_and_targets(), reduction=reductions)
def test_cross_entropy(logits_targets, reduction):
    logits, targets = logits_targets
    rows = np.arange(len(targets))
    check_op(lambda x: F.cross_entropy(x, targets, reduction=reduction),
             lambda a: reduce(-np_log_softmax(a, 1)[rows, targets], reduction), logits)
    check_op(lambda x: mg.cross_entropy(x, mg.tensor(targets), reduction),  # integer Tensor targets
             lambda a: reduce(-np_log_softmax(a, 1)[rows, targets], reduction), logits)


@examples(50)
@given(logits_targets=logits_and_targets(), reduction=reductions)
def test_nll_loss(logits_targets, reduction):
    scores, targets = logits_targets
    rows = np.arange(len(targets))
    check_op(lambda x: F.nll_loss(x, targets, reduction=reduction),
             lambda a: reduce(-a[rows, targets], reduction), scores)


@examples(50)
@given(data=st.data(), reduction=reductions)
def test_mse_loss(data, reduction):
    shape = data.draw(shapes())
    x, y = data.draw(values(shape)), data.draw(values(shape))
    check_op(lambda a, b: F.mse_loss(a, b, reduction=reduction),
             lambda a, b: reduce((a - b) ** 2, reduction), x, y)


@examples(50)
@given(data=st.data(), reduction=reductions)
def test_binary_cross_entropy_with_logits(data, reduction):
    shape = data.draw(shapes())
    x, y = data.draw(values(shape)), data.draw(values(shape, 0.0, 1.0))

    def reference(a, b):
        p = 1 / (1 + np.exp(-a))
        return reduce(-(b * np.log(p) + (1 - b) * np.log(1 - p)), reduction)

    check_op(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction), reference, x, y)


# --------------------------------------------------------------------------- stability


def test_cross_entropy_of_large_logits_is_finite_and_correct():
    small = np.array([[0.5, -1.0, 2.0], [0.0, 0.3, -0.2]])
    targets = np.array([2, 0])

    def loss_and_grad(logits, targets):
        x = mg.tensor(logits, requires_grad=True)
        loss = F.cross_entropy(x, targets)
        loss.backward()
        return loss.item(), x.grad.data

    reference_loss, reference_grad = loss_and_grad(small, targets)
    shifted_loss, shifted_grad = loss_and_grad(small + 1e3, targets)  # softmax ignores a shift
    np.testing.assert_allclose(shifted_loss, reference_loss, rtol=1e-10)
    np.testing.assert_allclose(shifted_grad, reference_grad, atol=1e-12)
    huge = np.array([[1e3, 0.0, -1e3]])
    loss, grad = loss_and_grad(huge, np.array([0]))
    assert loss == 0.0
    np.testing.assert_allclose(grad, [[0.0, 0.0, 0.0]], atol=1e-300)
    x = mg.tensor(huge, requires_grad=True)
    assert F.cross_entropy(x, np.array([2])).item() == pytest.approx(2e3)
    assert np.isfinite(F.log_softmax(mg.tensor(huge.astype(np.float32)), 1).data).all()


def test_binary_cross_entropy_with_large_logits_is_finite():
    x = mg.tensor(np.array([1e3, -1e3, 1e3, -1e3]), requires_grad=True)
    y = np.array([0.0, 0.0, 1.0, 1.0])
    losses = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(losses.data, [1e3, 0.0, 0.0, 1e3])
    losses.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 0.0, 0.0, -1.0])


def test_losses_keep_float32():
    logits = mg.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    loss = F.cross_entropy(logits, np.array([0, 1, 3]))
    loss.backward()
    assert loss.dtype == np.float32 and logits.grad.dtype == np.float32


# --------------------------------------------------------------------------- errors


def test_target_out_of_range_is_named():
    with pytest.raises(ValueError, match=r"cross_entropy: target 5 is out of range for 3 classes"):
        F.cross_entropy(mg.ones(2, 3), np.array([0, 5]))
    with pytest.raises(ValueError, match=r"nll_loss: target -1 is out of range"):
        F.nll_loss(mg.ones(2, 3), np.array([-1, 0]))


def test_bad_targets_and_shapes_are_named():
    with pytest.raises(TypeError, match="integer class indices.*float64"):
        F.cross_entropy(mg.ones(2, 3), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"2 rows of scores \(2, 3\) but targets of shape \(3,\)"):
        F.cross_entropy(mg.ones(2, 3), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"expected scores of shape \(N, C\), got \(3,\)"):
        F.cross_entropy(mg.ones(3), np.array([0]))
    with pytest.raises(ValueError, match=r"mse_loss: input \(2,\) and target \(3,\)"):
        F.mse_loss(mg.ones(2), mg.ones(3))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: input \(2,\) and target \(3,\)"):
        F.binary_cross_entropy_with_logits(mg.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="reduction must be"):
        F.cross_entropy(mg.ones(2, 3), np.array([0, 1]), reduction="avg")


def test_losses_match_pytorch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(0)
    logits, targets = rng.standard_normal((6, 4)) * 5, np.array([0, 3, 1, 1, 2, 0])
    probs = rng.uniform(size=(6, 4))
    for reduction in ("mean", "sum", "none"):
        pairs = [
            (lambda f, x, t, p: f.cross_entropy(x, t, reduction=reduction)),
            (lambda f, x, t, p: f.nll_loss(f.log_softmax(x, 1), t, reduction=reduction)),
            (lambda f, x, t, p: f.binary_cross_entropy_with_logits(x, p, reduction=reduction)),
            (lambda f, x, t, p: f.mse_loss(x, p, reduction=reduction)),
        ]
        for loss in pairs:
            ours = mg.tensor(logits, requires_grad=True)
            theirs = torch.tensor(logits, requires_grad=True)
            out = loss(F, ours, targets, mg.tensor(probs))
            ref = loss(tf, theirs, torch.tensor(targets), torch.tensor(probs))
            upstream = rng.standard_normal(out.shape)
            out.backward(upstream)
            ref.backward(torch.tensor(upstream))
            np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10)
            np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)
