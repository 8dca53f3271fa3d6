"""internal_covariate_shift: [S18]'s G and G', checked exactly and against a hand computation."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.analysis import NonStationaryNoise, internal_covariate_shift


def bn_net(noise=False):
    mg.manual_seed(0)
    block = [nn.BatchNorm1d(8)] + ([NonStationaryNoise()] if noise else [])
    return nn.Sequential(nn.Linear(6, 8), *block, nn.ReLU(), nn.Linear(8, 8), nn.BatchNorm1d(8),
                         nn.ReLU(), nn.Linear(8, 3))


def batch(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((32, 6)).astype(np.float32), rng.integers(0, 3, 32)


def linears(net):
    return [m for m in net if isinstance(m, nn.Linear)]


@pytest.mark.parametrize("noise", [False, True])
def test_with_lr_zero_g_prime_equals_g_exactly(noise):
    net = bn_net(noise)
    ics = internal_covariate_shift(net, nn.functional.cross_entropy, batch(), 0.0, linears(net))
    assert (ics["distance"] == 0).all()
    np.testing.assert_allclose(ics["cosine"], 1.0, rtol=1e-12)
    assert (ics["grad_norm"] > 0).all()


def test_the_first_layer_has_nothing_below_it_and_upper_layers_do_shift():
    net = bn_net(noise=True)
    ics = internal_covariate_shift(net, nn.functional.cross_entropy, batch(), 0.5, linears(net))
    assert ics["distance"][0] == 0
    assert (ics["distance"][1:] > 1e-4).all() and (ics["cosine"][1:] < 1).all()


def test_the_call_changes_nothing():
    net = bn_net(noise=True)
    X, y = batch()
    nn.functional.cross_entropy(net(mg.Tensor(X)), y).backward()  # some grads already there
    before = {k: v.copy() for k, v in net.state_dict().items()}
    grads = [p.grad.data.copy() for p in net.parameters()]
    random_state = mg.default_generator().bit_generator.state
    internal_covariate_shift(net, nn.functional.cross_entropy, (X, y), 0.3, linears(net))
    after = net.state_dict()
    assert before.keys() == after.keys()
    for key in before:  # parameters and BN running statistics, bit for bit
        np.testing.assert_array_equal(before[key], after[key], err_msg=key)
    for p, g in zip(net.parameters(), grads):
        np.testing.assert_array_equal(p.grad.data, g)
    assert mg.default_generator().bit_generator.state == random_state


def test_matches_a_hand_computation_on_a_two_layer_linear_net():
    # f(x) = W2 W1 x, L = mean((f - t)^2).  G2 = dL/dW2 at W1; G2' the same at W1 - lr G1.
    mg.manual_seed(1)
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Linear(4, 2, bias=False))
    rng = np.random.default_rng(2)
    X, T = rng.standard_normal((10, 3)), rng.standard_normal((10, 2))
    W1, W2 = (m.weight.data.astype(np.float64) for m in net)
    lr = 0.1

    def grads(W1, W2):
        residual = 2 * (X @ W1.T @ W2.T - T) / T.size       # dL/df
        return (W2.T @ residual.T @ X), residual.T @ (X @ W1.T)  # dL/dW1, dL/dW2

    G1, G2 = grads(W1, W2)
    _, G2_shifted = grads(W1 - lr * G1, W2)
    ics = internal_covariate_shift(net, nn.functional.mse_loss,
                                   (X.astype(np.float32), mg.tensor(T.astype(np.float32))), lr,
                                   list(net))
    expected = np.linalg.norm(G2 - G2_shifted)
    assert expected > 1e-3
    np.testing.assert_allclose(ics["distance"], [0.0, expected], rtol=1e-4, atol=1e-7)
    cos = (G2 * G2_shifted).sum() / np.linalg.norm(G2) / np.linalg.norm(G2_shifted)
    np.testing.assert_allclose(ics["cosine"][1], cos, rtol=1e-5)


def test_a_layer_outside_the_model_is_an_error():
    net = bn_net()
    with pytest.raises(ValueError, match="not part of the model"):
        internal_covariate_shift(net, nn.functional.cross_entropy, batch(), 0.1, [nn.Linear(2, 2)])
    with pytest.raises(ValueError, match="no parameters"):
        internal_covariate_shift(net, nn.functional.cross_entropy, batch(), 0.1, [nn.ReLU()])
