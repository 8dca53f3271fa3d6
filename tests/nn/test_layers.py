"""Layers (minigrad/nn): shapes, PyTorch's default init, dropout, containers, init
functions, clip_grad_norm_ and the errors a wrong input shape gives."""
from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("layer, in_shape, out_shape", [
    (lambda: nn.Linear(5, 3), (4, 5), (4, 3)),
    (lambda: nn.Linear(5, 3), (2, 4, 5), (2, 4, 3)),
    (lambda: nn.Linear(5, 3, bias=False), (5,), (3,)),
    (lambda: nn.Conv2d(3, 8, 3), (2, 3, 10, 9), (2, 8, 8, 7)),
    (lambda: nn.Conv2d(3, 8, 3, padding=1), (2, 3, 10, 9), (2, 8, 10, 9)),
    (lambda: nn.Conv2d(3, 8, (3, 1), stride=(2, 1), padding=(1, 0)), (2, 3, 10, 9), (2, 8, 5, 9)),
    (lambda: nn.MaxPool2d(2), (2, 3, 10, 9), (2, 3, 5, 4)),
    (lambda: nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 10, 9), (2, 3, 5, 5)),
    (lambda: nn.AvgPool2d(2, stride=1), (2, 3, 10, 9), (2, 3, 9, 8)),
    (lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 10, 9), (2, 3, 1, 1)),
    (lambda: nn.Flatten(), (2, 3, 4, 5), (2, 60)),
    (lambda: nn.Flatten(0, 1), (2, 3, 4), (6, 4)),
    (lambda: nn.LayerNorm((4, 5)), (2, 3, 4, 5), (2, 3, 4, 5)),
    (lambda: nn.Dropout(0.5), (4, 6), (4, 6)),
    (lambda: nn.Identity(), (4, 6), (4, 6)),
])
def test_output_shapes_and_float32(layer, in_shape, out_shape):
    out = layer()(mg.randn(*in_shape))
    assert out.shape == out_shape
    assert out.dtype == np.float32


@pytest.mark.parametrize("make", [lambda: nn.Linear(50, 20), lambda: nn.Conv2d(4, 6, 3)])
def test_parameters_are_float32_and_trainable(make):
    layer = make()
    for p in layer.parameters():
        assert p.dtype == np.float32 and p.requires_grad


# --------------------------------------------------------------------------- default init


@pytest.mark.parametrize("make, fan_in", [
    (lambda: nn.Linear(200, 300), 200),
    (lambda: nn.Conv2d(16, 64, 3), 16 * 9),
    (lambda: nn.Conv2d(8, 32, (5, 3)), 8 * 15),
])
def test_default_init_is_pytorchs_uniform_of_one_over_root_fan_in(make, fan_in):
    """kaiming_uniform_(a=√5) gives U(±1/√fan_in): std = bound/√3. He init would be √6 times wider."""
    mg.manual_seed(0)
    layer = make()
    bound = 1 / np.sqrt(fan_in)
    w, b = layer.weight.data, layer.bias.data
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.95 * bound  # it fills the range, not a narrower one
    np.testing.assert_allclose(w.std(), bound / np.sqrt(3), rtol=0.05)
    assert abs(w.mean()) < 0.05 * bound


def test_init_is_reproducible_with_manual_seed():
    mg.manual_seed(3)
    first = nn.Conv2d(3, 4, 3).weight.data.copy()
    mg.manual_seed(3)
    np.testing.assert_array_equal(nn.Conv2d(3, 4, 3).weight.data, first)


@pytest.mark.parametrize("fill, expected_std", [
    (lambda t: nn.init.kaiming_normal_(t, nonlinearity="relu"), np.sqrt(2 / 400)),
    (lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu"), np.sqrt(2 / 400)),
    (lambda t: nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), np.sqrt(2 / 300)),
    (lambda t: nn.init.xavier_uniform_(t), np.sqrt(2 / 700)),
    (lambda t: nn.init.xavier_normal_(t, gain=2.0), 2 * np.sqrt(2 / 700)),
    (lambda t: nn.init.normal_(t, 1.0, 0.5), 0.5),
    (lambda t: nn.init.uniform_(t, -1, 1), 1 / np.sqrt(3)),
])
def test_init_functions_give_their_variance_in_place_and_keep_float32(fill, expected_std):
    mg.manual_seed(0)
    weight = mg.zeros(300, 400)
    returned = fill(weight)
    assert returned is weight and weight.dtype == np.float32
    np.testing.assert_allclose(weight.data.std(), expected_std, rtol=0.03)


def test_constant_inits():
    t = mg.empty(3, 4)
    assert (nn.init.zeros_(t).data == 0).all()
    assert (nn.init.ones_(t).data == 1).all()
    assert (nn.init.constant_(t, 0.25).data == 0.25).all()
    assert t.dtype == np.float32


def test_fan_in_needs_a_matrix_or_more():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.kaiming_uniform_(mg.zeros(5))


# --------------------------------------------------------------------------- dropout


def test_dropout_is_inverted_and_drops_about_p():
    mg.manual_seed(0)
    x = mg.ones(200, 500)
    y = nn.Dropout(0.3)(x).data
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)  # survivors scaled up
    assert abs(y.mean() - 1) < 0.02  # so the expectation is unchanged


def test_dropout_does_nothing_in_eval_mode():
    layer = nn.Dropout(0.9).eval()
    x = mg.randn(4, 5)
    assert layer(x) is x


def test_dropout_gradient_uses_the_same_mask():
    mg.manual_seed(1)
    x = mg.randn(6, 7, requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.backward(np.ones(y.shape, np.float32))
    np.testing.assert_array_equal(x.grad.data, (y.data != 0) * np.float32(2))


def test_dropout_masks_repeat_under_manual_seed():
    x = mg.ones(10, 10)
    mg.manual_seed(7)
    first = nn.Dropout()(x).data
    second = nn.Dropout()(x).data
    mg.manual_seed(7)
    np.testing.assert_array_equal(nn.Dropout()(x).data, first)
    assert not np.array_equal(first, second)


def test_dropout_extremes_and_bad_p():
    x = mg.randn(3, 4)
    assert (nn.Dropout(1.0)(x).data == 0).all()
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).data, x.data)
    with pytest.raises(ValueError, match="Dropout.*-0.1"):
        nn.Dropout(-0.1)


# --------------------------------------------------------------------------- containers


def test_sequential_runs_in_order_and_indexes_like_a_list():
    first, act, last = nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)
    model = nn.Sequential(first, act, last)
    assert len(model) == 3 and model[0] is first and model[-1] is last
    assert list(model) == [first, act, last]
    tail = model[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == [act, last]
    x = mg.randn(5, 4)
    np.testing.assert_array_equal(model(x).data, last(act(first(x))).data)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    with pytest.raises(IndexError, match="Sequential index 3"):
        model[3]


def test_sequential_with_names_and_append():
    model = nn.Sequential(OrderedDict(fc=nn.Linear(2, 2), act=nn.Tanh()))
    model.append(nn.Linear(2, 1))
    assert [name for name, _ in model.named_children()] == ["fc", "act", "2"]
    assert model(mg.randn(3, 2)).shape == (3, 1)
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_module_list_registers_its_layers():
    class Tower(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(3, 3) for _ in range(2)])
            self.blocks.append(nn.Linear(3, 1))

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    tower = Tower()
    assert len(tower.blocks) == 3 and len(list(tower.parameters())) == 6
    assert tower(mg.randn(2, 3)).shape == (2, 1)
    replacement = nn.Linear(3, 3)
    tower.blocks[0] = replacement
    assert tower.blocks[0] is replacement and tower.blocks[-1].out_features == 1


def test_activations():
    x = mg.tensor([-2.0, 0.5])
    np.testing.assert_allclose(nn.ReLU()(x).data, [0, 0.5])
    np.testing.assert_allclose(nn.LeakyReLU(0.1)(x).data, [-0.2, 0.5])
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp([2.0, -0.5])), rtol=1e-6)
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh([-2.0, 0.5]), rtol=1e-6)


def test_layer_norm_parameters_start_at_identity():
    layer = nn.LayerNorm(6)
    x = mg.randn(4, 6) * 3 + 2
    y = layer(x).data
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=-1), 1, rtol=1e-3)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert list(nn.LayerNorm(6, elementwise_affine=False).parameters()) == []


def test_repr_reads_like_pytorch():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(8, 2, bias=False))
    text = repr(model)
    assert "(0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))" in text
    assert "Linear(in_features=8, out_features=2, bias=False)" in text


# --------------------------------------------------------------------------- clip_grad_norm_


def test_clip_grad_norm_scales_all_gradients_together():
    a, b = mg.zeros(2, requires_grad=True), mg.zeros(1, requires_grad=True)
    a.grad, b.grad = mg.tensor([3.0, 0.0]), mg.tensor([4.0])
    total = nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.data, [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(b.grad.data, [0.8], rtol=1e-5)
    assert a.grad.dtype == np.float32


def test_clip_grad_norm_leaves_small_gradients_and_knows_inf():
    p = mg.zeros(3, requires_grad=True)
    p.grad = mg.tensor([0.1, -0.2, 0.0])
    assert nn.utils.clip_grad_norm_([p], 10.0).item() == pytest.approx(np.sqrt(0.05))
    np.testing.assert_allclose(p.grad.data, [0.1, -0.2, 0.0])
    assert nn.utils.clip_grad_norm_(p, 0.1, norm_type=np.inf).item() == pytest.approx(0.2)
    np.testing.assert_allclose(p.grad.data, [0.05, -0.1, 0.0], rtol=1e-4)


def test_clip_grad_norm_on_a_model_after_backward():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    (model(mg.randn(16, 4)) * 100).sum().backward()
    nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    norm = np.sqrt(sum(np.sum(p.grad.data.astype(np.float64) ** 2) for p in model.parameters()))
    assert norm == pytest.approx(0.5, rel=1e-4)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("layer, shape, words", [
    (nn.Conv2d(3, 8, 3), (2, 32, 32, 3), ["Conv2d(3, 8", "(N, 3, H, W)", "(2, 32, 32, 3)", "channels last"]),
    (nn.Conv2d(3, 8, 3), (2, 4, 32, 32), ["Conv2d(3, 8", "(N, 3, H, W)", "(2, 4, 32, 32)"]),
    (nn.Conv2d(3, 8, 3), (3, 32, 32), ["Conv2d(3, 8", "(3, 32, 32)"]),
    (nn.Linear(5, 2), (4, 3), ["Linear(in_features=5", "(*, 5)", "(4, 3)"]),
    (nn.LayerNorm(5), (4, 3), ["LayerNorm((5,)", "(*, 5)", "(4, 3)"]),
    (nn.MaxPool2d(2), (4, 3), ["MaxPool2d", "(N, C, H, W)", "(4, 3)"]),
    (nn.AvgPool2d(2), (4, 3, 2), ["AvgPool2d", "(4, 3, 2)"]),
])
def test_wrong_input_shape_names_the_layer_and_both_shapes(layer, shape, words):
    with pytest.raises(ValueError) as error:
        layer(mg.randn(*shape))
    for word in words:
        assert word in str(error.value)


def test_clip_grad_norm_of_a_nan_gradient_raises_when_asked():
    p = mg.zeros(2, requires_grad=True)
    p.grad = mg.tensor([np.nan, 1.0])
    with pytest.raises(RuntimeError, match="nan"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert np.isnan(nn.utils.clip_grad_norm_([p], 1.0).item())


def test_an_empty_linear_layer_builds_like_pytorchs():
    layer = nn.Linear(0, 3)
    assert layer.weight.shape == (3, 0)
    assert np.array_equal(layer(mg.zeros(2, 0)).data, np.broadcast_to(layer.bias.data, (2, 3)))
