"""Lesson 03: BatchNorm by hand: forward, the staged backward, the compact form as a projection.

The lesson reads minigrad/ops/norm.py, where BatchNorm is written three ways (composed from
primitive ops, staged as in Ioffe & Szegedy's chain rule, fused into the compact closed
form), and checks everything it claims with numbers: the staged steps by hand against
minigrad, the compact form's two zero sums, the three implementations against each other
and against finite differences, Theorem 4.1 of Santurkar et al. (2018), and what happens
to eval mode when training batches are tiny. To derive the staged backward yourself first,
work through the exercise lessons/exercises/01_batch_norm_backward.ipynb.

Per channel, over the m values of a batch:
    μ = mean(x), σ² = mean((x − μ)²), s = √(σ² + ε), x̂ = (x − μ)/s, y = γx̂ + β.
"""
import copy
import time

import numpy as np

import lessons
import minigrad as mg
from minigrad import nn
from minigrad.data.toy import make_teacher_classification
from minigrad.gradcheck import GradcheckError
from minigrad.nn import functional as F
from minigrad.ops.norm import IMPLEMENTATIONS

from . import models, plotting
from .runs import Run, run_all

GALLERY = ("projection.png", "BatchNorm's backward is a projection: it removes from the upstream "
           "gradient everything a line in x̂ explains (Σdx = 0, Σdx·x̂ = 0).")


def as_tensor(array, requires_grad=False):
    """A tensor holding a copy of `array`, keeping its dtype (float64 stays float64)."""
    return mg.Tensor(np.array(array), requires_grad=requires_grad)


def batch_norm(x, gamma=None, beta=None, eps=1e-5, implementation="fused"):
    """Training-mode BN of an ndarray with batch statistics only (no running state touched)."""
    weight = None if gamma is None else as_tensor(gamma)
    bias = None if beta is None else as_tensor(beta)
    return F.batch_norm(as_tensor(x), None, None, weight, bias, training=True, eps=eps,
                        implementation=implementation)


# --------------------------------------------------------------------------- forward


def forward_picture(m=64, seed=0, gamma=(2.0, 0.5), beta=(1.0, -1.0)):
    """A batch of correlated 2-D points on very different scales, and what BN makes of it."""
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((m, 2)) @ np.array([[3.0, 0.6], [0.0, 0.3]]) + np.array([4.0, -2.0])
    x_hat = batch_norm(raw).data
    y = batch_norm(raw, gamma, beta).data
    return {"raw": raw, "x_hat": x_hat, "y": y, "gamma": np.array(gamma), "beta": np.array(beta)}


def moments(points):
    """Per-feature mean and (biased) standard deviation."""
    return points.mean(axis=0), points.std(axis=0)


# --------------------------------------------------------------------------- staged backward


def worked_example(seed=0, m=8):
    """One channel of m values (mean about 2, std about 3), an upstream gradient, and γ = 1.5."""
    rng = np.random.default_rng(seed)
    return rng.normal(2, 3, m), rng.standard_normal(m), 1.5


def staged_backward_by_hand(x, dy, gamma, eps=1e-5):
    """Ioffe & Szegedy's chain rule for one channel (x, dy of shape (m,)), one step per line.

    Returns every intermediate, named as in minigrad's `StagedBatchNorm.backward`.
    """
    m = len(x)
    mean = x.mean()
    var = ((x - mean) ** 2).mean()
    x_hat = (x - mean) / np.sqrt(var + eps)
    dx_hat = dy * gamma
    dvar = np.sum(dx_hat * (x - mean)) * -0.5 * (var + eps) ** -1.5
    dmean = -np.sum(dx_hat) / np.sqrt(var + eps) + dvar * np.sum(-2 * (x - mean)) / m
    dx = dx_hat / np.sqrt(var + eps) + dvar * 2 * (x - mean) / m + dmean / m
    return {"mean": mean, "var": var, "x_hat": x_hat, "dx_hat": dx_hat, "dvar": dvar,
            "dmean": dmean, "dx": dx, "dgamma": np.sum(dy * x_hat), "dbeta": np.sum(dy)}


def minigrad_gradients(x, dy, gamma, beta=0.0, eps=1e-5, implementation="staged"):
    """dx, dγ, dβ from minigrad's backward for an (m, C) batch and upstream dy."""
    x = as_tensor(x, requires_grad=True)
    weight = as_tensor(np.broadcast_to(gamma, x.shape[1:2]), requires_grad=True)
    bias = as_tensor(np.broadcast_to(beta, x.shape[1:2]), requires_grad=True)
    y = F.batch_norm(x, None, None, weight, bias, training=True, eps=eps,
                     implementation=implementation)
    y.backward(dy)
    return {"y": y.data, "dx": x.grad.data, "dgamma": weight.grad.data, "dbeta": bias.grad.data}


def compact_backward(x, dy, gamma, eps=1e-5):
    """dx = (1/s)(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) per channel (axis 0 is the batch)."""
    mean, var = x.mean(axis=0), x.var(axis=0)
    s = np.sqrt(var + eps)
    x_hat = (x - mean) / s
    dx_hat = dy * gamma
    return (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / s


def projection_picture(m=32, seed=0, gamma=1.0, eps=1e-5):
    """One channel: x̂, the upstream dx̂, the line a + b·x̂ fitted to it, and s·dx.

    The compact form says s·dx is the residual of regressing dx̂ on [1, x̂]: because
    mean(x̂) = 0 and mean(x̂²) ≈ 1, the least-squares coefficients are a = mean(dx̂) and
    b = mean(dx̂·x̂), exactly the two terms the formula subtracts.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(3.0, 2.0, size=(m, 1))
    # an upstream gradient with a visible trend in x̂ and an offset, plus noise
    x_hat = batch_norm(x, eps=eps).data[:, 0]
    dy = (0.8 + 1.2 * x_hat + 0.6 * rng.standard_normal(m)).reshape(m, 1)
    grads = minigrad_gradients(x, dy, gamma, eps=eps, implementation="fused")
    s = np.sqrt(x.var() + eps)
    dx_hat = gamma * dy[:, 0]
    return {"x_hat": x_hat, "dx_hat": dx_hat, "intercept": dx_hat.mean(),
            "slope": (dx_hat * x_hat).mean(), "scaled_dx": s * grads["dx"][:, 0],
            "sum_dx": float(grads["dx"].sum()), "sum_dx_x_hat": float((grads["dx"][:, 0] * x_hat).sum())}


# --------------------------------------------------------------------------- three implementations


def implementations_agree(shape=(32, 8), dtype=np.float64, seed=0):
    """Largest |difference| from the fused implementation, for y, dx, dγ, dβ."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    channels = shape[1]
    gamma, beta = rng.uniform(0.5, 2, channels).astype(dtype), rng.standard_normal(channels).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    results = {name: minigrad_gradients(x, dy, gamma, beta, implementation=name)
               for name in IMPLEMENTATIONS}
    return {name: {key: float(np.abs(value - results["fused"][key]).max())
                   for key, value in result.items()}
            for name, result in results.items() if name != "fused"}


def time_implementations(shape=(128, 256), repeats=20, seed=0):
    """Median seconds of one forward + backward per implementation (float32)."""
    rng = np.random.default_rng(seed)
    x = as_tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    weight = as_tensor(np.ones(shape[1], np.float32), requires_grad=True)
    bias = as_tensor(np.zeros(shape[1], np.float32), requires_grad=True)
    dy = rng.standard_normal(shape).astype(np.float32)
    seconds = {}
    for name in IMPLEMENTATIONS:
        runs = []
        for _ in range(repeats + 1):  # the first run warms caches and is dropped
            started = time.perf_counter()
            F.batch_norm(x, None, None, weight, bias, training=True,
                         implementation=name).backward(dy)
            runs.append(time.perf_counter() - started)
        seconds[name] = float(np.median(runs[1:]))
    return seconds


def gradcheck_implementations(shapes=((6, 3), (4, 2, 3, 3)), seed=0):
    """minigrad.gradcheck (random upstream, float64) on x, γ and β for every implementation."""
    rng = np.random.default_rng(seed)
    passed = {}
    for name in IMPLEMENTATIONS:
        for shape in shapes:
            x = as_tensor(rng.standard_normal(shape) * 2 + 1, requires_grad=True)
            weight = as_tensor(rng.uniform(0.5, 2, shape[1]), requires_grad=True)
            bias = as_tensor(rng.standard_normal(shape[1]), requires_grad=True)
            passed[f"{name} {shape}"] = mg.gradcheck(
                lambda x, w, b, name=name: F.batch_norm(x, None, None, w, b, training=True,
                                                        implementation=name), [x, weight, bias])
    return passed


class ForgetfulBatchNorm(mg.Function):
    """BN without γ, β, with a wrong backward that forgets the variance path: dx = (dy − mean(dy))/s.

    Kept here (never in minigrad) to show which gradient check catches it.
    """

    def forward(ctx, x, eps=1e-5):
        ctx.inv_std = 1 / np.sqrt(x.var(axis=0) + eps)
        return (x - x.mean(axis=0)) * ctx.inv_std

    def backward(ctx, dy):
        return (dy - dy.mean(axis=0)) * ctx.inv_std


def finite_difference(fn, x, upstream, h=1e-6):
    """Numerical d⟨fn(x), upstream⟩/dx by central differences, one element at a time."""
    numeric = np.empty_like(x)
    for index in np.ndindex(x.shape):
        bumped = x.copy()
        bumped[index] += h
        plus = np.sum(fn(bumped) * upstream)
        bumped[index] -= 2 * h
        minus = np.sum(fn(bumped) * upstream)
        numeric[index] = (plus - minus) / (2 * h)
    return numeric


def blind_spot(shape=(8, 2), seed=0):
    """Worst |analytic − numeric| of the forgetful backward with a ones and a random upstream."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2 + 1
    errors = {}
    for name, upstream in (("ones", np.ones(shape)), ("random", rng.standard_normal(shape))):
        xt = as_tensor(x, requires_grad=True)
        ForgetfulBatchNorm.apply(xt).backward(upstream)
        numeric = finite_difference(lambda a: ForgetfulBatchNorm.apply(as_tensor(a)).data, x, upstream)
        errors[name] = float(np.abs(xt.grad.data - numeric).max())
    try:
        mg.gradcheck(ForgetfulBatchNorm.apply, [as_tensor(x, requires_grad=True)])
        errors["gradcheck"] = "passed"
    except GradcheckError as error:
        errors["gradcheck"] = str(error)
    return errors


# --------------------------------------------------------------------------- Theorem 4.1


def theorem_41(m=16, eps=0.0, gamma=1.5, seed=0):
    """Both sides of Santurkar et al.'s Theorem 4.1 for one channel, from minigrad's backward.

    In [S18] §4's letters: y = Wx is BN's input (here the batch `y`), ŷ its normalisation
    (x̂ elsewhere in this lesson), z = γŷ + β BN's output; L̂ is the loss with BN, L without.
    LHS = ‖∇_y L̂‖², the gradient after BN's backward; g = ∂L/∂z is the upstream gradient.
    RHS = (γ²/σ²)(‖g‖² − ⟨1, g⟩²/m − ⟨g, ŷ⟩²/m) with σ² + ε in place of σ², and a variant
    with 1/√m on the last term (false: the exact value exceeds it). `unit` = (γ²/σ²)‖g‖², the size of
    the gradient BN would pass on if it were a plain rescaling: the bound's natural unit.
    """
    rng = np.random.default_rng(seed)
    y = rng.normal(2.0, 3.0, size=(m, 1))
    g = rng.standard_normal((m, 1))
    lhs = float(np.sum(minigrad_gradients(y, g, gamma, eps=eps, implementation="fused")["dx"] ** 2))
    var = y.var() + eps
    y_hat = (y - y.mean()) / np.sqrt(var)
    common = np.sum(g ** 2) - np.sum(g) ** 2 / m
    along_y_hat = np.sum(g * y_hat) ** 2
    return {"lhs": lhs, "rhs": float(gamma ** 2 / var * (common - along_y_hat / m)),
            "rhs_sqrt_m": float(gamma ** 2 / var * (common - along_y_hat / np.sqrt(m))),
            "unit": float(gamma ** 2 / var * np.sum(g ** 2))}


def theorem_41_sweep(eps_values=(0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0), batch_sizes=(2, 4, 16, 64, 256),
                     trials=20, seed=0):
    """The bound's slack 1 − LHS/RHS per ε (m = 16), and both versions' sides per m at ε = 0."""
    by_eps = np.array([[1 - s["lhs"] / s["rhs"] for s in
                        (theorem_41(16, eps, seed=seed * 1000 + t) for t in range(trials))]
                       for eps in eps_values])
    by_m = {m: [theorem_41(m, 0.0, seed=seed * 1000 + t) for t in range(trials)] for m in batch_sizes}
    return {"eps": np.array(eps_values), "slack": by_eps, "by_m": by_m}


# --------------------------------------------------------------------------- train vs eval


def running_statistics_demo(batches=200, batch_size=64, seed=0):
    """Feed nn.BatchNorm1d batches from N(mean, std²) per feature; compare its running statistics."""
    mean, std = np.array([-2.0, 0.0, 5.0]), np.array([0.5, 1.0, 3.0])
    rng = np.random.default_rng(seed)
    layer = nn.BatchNorm1d(3)
    with mg.no_grad():
        for _ in range(batches):
            layer(mg.Tensor((rng.standard_normal((batch_size, 3)) * std + mean).astype(np.float32)))
    return {"true_mean": mean, "running_mean": layer.running_mean.data.copy(),
            "true_var": std ** 2, "running_var": layer.running_var.data.copy(), "layer": layer}


def batch_dependence(layer, seed=0, batch_size=4):
    """One sample normalised inside two different batches, in train mode and in eval mode."""
    rng = np.random.default_rng(seed)
    sample = rng.normal([-2.0, 0.0, 5.0], [0.5, 1.0, 3.0], size=(1, 3))
    outputs = {}
    for mode in ("train", "eval"):
        probe = copy.deepcopy(layer).train(mode == "train")
        with mg.no_grad():
            outputs[mode] = [probe(mg.Tensor(np.vstack([sample, rng.normal([-2.0, 0.0, 5.0], [0.5, 1.0, 3.0],
                                                                             size=(batch_size - 1, 3))])
                                             .astype(np.float32))).data[0] for _ in range(2)]
    return outputs


def teacher_task(seed, n_train=2000, n_test=1000):
    """The teacher task of lesson 08: 20-dim Gaussian inputs, 10 classes from a random tanh net."""
    X, y = make_teacher_classification(n=n_train + n_test, dim=20, num_classes=10, seed=seed)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def mean_loss_and_accuracy(model, X, y, batch_size):
    """Cross-entropy and accuracy over (X, y) in batches, without a graph, in the model's mode."""
    losses, correct = [], 0
    with mg.no_grad():
        for start in range(0, len(X) - batch_size + 1, batch_size):
            logits = model(mg.Tensor(X[start:start + batch_size]))
            target = y[start:start + batch_size]
            losses.append(F.cross_entropy(logits, target).item())
            correct += int((logits.data.argmax(1) == target).sum())
    return float(np.mean(losses)), correct / (len(losses) * batch_size)


NORMS = {"batch_norm": nn.BatchNorm1d, "layer_norm": nn.LayerNorm}


def train_then_compare_modes(batch_size, seed=0, steps=1500, lr=0.02, width=64, depth=3,
                             norm="batch_norm"):
    """Train an MLP with a norm layer (`NORMS`) after each linear one with `batch_size`, then
    score the training set two ways.

    "train mode": batch statistics of batches of the same size (what training saw);
    "eval mode": the running statistics (what deployment sees). A copy of the model does the
    train-mode scoring, so the running statistics are not touched by it.
    """
    X, y, X_test, y_test = teacher_task(seed)
    mg.manual_seed(seed)
    model = models.mlp(X.shape[1], 10, width=width, depth=depth, norm=NORMS[norm], init="he")
    history = models.train(model, X, y, steps, lr, batch_size=batch_size, seed=seed, momentum=0.9)
    as_trained = copy.deepcopy(model).train()
    order = np.random.default_rng(seed).permutation(len(X))
    train_loss, train_acc = mean_loss_and_accuracy(as_trained, X[order], y[order], batch_size)
    model.eval()
    eval_loss, eval_acc = mean_loss_and_accuracy(model, X, y, 500)
    _, test_acc = mean_loss_and_accuracy(model, X_test, y_test, 500)
    return {"batch_size": batch_size, "seed": seed, "train_mode_loss": train_loss,
            "eval_mode_loss": eval_loss, "train_mode_accuracy": train_acc,
            "eval_mode_accuracy": eval_acc, "test_accuracy": test_acc,
            "final_training_loss": float(np.nanmean(history["loss"][-50:])), "model": model,
            "data": (X, y)}


def normalised_unit(model, X, batch_size, unit=0):
    """Values of one unit right after the first BN layer: train mode (batches) and eval mode."""
    layer = next(m for m in model.modules() if isinstance(m, nn.BatchNorm1d))
    seen = []
    handle = layer.register_forward_hook(lambda module, inputs, output: seen.append(output.data[:, unit]))
    values = {}
    for mode in ("train", "eval"):
        probe = copy.deepcopy(model)
        probe.train(mode == "train")
        seen.clear()
        size = batch_size if mode == "train" else len(X)
        with mg.no_grad():
            for start in range(0, len(X) - size + 1, size):
                probe(mg.Tensor(X[start:start + size]))
        values[mode] = np.concatenate(seen)
    handle.remove()
    return values


def pitfall_run(batch_size, seed, steps, histogram=False):
    """One run of the small-batch experiment: train_then_compare_modes's numbers, and with
    `histogram` one BN unit's values in both modes over 512 training points."""
    result = train_then_compare_modes(batch_size, seed, steps)
    row = {k: v for k, v in result.items() if k not in ("model", "data")}
    if histogram:
        row["unit"] = normalised_unit(result["model"], result["data"][0][:512], batch_size)
    return row


def small_batch_pitfall(batch_sizes=(2, 4, 8, 16, 64), seeds=(0, 1, 2), steps=1500,
                        histogram_sizes=(2, 64)):
    """train_then_compare_modes for every batch size and seed (numbers only), and one BN unit's
    values in both modes for the `histogram_sizes` (first seed)."""
    results = run_all([Run(pitfall_run, batch_size=batch_size, seed=seed, steps=steps,
                           histogram=seed == seeds[0] and batch_size in histogram_sizes)
                       for batch_size in batch_sizes for seed in seeds], desc="small batches")
    units = {row["batch_size"]: row.pop("unit") for row in results if "unit" in row}
    return results, units


def batch_of_two_gain(var, eps=1e-5):
    """What BN's backward multiplies γ·(g₁ − g₂)/2 by at batch size 2: ε/(σ² + ε)^{3/2}.

    With two values x̂ = ±σ/s, so the compact form keeps the fraction 1 − σ²/s² = ε/s² of the
    (1, −1) component of dx̂ and divides by s. The gain exceeds 1 wherever σ² < ε^{2/3} − ε
    (4.5e-4 for ε = 1e-5) and reaches ε^{−1/2} (316) as σ² → 0; at ε = 0 it is exactly 0.
    """
    return eps / (np.asarray(var) + eps) ** 1.5


def first_layer_gradient(batch_size, eps=1e-5, seed=0, batches=50):
    """‖∂loss/∂W₁‖ of the BN MLP at initialisation over random batches (median and mean), and
    each BN layer's smallest batch variance σ² and largest gain ε/(σ² + ε)^{3/2} per batch.

    W₁ feeds the first BN layer, so its gradient is whatever the BN layers' backwards let
    through; at batch size 2 each unit multiplies what reaches it by `batch_of_two_gain`.
    """
    X, y, _, _ = teacher_task(seed)
    mg.manual_seed(seed)
    model = models.mlp(X.shape[1], 10, width=64, depth=3, init="he",
                       norm=lambda width: nn.BatchNorm1d(width, eps=eps))
    first = next(m for m in model.modules() if isinstance(m, nn.Linear))
    layers = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    variances = {id(layer): [] for layer in layers}
    handles = [layer.register_forward_hook(
        lambda module, inputs, output: variances[id(module)].append(inputs[0].data.var(axis=0)))
        for layer in layers]
    rng, norms = np.random.default_rng(seed), []
    for _ in range(batches):
        index = rng.choice(len(X), batch_size, replace=False)
        model.zero_grad()
        F.cross_entropy(model(mg.Tensor(X[index])), y[index]).backward()
        norms.append(np.linalg.norm(first.weight.grad.data))
    for handle in handles:
        handle.remove()
    smallest = np.array([np.min(variances[id(layer)], axis=1) for layer in layers])  # (layers, batches)
    return {"batch_size": batch_size, "eps": eps, "median": float(np.median(norms)),
            "mean": float(np.mean(norms)), "smallest_var": smallest,
            "largest_gain": batch_of_two_gain(smallest, eps) if batch_size == 2 else None}


# --------------------------------------------------------------------------- plots


def plot_forward(picture):
    """Three panels: the raw batch, x̂ (mean 0, std 1 per feature), y = γx̂ + β."""
    fig, axes = plotting.figure(3, width=3.7, height=3.6)
    gamma, beta = (", ".join(f"{v:g}" for v in picture[k]) for k in ("gamma", "beta"))
    panels = [("raw batch x", picture["raw"]), ("normalised x̂ = (x − μ)/s", picture["x_hat"]),
              (f"y = γx̂ + β, γ = ({gamma}), β = ({beta})", picture["y"])]
    for ax, (title, points) in zip(axes, panels):
        mean, std = moments(points)
        ax.scatter(points[:, 0], points[:, 1], s=10, color=plotting.COLORS["bn"], alpha=0.7)
        ax.axvline(0, color="0.3", lw=0.6)
        ax.axhline(0, color="0.3", lw=0.6)
        ax.set(title=title, xlabel="feature 1", ylabel="feature 2", aspect="equal")
        ax.text(0.02, 0.98, f"mean ({mean[0]:.2f}, {mean[1]:.2f})\nstd  ({std[0]:.2f}, {std[1]:.2f})",
                transform=ax.transAxes, va="top", fontsize=8, family="monospace")
    limit = np.abs(np.vstack([picture["raw"], picture["y"]])).max() * 1.1
    for ax in axes:
        ax.set(xlim=(-limit, limit), ylim=(-limit, limit))
    return fig


def plot_projection(picture):
    """Left: dx̂ against x̂ with its least-squares line. Right: what is left, s·dx."""
    fig, (left, right) = plotting.figure(2, width=4.4, height=3.6)
    x_hat, dx_hat = picture["x_hat"], picture["dx_hat"]
    line = picture["intercept"] + picture["slope"] * x_hat
    order = np.argsort(x_hat)
    left.vlines(x_hat, line, dx_hat, color="0.6", lw=0.8)
    left.scatter(x_hat, dx_hat, s=14, color=plotting.COLORS["standard"], zorder=3, label="dx̂ = γ·dy")
    left.plot(x_hat[order], line[order], color=plotting.COLORS["bn"], lw=1.6,
              label=f"mean(dx̂) + mean(dx̂·x̂)·x̂\n= {picture['intercept']:.2f} + {picture['slope']:.2f}·x̂")
    left.set(xlabel="x̂", ylabel="upstream gradient dx̂", title="what a line in x̂ explains ...")
    left.legend(fontsize=8, loc="upper left")
    right.axhline(0, color=plotting.COLORS["bn"], lw=1.6)
    right.vlines(x_hat, 0, picture["scaled_dx"], color="0.6", lw=0.8)
    right.scatter(x_hat, picture["scaled_dx"], s=14, color=plotting.COLORS["standard"], zorder=3)
    right.set(xlabel="x̂", ylabel="s · dx  (the residuals)",
              title="... BN's backward removes", ylim=left.get_ylim())
    right.text(0.02, 0.98, f"Σ dx = {picture['sum_dx']:.1e}\nΣ dx·x̂ = {picture['sum_dx_x_hat']:.1e}",
               transform=right.transAxes, va="top", fontsize=8, family="monospace")
    return fig


def plot_speeds(timings):
    """Forward + backward time per implementation, one group of bars per input shape."""
    fig, (ax,) = plotting.figure(1, width=5.5, height=3.5)
    names = list(IMPLEMENTATIONS)
    width = 0.8 / len(timings)
    for k, (shape, seconds) in enumerate(timings.items()):
        ax.bar(np.arange(len(names)) + k * width, [1e3 * seconds[n] for n in names], width,
               label=f"input {shape}")
    ax.set_xticks(np.arange(len(names)) + width * (len(timings) - 1) / 2, names)
    ax.set(ylabel="forward + backward (ms)", yscale="log",
           title="three BatchNorms, one answer: how long each takes")
    ax.legend(fontsize=8)
    return fig


def plot_theorem_41(sweep):
    """Left: the correct bound's slack against ε. Right: both versions' RHS against LHS at ε = 0."""
    fig, (left, right) = plotting.figure(2, width=4.6, height=3.8)
    eps, slack = sweep["eps"], sweep["slack"]
    positive = eps > 0
    for trial in slack.T:
        left.loglog(eps[positive], trial[positive], color=plotting.COLORS["bn"], alpha=0.35, lw=0.8)
    at_zero = np.abs(slack[~positive]).max() if (~positive).any() else np.nan
    left.set(xlabel="ε  (σ² ≈ 9 here)", ylabel="slack 1 − LHS/RHS",
             title=f"the 1/m bound: strict for ε > 0\n(at ε = 0 the slack is ≤ {at_zero:.0e})")
    colors = plotting.plt.cm.viridis(np.linspace(0, 0.85, len(sweep["by_m"])))
    for color, (m, sides) in zip(colors, sweep["by_m"].items()):
        lhs = np.array([s["lhs"] / s["unit"] for s in sides])
        right.scatter(lhs, [s["rhs"] / s["unit"] for s in sides], s=14, color=color, marker="o",
                      label=f"m = {m}")
        right.scatter(lhs, [s["rhs_sqrt_m"] / s["unit"] for s in sides], s=16, color=color,
                      marker="x")
    right.axline((0, 0), slope=1, color="k", lw=1)
    right.set(xlabel="LHS / unit", ylabel="RHS / unit",
              title="ε = 0:  ○ 1/m on the diagonal (equality)\n× 1/√m below it (bound violated)")
    right.legend(fontsize=7, loc="upper left")
    return fig


def plot_small_batch_pitfall(rows, units):
    """Left: training-set accuracy in train mode and eval mode against batch size (one line
    per seed). Right: one BN unit's output in both modes, for a tiny and a normal batch."""
    fig, axes = plotting.figure(1 + len(units), width=4.2, height=3.6)
    left = axes[0]
    sizes = sorted({r["batch_size"] for r in rows})
    seeds = sorted({r["seed"] for r in rows})
    modes = (("train_mode_accuracy", plotting.COLORS["bn"], "train mode (batch statistics)"),
             ("eval_mode_accuracy", plotting.COLORS["standard"], "eval mode (running statistics)"))
    for key, color, label in modes:
        for k, seed in enumerate(seeds):
            mine = sorted((r for r in rows if r["seed"] == seed), key=lambda r: r["batch_size"])
            left.plot([r["batch_size"] for r in mine], [r[key] for r in mine], "o-", color=color,
                      ms=4, lw=1, alpha=0.8, label=label if k == 0 else None)
    left.axhline(0.1, color="0.5", lw=0.6, ls="--")
    left.set(xscale="log", xlabel="training batch size", ylabel="accuracy on the training set",
             ylim=(0, 1.02), title="same weights, two modes")
    left.set_xticks(sizes, [str(s) for s in sizes])
    left.minorticks_off()
    left.legend(fontsize=8, loc="lower right")
    for ax, (size, values) in zip(axes[1:], units.items()):
        both = np.concatenate([values["train"], values["eval"]])
        low, high = np.percentile(both, [0.5, 99.5])
        bins = np.linspace(low, high, 71)
        for mode, key in (("train", "bn"), ("eval", "standard")):
            ax.hist(np.clip(values[mode], low, high), bins=bins, density=True, alpha=0.6,
                    color=plotting.COLORS[key], label=f"{mode} mode")
        ax.set(xlabel="first BN layer, unit 0: γx̂ + β", ylabel="density",
               title=f"trained with batch {size}")
        ax.legend(fontsize=8)
    return fig


# --------------------------------------------------------------------------- the lesson

SPEED_SHAPES = ((128, 256), (64, 32, 16, 16))


def run(out_dir, quick=False, seed=0):
    """Every check and figure of the lesson; returns the numbers it claims."""
    quick = lessons.is_quick(quick)
    plotting.save(plot_forward(forward_picture(seed=seed)), out_dir, "forward.png")

    x, dy, gamma = worked_example(seed)
    by_hand = staged_backward_by_hand(x, dy, gamma)
    ours = minigrad_gradients(x[:, None], dy[:, None], gamma, implementation="staged")
    projection = projection_picture(seed=seed, eps=0.0)
    plotting.save(plot_projection(projection), out_dir, "projection.png")

    timings = {shape: time_implementations(shape, repeats=5 if quick else 20, seed=seed)
               for shape in SPEED_SHAPES}
    plotting.save(plot_speeds(timings), out_dir, "speeds.png")

    sweep = theorem_41_sweep(trials=8 if quick else 20, seed=seed)
    plotting.save(plot_theorem_41(sweep), out_dir, "theorem_41.png")

    sizes = (2, 8, 64) if quick else (2, 4, 8, 16, 64)
    seeds = (seed, seed + 1) if quick else (seed, seed + 1, seed + 2)
    rows, units = small_batch_pitfall(sizes, seeds, steps=400 if quick else 1500)
    plotting.save(plot_small_batch_pitfall(rows, units), out_dir, "small_batch.png")
    return {
        "staged_by_hand_vs_minigrad": float(np.abs(by_hand["dx"] - ours["dx"][:, 0]).max()),
        "projection_sums_at_eps_0": {"sum_dx": projection["sum_dx"],
                                     "sum_dx_x_hat": projection["sum_dx_x_hat"]},
        "largest_difference_from_fused": {
            "float64": implementations_agree(seed=seed),
            "float32": implementations_agree(dtype=np.float32, seed=seed)},
        "time_forward_backward_s": {str(shape): t for shape, t in timings.items()},
        "gradcheck": gradcheck_implementations(seed=seed),
        "forgetful_backward_errors": blind_spot(seed=seed),
        "theorem_41": {"max_abs_slack_at_eps_0": float(np.abs(sweep["slack"][0]).max()),
                       "min_slack_for_eps_above_0": float(sweep["slack"][1:].min()),
                       "sqrt_m_version_violated": sum(s["lhs"] > s["rhs_sqrt_m"]
                                                      for sides in sweep["by_m"].values()
                                                      for s in sides),
                       "sqrt_m_version_trials": sum(len(v) for v in sweep["by_m"].values())},
        "first_layer_gradient": [{k: v for k, v in first_layer_gradient(b, eps).items()
                                  if k in ("batch_size", "eps", "median", "mean")}
                                 for b in (2, 64) for eps in (1e-5, 0.0)],
        "batch_of_two_smallest_var_per_layer": first_layer_gradient(2)["smallest_var"].min(axis=1),
        "small_batch": rows,
    }
