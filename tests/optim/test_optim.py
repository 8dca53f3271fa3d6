"""Optimizers and schedules: PyTorch's exact trajectories, in-place float32 updates, bad input."""
import numpy as np
import pytest

import minigrad
from minigrad import optim
from minigrad.nn import Parameter
from minigrad.optim import lr_scheduler

# -- a small problem both frameworks can run: a tanh regression with two parameters -----------

INPUTS = np.random.default_rng(0).standard_normal((8, 3))
TARGETS = np.random.default_rng(1).standard_normal((8, 2))
START_W = np.random.default_rng(2).standard_normal((3, 2))
START_B = np.random.default_rng(3).standard_normal(2)


def minigrad_loss(w, b):
    out = (minigrad.tensor(INPUTS, dtype=w.dtype) @ w + b).tanh()
    return ((out - minigrad.tensor(TARGETS, dtype=w.dtype)) ** 2).mean()


def minigrad_trajectory(make_optimizer, steps=25, dtype=np.float64):
    w, b = Parameter(START_W.astype(dtype)), Parameter(START_B.astype(dtype))
    optimizer = make_optimizer([w, b])
    path = []
    for _ in range(steps):
        optimizer.zero_grad()
        minigrad_loss(w, b).backward()
        optimizer.step()
        path.append(np.concatenate([w.data.ravel(), b.data]))
    return np.array(path)


def torch_trajectory(torch, make_optimizer, steps=25):
    w = torch.tensor(START_W, requires_grad=True)
    b = torch.tensor(START_B, requires_grad=True)
    optimizer = make_optimizer([w, b])
    x, y = torch.tensor(INPUTS), torch.tensor(TARGETS)
    path = []
    for _ in range(steps):
        optimizer.zero_grad()
        ((torch.tanh(x @ w + b) - y) ** 2).mean().backward()
        optimizer.step()
        path.append(np.concatenate([w.detach().numpy().ravel(), b.detach().numpy()]))
    return np.array(path)


CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.1)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, betas=(0.5, 0.9), eps=0.1)),  # a large eps shows where it is added
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=0.1, weight_decay=0.1, momentum=0.5, centered=True)),
]


@pytest.mark.parametrize("name, options", CONFIGS, ids=[f"{n}-{o}" for n, o in CONFIGS])
def test_follows_pytorch_trajectory(name, options):
    torch = pytest.importorskip("torch")
    ours = minigrad_trajectory(lambda p: getattr(optim, name)(p, **options))
    theirs = torch_trajectory(torch, lambda p: getattr(torch.optim, name)(p, **options))
    assert np.abs(ours[-1] - np.concatenate([START_W.ravel(), START_B])).max() > 1e-2  # it moved
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_follows_pytorch_trajectory_in_float32(name):
    """float32 rounding differs between the frameworks, so here ~1e-6 is the bar."""
    torch = pytest.importorskip("torch")
    options = dict(lr=0.05, weight_decay=0.01)
    ours = minigrad_trajectory(lambda p: getattr(optim, name)(p, **options), dtype=np.float32)
    theirs = torch_trajectory(torch, lambda p: getattr(torch.optim, name)(p, **options))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)


def test_param_groups_follow_pytorch():
    torch = pytest.importorskip("torch")
    ours = minigrad_trajectory(lambda p: optim.SGD([{"params": [p[0]]},
                                                    {"params": [p[1]], "lr": 0.5, "momentum": 0.9}],
                                                   lr=0.1))
    theirs = torch_trajectory(torch, lambda p: torch.optim.SGD(
        [{"params": [p[0]]}, {"params": [p[1]], "lr": 0.5, "momentum": 0.9}], lr=0.1))
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


# -- schedules ------------------------------------------------------------------------------------

SCHEDULES = [
    ("StepLR", dict(step_size=4, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[3, 7, 7, 12], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=10)),
]


def lr_sequence(scheduler, steps=30):
    lrs = [scheduler.get_last_lr()]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
    return np.array(lrs)


@pytest.mark.parametrize("name, options", SCHEDULES, ids=[f"{n}-{o}" for n, o in SCHEDULES])
def test_schedule_follows_pytorch(name, options):
    torch = pytest.importorskip("torch")
    ours = optim.SGD([{"params": [Parameter(np.zeros(2))]},
                      {"params": [Parameter(np.zeros(2))], "lr": 0.3}], lr=0.1)
    theirs = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)]},
                              {"params": [torch.zeros(2, requires_grad=True)], "lr": 0.3}], lr=0.1)
    expected = lr_sequence(getattr(torch.optim.lr_scheduler, name)(theirs, **options))
    got = lr_sequence(getattr(lr_scheduler, name)(ours, **options))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert [g["lr"] for g in ours.param_groups] == list(got[-1])


def test_schedule_state_dict_resumes():
    params = [Parameter(np.zeros(2, np.float32))]
    first = lr_scheduler.StepLR(optim.SGD(params, lr=1.0), step_size=2, gamma=0.5)
    for _ in range(5):
        first.step()
    resumed = lr_scheduler.StepLR(optim.SGD(params, lr=1.0), step_size=2, gamma=0.5)
    resumed.load_state_dict(first.state_dict())
    first.step(), resumed.step()
    assert resumed.get_last_lr() == first.get_last_lr() == [0.125]


# -- torch-free properties ------------------------------------------------------------------

ALL = [("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)),
       ("Adam", dict(lr=0.1, weight_decay=0.01, amsgrad=True)),
       ("AdamW", dict(lr=0.1)),
       ("RMSprop", dict(lr=0.1, momentum=0.9, centered=True, weight_decay=0.01))]


@pytest.mark.parametrize("name, options", ALL, ids=[n for n, _ in ALL])
def test_updates_in_place_and_keep_float32(name, options):
    w = Parameter(np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32))
    b = Parameter(np.zeros(2, np.float32))
    arrays = (w.data, b.data)
    optimizer = getattr(optim, name)([w, b], **{**options, "lr": np.float64(options["lr"])})
    for _ in range(3):
        w.grad = minigrad.tensor(np.ones((3, 2), np.float32))
        b.grad = minigrad.tensor(np.full(2, 0.5, np.float32))
        optimizer.step()
    assert w.data is arrays[0] and b.data is arrays[1]
    assert w.data.dtype == b.data.dtype == np.float32
    assert not np.array_equal(b.data, 0)
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32


def test_sgd_step_is_p_minus_lr_grad_per_group():
    frozen, trained = Parameter(np.ones(2, np.float32)), Parameter(np.ones(2, np.float32))
    optimizer = optim.SGD([{"params": [frozen], "lr": 0.0}, {"params": [trained]}], lr=0.25)
    frozen.grad = minigrad.tensor([1.0, 2.0])
    trained.grad = minigrad.tensor([1.0, 2.0])
    optimizer.step()
    np.testing.assert_array_equal(frozen.data, [1.0, 1.0])
    np.testing.assert_array_equal(trained.data, [0.75, 0.5])
    assert optimizer.param_groups[0]["lr"] == 0.0 and optimizer.param_groups[1]["lr"] == 0.25


def test_parameters_without_grad_are_skipped():
    used, unused = Parameter(np.ones(2, np.float32)), Parameter(np.ones(2, np.float32))
    optimizer = optim.Adam([used, unused])
    used.grad = minigrad.tensor([1.0, 1.0])
    optimizer.step()
    np.testing.assert_array_equal(unused.data, [1.0, 1.0])
    assert unused not in optimizer.state and used in optimizer.state


def test_zero_grad():
    p = Parameter(np.ones(2, np.float32))
    optimizer = optim.SGD([p], lr=0.1)
    p.grad = minigrad.tensor([3.0, 4.0])
    grad = p.grad
    optimizer.zero_grad(set_to_none=False)
    assert p.grad is grad and np.array_equal(grad.data, [0.0, 0.0])
    optimizer.zero_grad()
    assert p.grad is None


@pytest.mark.parametrize("name, options", ALL, ids=[n for n, _ in ALL])
def test_state_dict_round_trip_continues_identically(name, options):
    def run(optimizer, params, steps):
        for _ in range(steps):
            optimizer.zero_grad()
            minigrad_loss(*params).backward()
            optimizer.step()

    params = [Parameter(START_W.astype(np.float32)), Parameter(START_B.astype(np.float32))]
    optimizer = getattr(optim, name)(params, **options)
    run(optimizer, params, 5)
    saved_params = [p.data.copy() for p in params]
    saved = optimizer.state_dict()
    assert sorted(saved["state"]) == [0, 1] and saved["param_groups"][0]["params"] == [0, 1]

    clones = [Parameter(a.copy()) for a in saved_params]
    clone_optimizer = getattr(optim, name)(clones, lr=123.0)
    clone_optimizer.load_state_dict(saved)
    assert clone_optimizer.param_groups[0]["lr"] == options["lr"]
    run(optimizer, params, 5)
    run(clone_optimizer, clones, 5)
    for p, clone in zip(params, clones):
        np.testing.assert_array_equal(p.data, clone.data)


def test_state_dict_is_a_snapshot():
    p = Parameter(np.ones(2, np.float32))
    optimizer = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = minigrad.tensor([1.0, 1.0])
    optimizer.step()
    saved = optimizer.state_dict()
    optimizer.step()
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], [1.0, 1.0])


def test_load_state_dict_rejects_a_different_layout():
    a, b = Parameter(np.ones(2, np.float32)), Parameter(np.ones(3, np.float32))
    saved = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="param group 0 has 2 parameters"):
        optim.SGD([a], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match=r"has 1 param group\(s\), this optimizer has 2"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(saved)


# -- bad input ------------------------------------------------------------------------------


def params():
    return [Parameter(np.ones(2, np.float32))]


@pytest.mark.parametrize("make, message", [
    (lambda: optim.SGD(params(), lr=-0.1), "learning rate -0.1"),
    (lambda: optim.Adam(params(), lr=-1), "learning rate -1"),
    (lambda: optim.SGD([{"params": params(), "lr": -0.5}], lr=0.1), "learning rate -0.5"),
    (lambda: optim.SGD(params(), lr=0.1, momentum=-0.9), "momentum -0.9"),
    (lambda: optim.SGD(params(), lr=0.1, nesterov=True), "nesterov"),
    (lambda: optim.RMSprop(params(), weight_decay=-1), "weight_decay -1"),
    (lambda: optim.Adam(params(), betas=(0.9, 1.0)), "betas"),
    (lambda: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda: optim.SGD([{"params": []}], lr=0.1), "empty 'params'"),
    (lambda: optim.SGD([{"params": params(), "momentun": 0.9}], lr=0.1), "momentun"),
])
def test_bad_hyperparameters_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_unknown_keyword_names_it():
    with pytest.raises(TypeError, match="momentun"):
        optim.SGD(params(), lr=0.1, momentun=0.9)


def test_bad_params_raise():
    p = Parameter(np.ones(2, np.float32))
    with pytest.raises(TypeError, match="single Parameter"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
