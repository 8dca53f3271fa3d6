"""The Module base (minigrad/nn/module.py): registration, traversal, modes, state, hooks, repr."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import Module, Parameter


class Affine(Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = Parameter(np.ones((n_in, n_out), np.float32))
        self.bias = Parameter(np.zeros(n_out, np.float32))
        self.register_buffer("calls", np.zeros((), np.int64))
        self.note = "a plain attribute"

    def forward(self, x):
        return x @ self.weight + self.bias

    def extra_repr(self):
        return f"{self.weight.shape[0]}, {self.weight.shape[1]}"


class Net(Module):
    def __init__(self):
        super().__init__()
        self.first = Affine(3, 4)
        self.scale = Parameter(np.ones(1, np.float32))
        self.second = Affine(4, 2)
        self.register_buffer("running", mg.zeros(2))

    def forward(self, x):
        return self.second(self.first(x).relu() * self.scale)


def test_parameters_in_definition_order_depth_first():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["scale", "first.weight", "first.bias", "second.weight", "second.bias"]
    assert [p is q for p, (_, q) in zip(net.parameters(), net.named_parameters())] == [True] * 5
    assert all(isinstance(p, Parameter) and p.requires_grad for p in net.parameters())


def test_registration_sorts_attributes():
    net = Net()
    assert set(net._parameters) == {"scale"} and set(net._modules) == {"first", "second"}
    assert net.first.note == "a plain attribute" and "note" not in net.first._parameters
    assert [m for m in net.children()] == [net.first, net.second]
    assert [name for name, _ in net.named_modules()] == ["", "first", "second"]
    assert list(net.modules())[0] is net


def test_reassigning_and_deleting_move_attributes_between_registries():
    net = Net()
    net.scale = mg.tensor([2.0])  # a plain Tensor is not a Parameter
    assert "scale" not in net._parameters and net.scale.data[0] == 2.0
    net.extra = Affine(1, 1)
    assert "extra" in net._modules
    del net.extra
    assert "extra" not in net._modules
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'extra'"):
        net.extra


def test_a_shared_parameter_is_listed_once():
    net = Net()
    net.second.weight = net.first.weight
    assert len(list(net.parameters())) == 4


def test_buffers_are_state_not_parameters():
    net = Net()
    assert [name for name, _ in net.named_buffers()] == ["running", "first.calls", "second.calls"]
    assert all(not b.requires_grad for b in net.buffers())
    net.running = np.ones(2)  # assigning to a buffer's name keeps it a buffer, as a Tensor
    assert isinstance(net._buffers["running"], mg.Tensor)
    np.testing.assert_array_equal(net.state_dict()["running"], [1.0, 1.0])


def test_register_buffer_replaces_a_plain_attribute():
    class WithStats(Module):
        def __init__(self):
            super().__init__()
            self.stats = None
            self.register_buffer("stats", mg.ones(2))

    module = WithStats()
    assert isinstance(module.stats, mg.Tensor) and "stats" in module.state_dict()


def test_super_init_is_required_before_assigning():
    class Forgetful(Module):
        def __init__(self):
            self.weight = Parameter(np.ones(1))

    with pytest.raises(AttributeError, match=r"Forgetful.__init__ must call super\(\).__init__\(\)"):
        Forgetful()


def test_train_and_eval_reach_every_submodule():
    net = Net()
    assert net.training and net.first.training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_call_runs_forward_and_zero_grad_clears():
    net = Net()
    out = net(mg.ones(5, 3))
    assert out.shape == (5, 2)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.data == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        Module()(1)


def test_requires_grad_switches_every_parameter():
    net = Net().requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


# --------------------------------------------------------------------------- state dicts


def test_state_dict_round_trip():
    net, other = Net(), Net()
    for p in other.parameters():
        p.data[...] = np.arange(p.numel()).reshape(p.shape)
    state = other.state_dict()
    assert list(state) == ["scale", "running", "first.weight", "first.bias", "first.calls",
                           "second.weight", "second.bias", "second.calls"]
    assert net.load_state_dict(state) == ([], [])
    for (name, p), (_, q) in zip(net.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


def test_state_dict_holds_copies():
    net = Net()
    state = net.state_dict()
    state["scale"][...] = 5.0
    assert net.scale.data[0] == 1.0


def test_load_state_dict_in_place_keeps_parameter_identity():
    net = Net()
    weight = net.first.weight
    net.load_state_dict(Net().state_dict())
    assert net.first.weight is weight


def test_strict_loading_names_missing_and_unexpected_keys():
    net = Net()
    state = net.state_dict()
    del state["first.bias"]
    state["third.weight"] = np.ones(2)
    message = r"missing keys \['first.bias'\], unexpected keys \['third.weight'\]"
    with pytest.raises(RuntimeError, match=message):
        net.load_state_dict(state)
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert missing == ["first.bias"] and unexpected == ["third.weight"]


def test_shape_mismatch_names_the_key_and_changes_nothing():
    net = Net()
    state = Net().state_dict()
    state["scale"] = np.full(1, 7.0)
    state["second.weight"] = np.ones((2, 4))
    with pytest.raises(ValueError, match=r"second.weight has shape \(2, 4\) in the checkpoint but \(4, 2\)"):
        net.load_state_dict(state)
    assert net.scale.data[0] == 1.0  # checked before anything was copied


# --------------------------------------------------------------------------- hooks, repr


def test_forward_hooks_see_inputs_and_output_and_can_be_removed():
    net = Net()
    seen = []
    handle = net.first.register_forward_hook(lambda module, inputs, output: seen.append(
        (module, inputs[0].shape, output.shape)))
    x = mg.ones(5, 3)
    net(x)
    assert seen == [(net.first, (5, 3), (5, 4))]
    handle.remove()
    net(x)
    assert len(seen) == 1
    handle.remove()  # removing twice is harmless


def test_a_forward_hook_may_replace_the_output():
    net = Net()
    net.register_forward_hook(lambda module, inputs, output: output * 0.0)
    assert np.all(net(mg.ones(2, 3)).data == 0)


def test_repr():
    assert repr(Net()) == ("Net(\n  (first): Affine(3, 4)\n  (second): Affine(4, 2)\n)")

    class Outer(Module):
        def __init__(self):
            super().__init__()
            self.inner = Net()

    assert repr(Outer()) == ("Outer(\n  (inner): Net(\n    (first): Affine(3, 4)\n"
                             "    (second): Affine(4, 2)\n  )\n)")
    assert repr(Parameter(np.ones(2, np.float32))) == ("Parameter containing:\n"
                                                        "tensor([1., 1.], requires_grad=True)")


# -- dtype moves ------------------------------------------------------------------------------


def test_double_casts_parameters_grads_and_floating_buffers_in_place():
    model = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.BatchNorm1d(4))
    weight = model[0].weight
    model(mg.randn(5, 3)).sum().backward()
    assert model.double() is model and model[0].weight is weight  # same objects, new dtype
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float64)}
    assert {p.grad.dtype for p in model.parameters()} == {np.dtype(np.float64)}
    buffers = dict(model.named_buffers())
    assert buffers["1.running_mean"].dtype == buffers["1.running_var"].dtype == np.float64
    assert buffers["1.num_batches_tracked"].dtype == np.int64  # a counter stays an integer
    assert model.float() is model and {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    assert model.to(np.float64) is model and model[0].bias.dtype == np.float64


def test_to_cpu_is_a_no_op_and_another_device_an_error():
    model = mg.nn.Linear(2, 2)
    assert model.to("cpu") is model and model.weight.dtype == np.float32
    x = mg.randn(2)
    assert x.to("cpu") is x
    with pytest.raises(ValueError, match="CPU only; got device 'cuda:0'"):
        model.to("cuda:0")
    with pytest.raises(ValueError, match="CPU only"):
        x.to("mps")


def test_tensor_type_names_or_casts():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert x.type() == "float32"
    y = x.type(np.float64)
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32  # a differentiable cast, like .to()


def test_whole_model_gradcheck_after_double():
    mg.manual_seed(0)
    model = mg.nn.Sequential(mg.nn.Linear(3, 5), mg.nn.BatchNorm1d(5), mg.nn.Tanh(),
                             mg.nn.Linear(5, 2)).double()
    x = mg.randn(6, 3, dtype=np.float64, requires_grad=True)
    assert mg.gradcheck(lambda x, *params: model(x), [x, *model.parameters()])
