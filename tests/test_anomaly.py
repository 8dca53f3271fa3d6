"""Anomaly mode names the op, the input and the user's line where a gradient became nan/inf."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


@pytest.fixture(autouse=True)
def quiet_numpy():
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
    mg.autograd.set_detect_anomaly(False)


def sqrt_at_zero():
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    loss = (x.sqrt() * 2).sum()  # d sqrt(x)/dx = 1/(2 sqrt(x)) is inf at 0
    return x, loss


def test_off_by_default_the_inf_reaches_the_leaf_silently():
    assert not mg.autograd.is_anomaly_enabled()
    x, loss = sqrt_at_zero()
    loss.backward()
    assert np.isinf(x.grad.data[0])


def test_the_first_bad_gradient_names_op_input_shape_and_the_forward_line():
    with mg.autograd.detect_anomaly():
        x, loss = sqrt_at_zero()
        with pytest.raises(RuntimeError) as raised:
            loss.backward()
    message = str(raised.value)
    assert message.startswith("Sqrt returned inf in its gradient for input 0 (shape (2,))")
    assert "test_anomaly.py" in message and "loss = (x.sqrt() * 2).sum()" in message
    assert x.grad is None  # raised before anything reached the leaf


def test_decorator_and_global_switch():
    @mg.autograd.detect_anomaly()
    def step():
        _, loss = sqrt_at_zero()
        loss.backward()

    with pytest.raises(RuntimeError, match="Sqrt returned inf"):
        step()
    assert not mg.autograd.is_anomaly_enabled()  # restored after the exception
    mg.autograd.set_detect_anomaly(True)
    with pytest.raises(RuntimeError, match="Sqrt returned inf"):
        sqrt_at_zero()[1].backward()


def test_check_forward_reports_nan_made_from_finite_inputs():
    x = mg.tensor([-1.0, 1.0], requires_grad=True)
    with mg.autograd.detect_anomaly(check_forward=True):
        with pytest.raises(RuntimeError, match=r"Log returned nan in its output \(shape \(2,\)\) "
                                               r"from finite inputs.*x.log\(\)"):
            x.log()
        inf = mg.tensor([np.inf, 1.0], requires_grad=True)
        assert np.isinf((inf * 2).data[0])  # not finite in, so not this op's fault


def test_the_recorded_line_is_the_users_not_minigrads():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    with mg.autograd.detect_anomaly():
        out = model(mg.randn(4, 3))
    assert "test_anomaly.py" in out.grad_fn.created_at
    assert "out = model(mg.randn(4, 3))" in out.grad_fn.created_at
