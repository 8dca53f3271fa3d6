"""check_function: minigrad's own Functions and the exercise solutions pass; wrong ones are named.

The wrong Functions are the classic mistakes in writing softmax + cross-entropy by hand.
"""
import numpy as np
import pytest
from hypothesis import strategies as st

from minigrad.exercises import FUNCTION_PROPERTIES, check_function
from minigrad.exercises.strategies import logits_and_targets, normalization_inputs, shapes, values
from minigrad.ops.elementwise import Mul, Tanh
from minigrad.ops.layer_norm import LayerNorm
from minigrad.ops.loss import LogSoftmax
from tests.exercises.solutions import MyLayerNorm, SoftmaxCrossEntropy

FEW = 30


def cross_entropy_reference(logits, target):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(target)), target].mean()


def log_softmax_reference(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def layer_norm_reference(x, gamma, beta, eps=1e-5):
    x_hat = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    return gamma * x_hat + beta


def same_shape_pairs():
    return shapes().flatmap(lambda shape: st.tuples(values(shape), values(shape)))


def softmax_minus_onehot(ctx):
    probs, target = ctx.saved
    dlogits = probs.copy()
    dlogits[np.arange(len(target)), target] -= 1
    return dlogits


class ForgetsTheMean(SoftmaxCrossEntropy):
    def backward(ctx, grad):
        return softmax_minus_onehot(ctx) * grad, None


class IgnoresTheUpstream(SoftmaxCrossEntropy):
    def backward(ctx, grad):
        return softmax_minus_onehot(ctx) / len(ctx.saved[1]), None


class WrongSign(SoftmaxCrossEntropy):
    def backward(ctx, grad):
        return -softmax_minus_onehot(ctx) * grad / len(ctx.saved[1]), None


class OneGradientForTwoInputs(SoftmaxCrossEntropy):
    def backward(ctx, grad):
        return softmax_minus_onehot(ctx) * grad / len(ctx.saved[1])


class SumsInsteadOfMean(SoftmaxCrossEntropy):
    def forward(ctx, logits, target):
        return SoftmaxCrossEntropy.forward(ctx, logits, target) * len(target)


class OverflowsOnLargeLogits(SoftmaxCrossEntropy):
    """Softmax as e^x / Σ e^x, without subtracting the max: e^1000 = inf."""
    def forward(ctx, logits, target):
        exp = np.exp(logits)
        probs = exp / exp.sum(axis=1, keepdims=True)
        ctx.save(probs, target)
        return -np.log(probs[np.arange(len(target)), target]).mean()


class Stub(SoftmaxCrossEntropy):
    def forward(ctx, logits, target):
        raise NotImplementedError


def check_cross_entropy(function_class, **kwargs):
    return check_function(function_class, cross_entropy_reference, logits_and_targets(),
                          large=1e3, verbose=False, **kwargs)


@pytest.mark.parametrize("function_class, reference, inputs, options", [
    (SoftmaxCrossEntropy, cross_entropy_reference, logits_and_targets(), {}),
    (LogSoftmax, log_softmax_reference, None, {"axis": -1}),
    (MyLayerNorm, layer_norm_reference, normalization_inputs(min_features=2), {}),
    (LayerNorm, layer_norm_reference, normalization_inputs(min_features=2), {"eps": 0.1}),
    (Tanh, np.tanh, None, {}),
    (Mul, np.multiply, same_shape_pairs(), {}),
], ids=["solution-cross-entropy", "minigrad-LogSoftmax", "solution-layer-norm",
        "minigrad-LayerNorm", "minigrad-Tanh", "minigrad-Mul"])
def test_right_functions_pass(function_class, reference, inputs, options):
    result = check_function(function_class, reference, inputs, options=options, large=1e3,
                            max_examples=FEW, verbose=False)
    assert result.passed, result.report()
    assert [o.prop.name for o in result.outcomes] == list(FUNCTION_PROPERTIES)


@pytest.mark.parametrize("function_class, failed, words", [
    (ForgetsTheMean, ["finite_differences"], "a factor N = 2"),
    (IgnoresTheUpstream, ["finite_differences"], "backward ignores its `grad` argument"),
    (WrongSign, ["finite_differences"], "a sign"),
    (SumsInsteadOfMean, ["forward"], "where the reference takes a mean"),
    (OverflowsOnLargeLogits, ["large_inputs"], "log-sum-exp"),
    (OneGradientForTwoInputs, ["shapes"], "backward returned 1 gradient(s) for 2 inputs"),
])
def test_each_mistake_is_named(function_class, failed, words):
    result = check_cross_entropy(function_class, max_examples=FEW)
    assert result.failed == failed, result.report()
    assert words in result.report()


def test_the_report_shows_the_smallest_case(capsys):
    check_function(ForgetsTheMean, cross_entropy_reference, logits_and_targets())
    printed = capsys.readouterr().out
    assert "smallest failing case: logits (2, 2), target (2,)" in printed
    assert "worst element dlogits[" in printed and "expected (finite differences)" in printed


def test_a_stub_is_not_written_yet():
    result = check_cross_entropy(Stub)
    assert result.not_written and result.failed == ["runs"]
    assert "Stub.forward raises NotImplementedError" not in result.report()  # the short form
    assert result.report().startswith("Stub: not written yet")


def test_a_reference_that_raises_is_reported():
    result = check_function(Tanh, lambda x: x.missing, max_examples=5, verbose=False)
    assert not result.passed
    assert "the reference raised AttributeError" in result.report()
