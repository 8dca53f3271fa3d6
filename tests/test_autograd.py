"""The engine: graph bookkeeping, grad modes, dtype rules, Tensor basics (minigrad/autograd.py)."""
import gc
import weakref

import numpy as np
import pytest

import minigrad as mg


def leaf(values, dtype=np.float64):
    return mg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# --------------------------------------------------------------------------- graph regression cases


def test_reused_node_gets_the_sum_of_its_gradients():
    a = leaf([1.0, -2.0])
    b = a + a
    b.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(a.grad.data, [2.0, 20.0])


def test_diamond():
    a = leaf([0.5, 1.5])
    b = a * 3.0
    c = b * b  # dc/da = 2b · 3 = 18a
    c.backward(np.ones(2))
    np.testing.assert_allclose(a.grad.data, 18 * a.data)


def test_gradient_shared_between_a_leaf_and_a_pending_node_is_not_corrupted():
    # Add hands the same upstream array to both inputs; if x.grad aliased it, the later
    # `x.grad += 3·g` from the Mul branch would also change what Exp still has to read.
    x = leaf([0.5, 1.0])
    z = (x + x.exp()) + x * 3.0
    z.backward(np.ones(2))
    np.testing.assert_allclose(x.grad.data, 1 + np.exp(x.data) + 3)


def test_leaves_never_share_gradient_memory():
    a, b = leaf(np.zeros((2, 3))), leaf(np.zeros(6))
    z = a + b.reshape(2, 3)
    z.backward(np.ones((2, 3)), retain_graph=True)
    z.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(a.grad.data, np.full((2, 3), 2.0))
    np.testing.assert_array_equal(b.grad.data, np.full(6, 2.0))


def test_one_gradient_array_returned_for_two_leaves_is_not_shared_by_their_grads():
    # A fresh gradient is kept without a copy only when one input receives it.
    class Both(mg.Function):
        def forward(ctx, a, b):
            return a + b

        def backward(ctx, grad):
            shared = grad * 2.0
            return shared, shared

    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    Both.apply(a, b).backward(np.ones(2))
    a.grad.data += 1
    np.testing.assert_array_equal(b.grad.data, [2.0, 2.0])


def test_backward_does_not_keep_a_reference_to_the_callers_gradient():
    x = leaf([1.0, 2.0])
    upstream = np.array([1.0, 1.0])
    (x * 1.0).backward(upstream)
    x.grad.data += 5
    np.testing.assert_array_equal(upstream, [1.0, 1.0])


class PassThrough(mg.Function):
    """The identity, whose backward hands on the very array it was given."""

    def forward(ctx, x):
        return x.copy()

    def backward(ctx, grad):
        return grad


@pytest.mark.parametrize("make_output", [lambda x: x, PassThrough.apply, lambda x: x + 1.0,
                                         lambda x: x.reshape(4), lambda x: x * 2.0],
                         ids=["the leaf itself", "pass-through", "add", "a view", "mul"])
def test_a_leafs_grad_never_aliases_the_callers_gradient(make_output):
    """The sweep hands gradients on without copying; whatever a leaf keeps must be its own."""
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    out = make_output(x)
    upstream = np.arange(1.0, 5.0).reshape(out.shape).copy()  # owns its memory (no .base)
    out.backward(upstream)
    expected = x.grad.data.copy()
    upstream[...] = -7.0
    np.testing.assert_array_equal(x.grad.data, expected)


def test_a_retained_grad_does_not_alias_the_callers_gradient():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    y.retain_grad()
    upstream = np.array([1.0, -1.0])
    y.backward(upstream)
    upstream[...] = 0.0
    np.testing.assert_array_equal(y.grad.data, [1.0, -1.0])


def test_a_gradient_of_another_dtype_enters_the_sweep_in_the_tensors_dtype():
    class RecordsGradDtype(mg.Function):
        def forward(ctx, x):
            return x.copy()

        def backward(ctx, grad):
            ctx.seen.append(grad.dtype)
            return grad

    RecordsGradDtype.seen = []
    x = leaf([1.0, 2.0], dtype=np.float32)
    RecordsGradDtype.apply(x).backward(np.array([1.0, 1.0]))  # float64 gradient
    assert RecordsGradDtype.seen == [np.float32]


def test_backward_twice_with_retain_graph_accumulates():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * 2 * x.data)


def test_backward_through_a_released_graph_is_an_error():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_reusing_an_intermediate_after_its_graph_was_released_is_an_error():
    x = leaf([1.0, 2.0])
    h = x.exp()
    h.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        (h * 2.0).sum().backward()


def test_a_10000_op_chain_needs_no_recursion():
    x = leaf([1.0])
    h = x
    for _ in range(10_000):
        h = h * 1.0 + 0.0
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0])


def test_zero_grad_between_steps():
    w = leaf([1.0, 2.0])
    for _ in range(3):
        w.grad = None
        ((w * w).sum()).backward()
        np.testing.assert_allclose(w.grad.data, 2 * w.data)


def test_leaf_that_requires_grad_can_call_backward_itself():
    x = leaf([1.0, 2.0])
    x.backward(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])


def test_inputs_that_do_not_require_grad_get_no_gradient():
    x, c = leaf([1.0, 2.0]), mg.tensor(np.array([3.0, 4.0]))
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])


def test_backward_without_gradient_needs_one_element():
    y = leaf([1.0, 2.0]) * 2.0
    with pytest.raises(RuntimeError, match=r"one-element.*\(2,\)"):
        y.backward()


def test_backward_gradient_of_the_wrong_shape_names_both_shapes():
    y = leaf([1.0, 2.0]) * 2.0
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        y.backward(np.ones(3))


def test_backward_on_a_tensor_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor([1.0]).backward()


def test_an_op_backward_returning_a_wrong_shape_names_the_op():
    class Broken(mg.Function):
        def forward(ctx, x):
            return x * 2

        def backward(ctx, grad):
            return grad[:1]

    with pytest.raises(RuntimeError, match=r"Broken.*\(1,\).*\(2,\)"):
        Broken.apply(leaf([1.0, 2.0])).sum().backward()


def test_an_op_backward_returning_too_many_gradients_names_the_op():
    class TwoForOne(mg.Function):
        def forward(ctx, x):
            return x * 2

        def backward(ctx, grad):
            return grad, grad

    with pytest.raises(RuntimeError, match=r"^TwoForOne.backward returned 2 gradients for 1 inputs$"):
        TwoForOne.apply(leaf([1.0, 2.0])).sum().backward()


def test_a_full_reduction_gives_a_0d_array_not_a_numpy_scalar():
    total = leaf([1.0, 2.0]).sum()
    assert type(total.data) is np.ndarray and total.shape == ()


def test_a_backward_returning_none_contributes_nothing():
    class Blocked(mg.Function):
        def forward(ctx, x):
            return x.copy()

        def backward(ctx, grad):
            return None

    x = leaf([1.0, 2.0])
    (Blocked.apply(x * 2.0) + x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


def test_saved_arrays_are_freed_after_backward():
    x = leaf([1.0, 2.0])
    y = x.exp()
    y.sum().backward()
    assert y.grad_fn.saved is None and y.grad_fn.inputs == ()


def test_an_intermediate_result_is_freed_when_only_the_graph_would_hold_it():
    """The graph links to the node that made an input, not to the input tensor, so a value no
    backward needs goes as soon as the caller drops it (as in PyTorch); backward still works."""
    x = leaf([1.0, 2.0])
    h = x * 3.0
    unused_by_backward = weakref.ref(h.data)  # Add keeps only shapes, not its inputs' values
    loss = (h + 1.0).sum()
    del h
    gc.collect()
    assert unused_by_backward() is None
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_a_recorded_node_links_to_the_node_of_an_op_made_input_and_to_a_leaf_itself():
    x = leaf([1.0, 2.0])
    e = (x * 3.0).exp()
    y = e + x
    assert y.grad_fn.inputs[0] is e.grad_fn and y.grad_fn.inputs[1] is x
    assert (y.grad_fn.output_shape, y.grad_fn.output_dtype) == ((2,), x.dtype)


def test_retain_grad_keeps_and_accumulates_a_non_leaf_gradient():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    h.retain_grad()
    y = (h * h).sum()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(h.grad.data, 2 * h.data)
    y.backward()
    np.testing.assert_allclose(h.grad.data, 4 * h.data)
    other = x * 2.0
    (other * other).sum().backward()
    assert other.grad is None


def test_is_leaf():
    x = leaf([1.0])
    assert x.is_leaf and mg.tensor([1.0]).is_leaf
    assert not (x * 2.0).is_leaf
    assert (x * 2.0).detach().is_leaf
    with mg.no_grad():
        assert (x * 2.0).is_leaf


def test_detach_shares_data_and_cuts_the_graph():
    x = leaf([1.0, 2.0])
    d = (x * 2.0).detach()
    assert not d.requires_grad and d.grad_fn is None
    y = x.detach()
    y.data[0] = 7.0
    assert x.data[0] == 7.0


def test_requires_grad_cannot_be_switched_off_on_a_non_leaf():
    with pytest.raises(RuntimeError, match="leaf"):
        (leaf([1.0]) * 2.0).requires_grad = False


# --------------------------------------------------------------------------- grad modes


def test_no_grad_builds_no_graph():
    x = leaf([1.0, 2.0])
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = x * 2.0
    assert mg.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad


def test_no_grad_as_a_decorator_and_enable_grad_inside():
    x = leaf([1.0])

    @mg.no_grad()
    def step():
        """Docstring kept."""
        inner = x * 2.0
        with mg.enable_grad():
            assert mg.is_grad_enabled()
            recorded = x * 2.0
        assert not mg.is_grad_enabled()
        return inner, recorded

    inner, recorded = step()
    assert not inner.requires_grad and recorded.requires_grad
    assert step.__name__ == "step" and step.__doc__ == "Docstring kept."
    assert mg.is_grad_enabled()


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with mg.no_grad():
            1 / 0
    assert mg.is_grad_enabled()


# --------------------------------------------------------------------------- dtype rules


def test_dtype_of_new_tensors():
    assert mg.tensor(np.zeros(2)).dtype == np.float64  # an ndarray keeps its dtype
    assert mg.tensor(np.zeros(2, np.float32)).dtype == np.float32
    assert mg.tensor(1.5).dtype == np.float32  # Python floats: PyTorch's float32 default
    assert mg.tensor([[1.0, 2.0]]).dtype == np.float32
    assert mg.tensor(3).dtype == np.int64
    assert mg.tensor([1, 2]).dtype == np.int64  # labels stay integer
    assert mg.tensor([True, False]).dtype == np.bool_
    assert mg.tensor([1, 2], dtype=np.float64).dtype == np.float64


def test_integer_tensors_meet_floats_as_in_pytorch():
    ints = mg.tensor([1, 2])
    assert (ints * 2.5).dtype == np.float32  # NumPy alone would give float64
    assert (2.5 * ints).dtype == np.float32
    assert (ints + 1).dtype == np.int64
    assert (ints / 2).dtype == np.float32 and (ints / ints).dtype == np.float32
    assert (ints * mg.ones(2)).dtype == np.float32
    assert (ints * mg.tensor(np.ones(2))).dtype == np.float64
    assert (mg.tensor([True, False]) + 1.5).dtype == np.float32
    np.testing.assert_array_equal((ints / 2).numpy(), [0.5, 1.0])


def test_grad_has_the_leafs_dtype():
    # float64 data times a float32 weight is float64, and so is the gradient on the way back;
    # the weight's .grad is float32 all the same (PyTorch's rule), on first and later passes.
    weight = mg.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    data = mg.tensor(np.array([3.0, 4.0]))
    for expected in ([3.0, 4.0], [6.0, 8.0]):
        (weight * data).sum().backward()
        assert weight.grad.dtype == np.float32
        np.testing.assert_array_equal(weight.grad.numpy(), expected)


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point.*int64"):
        mg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        mg.arange(3).requires_grad_()


@pytest.mark.parametrize("expression", [
    lambda x: x * 2.0, lambda x: 2.0 * x, lambda x: x + 1, lambda x: 1 - x, lambda x: x / 3,
    lambda x: 3 / x, lambda x: x ** 2, lambda x: 2 ** x, lambda x: x * np.float64(2.0),
    lambda x: np.float64(2.0) * x, lambda x: x - np.int64(1), lambda x: mg.maximum(x, 0.5),
    lambda x: mg.where(x > 1, x, 0.0),
])
def test_python_and_numpy_scalars_never_upcast_float32(expression):
    x = leaf([1.0, 2.0], np.float32)
    y = expression(x)
    assert y.dtype == np.float32
    y.backward(np.ones(2, np.float32))
    assert x.grad.dtype == np.float32


def test_float64_arrays_promote_like_pytorch():
    x = leaf([1.0, 2.0], np.float32)
    assert (x + np.ones(2)).dtype == np.float64


# --------------------------------------------------------------------------- operators


def test_reflected_operators_with_ndarrays_give_tensors_in_the_graph():
    x = leaf([1.0, 2.0])
    for y in (np.ones(2) + x, np.full(2, 3.0) * x, np.ones(2) - x, np.ones(2) / x,
              np.full(2, 2.0) ** x, np.ones((3, 2)) @ x):
        assert isinstance(y, mg.Tensor) and y.requires_grad
    y = np.array([3.0, 4.0]) * x
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])


def test_numpy_ufuncs_on_tensors_are_refused():
    with pytest.raises(TypeError):
        np.exp(leaf([1.0]))


@pytest.mark.parametrize("compare, expected", [
    (lambda x, y: x < y, [True, False, False]), (lambda x, y: x <= y, [True, True, False]),
    (lambda x, y: x > y, [False, False, True]), (lambda x, y: x >= y, [False, True, True]),
    (lambda x, y: x == y, [False, True, False]), (lambda x, y: x != y, [True, False, True]),
])
def test_comparisons_give_boolean_tensors_without_grad(compare, expected):
    x, y = leaf([1.0, 2.0, 3.0]), mg.tensor(np.array([2.0, 2.0, 2.0]))
    for result in (compare(x, y), compare(x, np.full(3, 2.0)), compare(x, 2.0)):
        assert isinstance(result, mg.Tensor) and result.dtype == np.bool_
        assert not result.requires_grad
        np.testing.assert_array_equal(result.data, expected)
    assert isinstance(np.full(3, 2.0) > x, mg.Tensor)  # reflected: x < 2
    np.testing.assert_array_equal((np.full(3, 2.0) > x).data, [True, False, False])


def test_unsupported_operand_types_name_the_type():
    x = leaf([1.0])
    with pytest.raises(TypeError, match="str"):
        x + "one"
    with pytest.raises(TypeError, match="NoneType"):
        x * None
    with pytest.raises(TypeError, match="str"):
        mg.Tensor("abc")
    with pytest.raises(TypeError, match="dict"):
        mg.tensor({"a": 1})


# --------------------------------------------------------------------------- Tensor basics


def test_tensor_properties():
    t = mg.tensor(np.arange(6.0).reshape(2, 3))
    assert t.shape == (2, 3) and t.ndim == 2 and t.dim() == 2 and len(t) == 2
    assert t.size() == (2, 3) and t.size(1) == 3 and t.numel() == 6
    assert t.T.shape == (3, 2)
    np.testing.assert_array_equal(t.T.data, t.data.T)
    assert t.numpy() is t.data
    assert t.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert t[1, 2].item() == 5.0 and float(t[1, 2]) == 5.0 and int(t[1, 2]) == 5
    assert f"{t[1, 2]:.2f}" == "5.00"


def test_iteration_gives_rows_in_the_graph():
    x = mg.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = list(x)
    assert len(rows) == 3 and rows[1].shape == (2,)
    (rows[0] * 2.0 + rows[2]).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[2.0, 2.0], [0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(TypeError, match="0-d"):
        list(mg.tensor(1.0))


def test_tensor_numpy_on_a_tensor_that_requires_grad_is_an_error():
    with pytest.raises(RuntimeError, match="detach"):
        leaf([1.0]).numpy()


def test_item_and_bool_need_one_element():
    with pytest.raises(ValueError, match=r"\(2,\)"):
        mg.tensor([1.0, 2.0]).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(mg.tensor([1.0, 2.0]))
    assert bool(mg.tensor([1.0]))


def test_transpose_of_a_leaf_sends_gradients_back():
    x = leaf(np.arange(6.0).reshape(2, 3))
    g = np.arange(6.0).reshape(3, 2)
    x.T.backward(g)
    np.testing.assert_array_equal(x.grad.data, g.T)


def test_repr_follows_pytorch():
    assert repr(mg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(mg.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(mg.tensor(1.5)) == "tensor(1.5)"
    assert repr(mg.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(mg.tensor(np.array([1.0]))) == "tensor([1.], dtype=float64)"
    assert repr(mg.tensor([1.0], requires_grad=True) * 2) == "tensor([2.], grad_fn=<MulBackward>)"
    assert repr(mg.tensor([[1.0, 2.0], [3.0, 4.0]])) == "tensor([[1., 2.],\n        [3., 4.]])"
    assert repr(mg.tensor(np.array([1.23456789, 2.0]))) == "tensor([1.2346, 2.    ], dtype=float64)"


def test_format_spec_formats_one_element_and_leaves_the_rest_to_repr():
    one, two = mg.tensor(1.5), mg.tensor([1.0, 2.0])
    assert f"{one:.2f}" == "1.50" and f"{one}" == repr(one) == "tensor(1.5)"
    assert f"{two:.2f}" == repr(two)


def test_len_is_the_first_axis_and_a_0d_tensor_has_none():
    assert len(mg.zeros(3)) == 3 and len(mg.zeros(2, 5)) == 2
    with pytest.raises(TypeError, match="0-d"):
        len(mg.tensor(1.0))


def test_numpy_reads_a_tensor_through_the_array_protocol():
    x = mg.tensor([1.0, 2.0])
    assert np.asarray(x) is x.data
    assert np.asarray(x, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("device", ["cpu", "cpu:0"])
def test_to_the_cpu_changes_nothing(device):
    x = mg.tensor([1.0, 2.0])
    assert x.to(device) is x


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "mps", "xpu", "meta"])
def test_to_another_device_is_an_error_naming_it(device):
    with pytest.raises(ValueError, match=rf"^minigrad runs on the CPU only; got device '{device}'$"):
        mg.tensor([1.0]).to(device)


def test_to_a_name_that_is_neither_dtype_nor_device_is_a_type_error():
    with pytest.raises(TypeError, match=r"^\.to\(\) takes a dtype or the device 'cpu', got 'cpux'$"):
        mg.tensor([1.0]).to("cpux")


# --------------------------------------------------------------------------- factories, seeding


def test_factories():
    assert mg.zeros(2, 3).shape == (2, 3) and mg.zeros((2, 3)).dtype == np.float32
    assert mg.ones([4]).data.sum() == 4 and mg.empty(2, 2).shape == (2, 2)
    assert mg.zeros(2, dtype=np.float64).dtype == np.float64
    assert mg.zeros_like(mg.tensor([1, 2])).dtype == np.int64
    assert mg.ones_like(np.zeros((2, 2), np.float32)).data.sum() == 4
    assert mg.randn(3, 4).dtype == np.float32 and mg.rand(5).shape == (5,)
    assert mg.zeros(2, requires_grad=True).requires_grad
    assert mg.arange(3).dtype == np.int64 and mg.arange(0, 1, 0.5).dtype == np.float32
    np.testing.assert_array_equal(mg.arange(1, 7, 2).data, [1, 3, 5])
    assert mg.tensor([1.0, 2.0]).data.flags.owndata  # tensor() copies



@pytest.mark.parametrize("factory", [mg.zeros, mg.ones, mg.empty, mg.randn, mg.rand])
def test_factories_make_float32_leaves_without_grad_unless_asked(factory):
    plain = factory(2, 3)
    assert plain.shape == (2, 3) and plain.dtype == np.float32 and plain.requires_grad is False
    asked = factory(2, dtype=np.float64, requires_grad=True)
    assert asked.dtype == np.float64 and asked.requires_grad is True


@pytest.mark.parametrize("factory, value", [(mg.zeros_like, 0), (mg.ones_like, 1)])
def test_like_factories_keep_shape_and_dtype_unless_asked(factory, value):
    like = np.zeros((2, 3), np.int64)
    plain = factory(like)
    assert plain.dtype == np.int64 and plain.requires_grad is False
    np.testing.assert_array_equal(plain.data, np.full((2, 3), value))
    asked = factory(like, dtype=np.float64, requires_grad=True)
    assert asked.dtype == np.float64 and asked.requires_grad is True


def test_arange_counts_from_zero_in_steps_of_one_by_default():
    np.testing.assert_array_equal(mg.arange(4).data, [0, 1, 2, 3])
    np.testing.assert_array_equal(mg.arange(2, 5).data, [2, 3, 4])


def test_tensor_keeps_an_explicit_dtype_and_starts_without_grad():
    x = mg.Tensor([1, 2], dtype=np.float64)
    assert x.dtype == np.float64 and x.requires_grad is False


def test_manual_seed_makes_draws_reproducible():
    mg.manual_seed(123)
    first = (mg.randn(4).data, mg.rand(4).data, mg.default_generator().integers(100))
    mg.manual_seed(123)
    again = (mg.randn(4).data, mg.rand(4).data, mg.default_generator().integers(100))
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert first[2] == again[2]
    assert not np.array_equal(mg.randn(4).data, first[0])


# --------------------------------------------------------------------------- reference


def test_a_small_network_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x_np, w_np, b_np = rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    target = np.array([0, 3, 1, 1, 2])

    def loss(lib, x, w, b, target):
        h = (x @ w + b).tanh() * 2.0 - (x @ w).relu()
        return (lib.cross_entropy(h, target) + (h * h).mean()) / 2

    x, w, b = (mg.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
    ours = loss(mg, x, w, b, target)
    theirs = loss(torch.nn.functional, tx, tw, tb, torch.tensor(target))
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-10)
    for a, t in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(a.grad.data, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_a_ragged_nested_list_is_refused_in_minigrads_words():
    with pytest.raises(ValueError, match=r"ragged nested list .*\[\[1, 2\], \[3\]\]"):
        mg.tensor([[1, 2], [3]])
    long_rows = [list(range(30)), [1]]
    with pytest.raises(ValueError) as raised:
        mg.tensor(long_rows)
    assert str(raised.value).endswith(": " + repr(long_rows)[:60] + "...")
