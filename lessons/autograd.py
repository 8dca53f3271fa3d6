"""Lesson 01: autograd, by hand and by minigrad.

A two-layer network on one input, small enough to differentiate on paper: the graph minigrad
records, the chain rule written out in NumPy, the same gradients from `backward()` and from
finite differences side by side. Then the two bookkeeping rules every engine needs
(gradients add up where a value is used twice; broadcasting's gradient is a sum), a new op
written as a `Function` (softplus), and the same machinery training an MLP on 2-D toy sets.
"""
import numpy as np

import lessons
import minigrad as mg
from minigrad import nn
from minigrad.data import make_teacher_classification
from minigrad.data.toy import make_moons, make_spirals

from . import models, plotting
from .runs import Run, run_all

GALLERY = ("decision_boundaries.png", "A minigrad MLP (2 × 64 ReLU) trained with SGD separates "
           "moons and spirals; decision regions per seed.")

# --------------------------------------------------------------------------- the tiny network


def tiny_network(seed=0):
    """x ∈ R², W1: 3×2, b1: 3, W2: 1×3, b2: 1 and a target t; float64 so we can compare to 1e-10."""
    rng = np.random.default_rng(seed)
    params = {"W1": rng.standard_normal((3, 2)), "b1": rng.standard_normal(3) * 0.1,
              "W2": rng.standard_normal((1, 3)), "b2": rng.standard_normal(1) * 0.1}
    return params, np.array([0.5, -1.5]), np.array([1.0])


def forward(params, x, t):
    """a = W1·x + b1, h = tanh(a), ŷ = W2·h + b2, loss = ½(ŷ − t)², all as tensors.

    Values may be arrays or tensors; returns every intermediate tensor by name.
    """
    p = {k: v if isinstance(v, mg.Tensor) else mg.Tensor(v) for k, v in params.items()}
    x, t = (v if isinstance(v, mg.Tensor) else mg.Tensor(v) for v in (x, t))
    a = p["W1"] @ x + p["b1"]
    h = a.tanh()
    y_hat = p["W2"] @ h + p["b2"]
    loss = 0.5 * ((y_hat - t) ** 2).sum()
    return {"a": a, "h": h, "y_hat": y_hat, "loss": loss}


def named_graph(seed=0):
    """The tiny network's loss with its parameters requiring grad, and a label for each tensor."""
    params, x, t = tiny_network(seed)
    names = {k: mg.Tensor(v, requires_grad=True) for k, v in params.items()}
    names.update(x=mg.Tensor(x), t=mg.Tensor(t))
    values = forward(names, names["x"], names["t"])
    names.update({"a": values["a"], "h": values["h"], "ŷ": values["y_hat"], "loss": values["loss"]})
    return values["loss"], names


def gradients_on_paper(params, x, t):
    """The chain rule written out, from the loss back to every parameter (plain NumPy).

    dL/dŷ = ŷ − t;  dL/dW2 = (ŷ − t) hᵀ;  dL/db2 = ŷ − t;  dL/dh = W2ᵀ(ŷ − t);
    dL/da = dL/dh ⊙ (1 − h²)  (tanh' = 1 − tanh²);  dL/dW1 = dL/da xᵀ;  dL/db1 = dL/da.
    """
    a = params["W1"] @ x + params["b1"]
    h = np.tanh(a)
    y_hat = params["W2"] @ h + params["b2"]
    d_y_hat = y_hat - t
    d_h = params["W2"].T @ d_y_hat
    d_a = d_h * (1 - h ** 2)
    return {"W1": np.outer(d_a, x), "b1": d_a, "W2": np.outer(d_y_hat, h), "b2": d_y_hat}


def gradients_from_backward(params, x, t):
    """The same gradients as minigrad computes them: leaves that require grad, then backward()."""
    leaves = {k: mg.Tensor(v, requires_grad=True) for k, v in params.items()}
    forward(leaves, x, t)["loss"].backward()
    return {k: leaf.grad.data for k, leaf in leaves.items()}


def gradients_numeric(params, x, t, h=1e-6):
    """Central differences (L(p + h) − L(p − h))/2h, one parameter entry at a time."""
    def loss_at(changed):
        with mg.no_grad():
            return forward(changed, x, t)["loss"].item()

    grads = {}
    for name, value in params.items():
        grads[name] = np.empty_like(value)
        for index in np.ndindex(value.shape):
            plus, minus = value.copy(), value.copy()
            plus[index] += h
            minus[index] -= h
            difference = loss_at({**params, name: plus}) - loss_at({**params, name: minus})
            grads[name][index] = difference / (2 * h)
    return grads


def gradient_table(params, x, t):
    """One row per parameter entry: paper, backward(), finite differences."""
    paper = gradients_on_paper(params, x, t)
    autograd = gradients_from_backward(params, x, t)
    numeric = gradients_numeric(params, x, t)
    rows = []
    for name in params:
        for index in np.ndindex(params[name].shape):
            rows.append({"parameter": f"{name}{list(index)}", "paper": paper[name][index],
                         "backward": autograd[name][index], "numeric": numeric[name][index]})
    return rows


# --------------------------------------------------------------------------- when a gradient goes wrong


def diverging_run(lr=2.0, steps=20, seed=0, check_forward=False):
    """Lesson 04's ReLU MLP (6 × 64, He init, teacher task, batch 128) at a step size far past
    its edge, trained under anomaly mode until it stops it: (losses so far, anomaly's message)."""
    X, y = make_teacher_classification(2000, seed=seed)
    mg.manual_seed(seed)
    model = models.mlp(X.shape[1], 10, width=64, depth=6)
    optimizer = mg.optim.SGD(model.parameters(), lr=lr)
    rng, losses = np.random.default_rng(seed), []
    with mg.autograd.detect_anomaly(check_forward), np.errstate(over="ignore", invalid="ignore"):
        try:
            for _ in range(steps):
                batch = rng.integers(0, len(X), 128)
                loss = nn.functional.cross_entropy(model(mg.Tensor(X[batch])), y[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
        except RuntimeError as error:
            return losses, str(error)
    return losses, None


# --------------------------------------------------------------------------- bookkeeping rules


def accumulation_examples():
    """Where a value is used twice its gradients add; calling backward twice adds again."""
    a = mg.tensor(3.0, requires_grad=True)
    (a * a + a).backward()                     # d/da (a² + a) = 2a + 1 = 7
    used_twice = a.grad.item()
    a.grad = None
    b = a * 2                                  # a diamond: b feeds both factors of c
    (b * b).backward()                         # d/da (2a)² = 8a = 24
    diamond = a.grad.item()
    a.grad = None
    loss = a * a
    loss.backward(retain_graph=True)
    once = a.grad.item()                       # 2a = 6
    loss.backward()
    twice = a.grad.item()                      # 6 + 6: .grad accumulates until you reset it
    return {"used_twice": used_twice, "diamond": diamond, "backward_once": once,
            "backward_twice": twice}


def broadcasting_example(seed=0):
    """y = x + bias with x (4, 3), bias (3,): bias.grad is the upstream gradient summed over rows."""
    rng = np.random.default_rng(seed)
    x = mg.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    bias = mg.Tensor(rng.standard_normal(3), requires_grad=True)
    upstream = rng.standard_normal((4, 3))
    (x + bias).backward(upstream)
    return {"upstream": upstream, "bias_grad": bias.grad.data, "x_grad": x.grad.data}


# --------------------------------------------------------------------------- a new op


class Softplus(mg.Function):
    """z = log(1 + eˣ)  ->  dz/dx = eˣ/(1 + eˣ) = sigmoid(x).

    forward computes log(e⁰ + eˣ) with logaddexp, which never overflows; backward uses
    sigmoid(x) = ½(1 + tanh(x/2)), which never overflows either. Both keep the dtype.
    """

    def forward(ctx, x):
        ctx.save(x)
        return np.logaddexp(0, x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * (0.5 * (1 + np.tanh(x / 2)))


def softplus(x):
    """softplus(x) = log(1 + eˣ), a smooth ReLU, for a floating-point tensor."""
    if not isinstance(x, mg.Tensor) or not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"softplus: expected a floating-point Tensor, got "
                         f"{type(x).__name__} {getattr(x, 'dtype', '')}".rstrip())
    return Softplus.apply(x)


class SoftplusLayer(nn.Module):
    """The op as a layer, so it can sit in `nn.Sequential` like `nn.ReLU`."""

    def forward(self, x):
        return softplus(x)


# --------------------------------------------------------------------------- training an MLP

DATASETS = {"moons": lambda seed: make_moons(n=400, noise=0.15, seed=seed),
            "spirals": lambda seed: make_spirals(n=450, num_classes=3, turns=1.0, noise=0.05, seed=seed)}


def train_toy(dataset, seed=0, steps=2000, lr=0.1, width=64, depth=2, batch_size=64):
    """A 2 × 64 ReLU MLP (He init) trained by SGD with momentum 0.9 on a 2-D toy set.

    Returns the data, the per-step loss, the training accuracy and the trained net's decision
    regions (arrays only, so the result can come back from another process).
    """
    X, y = DATASETS[dataset](seed)
    mg.manual_seed(seed)
    model = models.mlp(2, int(y.max()) + 1, width=width, depth=depth, init="he")
    history = models.train(model, X, y, steps, lr, batch_size=batch_size, seed=seed, momentum=0.9)
    return {"seed": seed, "X": X, "y": y, "loss": history["loss"],
            "accuracy": models.accuracy(model, X, y), "regions": decision_regions(model, X)}


def toy_runs(quick=False, seed=0):
    """train_toy on every dataset for three seeds: 2000 steps (quick: 600)."""
    steps = 600 if quick else 2000
    seeds = (seed, seed + 1, seed + 2)
    results = run_all([Run(train_toy, dataset=name, seed=s, steps=steps)
                       for name in DATASETS for s in seeds], desc="toy sets")
    return {name: results[k * len(seeds):(k + 1) * len(seeds)] for k, name in enumerate(DATASETS)}


def decision_regions(model, X, resolution=200):
    """The predicted class on a grid covering X (for a filled contour plot)."""
    low, high = X.min(axis=0) - 0.3, X.max(axis=0) + 0.3
    g1, g2 = np.meshgrid(np.linspace(low[0], high[0], resolution),
                         np.linspace(low[1], high[1], resolution))
    grid = np.stack([g1.ravel(), g2.ravel()], axis=1).astype(np.float32)
    model.eval()
    with mg.no_grad():
        classes = model(mg.Tensor(grid)).data.argmax(axis=1)
    return g1, g2, classes.reshape(g1.shape)


def plot_decision_boundaries(runs):
    """One panel per (dataset, seed): decision regions, training points, accuracy."""
    datasets = list(runs)
    seeds = len(runs[datasets[0]])
    fig, axes = plotting.figure(seeds, len(datasets), width=2.8, height=2.6)
    cmap = plotting.plt.get_cmap("Pastel1")
    for row, name in enumerate(datasets):
        for col, run in enumerate(runs[name]):
            ax = axes[row * seeds + col]
            g1, g2, classes = run["regions"]
            ax.imshow(classes, origin="lower", extent=(g1.min(), g1.max(), g2.min(), g2.max()),
                      cmap=cmap, vmin=0, vmax=8, interpolation="nearest")
            ax.scatter(run["X"][:, 0], run["X"][:, 1], c=run["y"], cmap="Set1", vmin=0, vmax=8,
                       s=6, edgecolors="none")
            ax.set(title=f"{name}, seed {run['seed']}: accuracy {run['accuracy']:.2f}",
                   xticks=[], yticks=[], aspect="equal")
    return fig


def plot_losses(runs, window=25):
    """Training loss per step (moving average over `window` steps), median and range over seeds."""
    fig, axes = plotting.figure(len(runs), width=4.2, height=3.2)
    kernel = np.ones(window) / window
    for ax, (name, seed_runs) in zip(axes, runs.items()):
        smooth = np.array([np.convolve(r["loss"], kernel, mode="valid") for r in seed_runs])
        plotting.band(ax, np.arange(smooth.shape[1]) + window, smooth, key="standard",
                      label=f"{len(seed_runs)} seeds: median, min–max")
        ax.set(title=name, xlabel="SGD step", ylabel=f"training loss ({window}-step average)",
               yscale="log")
        ax.legend(fontsize=8)
    return fig


# --------------------------------------------------------------------------- the lesson


def run(out_dir, quick=False, seed=0):
    """The lesson's checks and figures; returns the numbers it claims."""
    quick = lessons.is_quick(quick)
    loss, names = named_graph(seed)
    plotting.save(mg.viz.draw_graph(loss, names), out_dir, "graph.png")
    rows = gradient_table(*tiny_network(seed))
    worst = {f"{a}_vs_{b}": max(abs(r[a] - r[b]) for r in rows)
             for a, b in (("paper", "backward"), ("paper", "numeric"))}
    runs = toy_runs(quick, seed)
    plotting.save(plot_decision_boundaries(runs), out_dir, "decision_boundaries.png", palette=64)
    plotting.save(plot_losses(runs), out_dir, "losses.png")
    return {"largest_gradient_difference": worst, "accumulation": accumulation_examples(),
            "training": {name: [{"seed": r["seed"], "accuracy": r["accuracy"],
                                 "final_loss": float(np.mean(r["loss"][-50:]))} for r in rs]
                         for name, rs in runs.items()}}
