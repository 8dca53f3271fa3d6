"""Lesson 07: beyond BatchNorm: other norms, LayerNorm, batch size, and Theorem 4.1 in training.

1. Santurkar et al. 2018 §3.2: replace BN's standard deviation by an ℓ1, ℓ2 or ℓ∞ norm
   (`nn.LpBatchNorm1d`, minigrad/ops/lp_norm.py). The activations lose BN's fixed moments and
   (ℓ∞) move around more, yet every variant trains better than no normalisation, and ℓ1 and
   ℓ2 about as well as BN (ℓ∞ clearly less well). LayerNorm (statistics per sample instead of
   per batch) joins the race.
2. Batch size: BN's statistics come from the batch, so at batch 2 training sees very noisy
   normalisation (and BN barely learns), and evaluation, with running statistics, runs a
   different network from training: at batch 8 the two modes' accuracies differ.
3. Theorem 4.1 measured during training: ‖∇_y L̂‖² against (γ²/σ²)(‖g‖² − ⟨1,g⟩²/m − ⟨g,ŷ⟩²/m)
   for every BN layer (it holds, yet here predicts almost no reduction), and Observation 4.3:
   BN can represent the un-normalised net exactly, at γ = σ.

Every net is a ReLU MLP with He init on the 10-class teacher task, trained with plain SGD.
Each network's training (and what is measured on it) is one `Run` (`train_and_watch`,
`batch_size_run`, `theorem_41_run`, `observation_43_run`: each builds its data and seeds
everything from its arguments), executed by `run_all` (lessons/runs.py: parallel, cached).
"""
import math
from functools import partial

import numpy as np

import lessons
import minigrad as mg
from minigrad import nn
from minigrad.analysis import ActivationRecorder, drift

from . import models, plotting
from .loss_landscape import teacher_task
from .runs import Run, run_all

GALLERY = ("norms_training.png", "ℓ1, ℓ2 and ℓ∞ BatchNorm (Santurkar et al. §3.2), BatchNorm and "
           "LayerNorm against no normalisation: depth-8 ReLU MLP, training loss, bands over seeds.")
METHODS = {"standard": None, "bn": nn.BatchNorm1d, "l1": partial(nn.LpBatchNorm1d, p=1),
           "l2": partial(nn.LpBatchNorm1d, p=2), "linf": partial(nn.LpBatchNorm1d, p=math.inf),
           "layer_norm": nn.LayerNorm}
PERCENTILES = (15, 50, 85)
loss_fn = nn.functional.cross_entropy


def make_net(method, seed, depth=8, width=64):
    """The ReLU MLP (He init) with `method`'s normalisation after every hidden Linear."""
    mg.manual_seed(seed)
    return models.mlp(20, 10, width, depth, norm=METHODS[method], init="he")


def final_loss(losses):
    """Mean training loss over the last tenth of the steps (one minibatch loss is noisy)."""
    return float(np.mean(losses[-max(1, len(losses) // 10):]))


# --------------------------------------------------------------------------- 1. ℓp norms


def watched_layer(net, hidden_layer):
    """What one hidden layer feeds its ReLU: the norm layer's output, or the Linear's output
    when there is no normalisation."""
    activations = [i for i, m in enumerate(net) if isinstance(m, nn.ReLU)]
    return net[activations[hidden_layer] - 1]


def train_and_watch(*, method, seed, steps, lr, hidden_layer=4, unit=0, depth=8):
    """Train one net; record the 15/50/85th percentiles of one unit's pre-activation at every
    training step, and that unit's values on 1,000 training samples at the end (train mode)."""
    data, test = teacher_task()
    net = make_net(method, seed, depth)
    layer = watched_layer(net, hidden_layer)
    recorder = ActivationRecorder({"unit": layer}, unit=unit, percentiles=PERCENTILES,
                                  training_only=True)
    with recorder:
        history = models.train(net, *data, steps, lr, 128, seed, X_test=test[0], y_test=test[1],
                               eval_every=steps)
    captured = []
    handle = layer.register_forward_hook(
        lambda module, inputs, out: captured.append(out.data[:, unit].copy()))
    state = net.state_dict()
    with mg.no_grad():
        net(mg.Tensor(data[0][:1000]))
    net.load_state_dict(state)  # that forward updated BN's running statistics: undo it
    handle.remove()
    _, train_accuracy, test_accuracy = history["evals"][-1]
    return {"loss": history["loss"], "percentiles": recorder.percentiles("unit"),
            "final_values": captured[0], "train_accuracy": float(train_accuracy),
            "test_accuracy": float(test_accuracy)}


def norm_comparison(seeds, steps, lr, methods=tuple(METHODS), depth=8):
    """{method: [train_and_watch per seed]} on the teacher task."""
    results = iter(run_all([Run(train_and_watch, method=method, seed=seed, steps=steps, lr=lr,
                                depth=depth) for method in methods for seed in seeds],
                           desc="norms"))
    return {method: [next(results) for _ in seeds] for method in methods}


def excess_kurtosis(values):
    """E[(x − μ)⁴]/σ⁴ − 3: 0 for a Gaussian, larger for heavy tails or a spike plus outliers."""
    centred = values - values.mean()
    return float(np.mean(centred ** 4) / np.mean(centred ** 2) ** 2 - 3)


def norm_summary(study, seeds, every=10):
    """Per seed: final loss, accuracy, drift of the watched unit and its excess kurtosis; then
    on how many seeds each method beats no normalisation and its loss relative to BN."""
    per_seed = []
    for k, seed in enumerate(seeds):
        row = {"seed": seed}
        for method, runs in study.items():
            run = runs[k]
            row[method] = {"final_loss": final_loss(run["loss"]),
                           "train_accuracy": run["train_accuracy"],
                           "test_accuracy": run["test_accuracy"],
                           "drift": drift(run["percentiles"][::every]),
                           "excess_kurtosis": excess_kurtosis(run["final_values"])}
        per_seed.append(row)
    methods = [m for m in study if m != "standard"]
    beats = {m: sum(r[m]["final_loss"] < r["standard"]["final_loss"] for r in per_seed)
             for m in methods}
    relative = {m: [r[m]["final_loss"] / r["bn"]["final_loss"] for r in per_seed]
                for m in methods if "bn" in study}
    return {"per_seed": per_seed, "beats_standard_on_seeds": beats,
            "final_loss_relative_to_bn": relative, "seeds": len(seeds)}


# --------------------------------------------------------------------------- 2. batch size


def accuracy_in_train_mode(net, X, y, batch_size):
    """Accuracy when BN normalises each batch of `batch_size` with its own statistics (as in
    training); the running statistics those forwards update are restored afterwards."""
    state = net.state_dict()
    net.train()
    correct = 0
    usable = len(X) // batch_size * batch_size
    with mg.no_grad():
        for start in range(0, usable, batch_size):
            logits = net(mg.Tensor(X[start:start + batch_size]))
            correct += int((logits.data.argmax(1) == y[start:start + batch_size]).sum())
    net.load_state_dict(state)
    return correct / usable


def batch_size_run(*, method, batch_size, seed, steps, lr, depth=6):
    """Train at one batch size; accuracy on the training set in train mode (batch statistics)
    and eval mode (running statistics), and test accuracy in eval mode."""
    data, test = teacher_task()
    net = make_net(method, seed, depth)
    history = models.train(net, *data, steps, lr, batch_size, seed)
    return {"loss": history["loss"],
            "train_mode_accuracy": accuracy_in_train_mode(net, *data, batch_size),
            "eval_mode_accuracy": models.accuracy(net, *data),
            "test_accuracy": models.accuracy(net, *test)}


def batch_size_study(batch_sizes, seeds, steps, lr, methods=("bn", "layer_norm", "standard")):
    """{method: {batch size: [batch_size_run per seed]}}: same number of steps for every size."""
    results = iter(run_all([Run(batch_size_run, method=method, batch_size=b, seed=seed,
                                steps=steps, lr=lr)
                            for method in methods for b in batch_sizes for seed in seeds],
                           desc="batch sizes"))
    return {method: {b: [next(results) for _ in seeds] for b in batch_sizes} for method in methods}


def batch_size_summary(study):
    keys = ("train_mode_accuracy", "eval_mode_accuracy", "test_accuracy")
    return {method: {str(b): {key: [run[key] for run in runs] for key in keys}
                     for b, runs in by_size.items()} for method, by_size in study.items()}


# --------------------------------------------------------------------------- 3. Theorem 4.1


def theorem_41_terms(net, batch):
    """For every BN layer of `net` on one batch (train mode): per feature, the measured
    ‖∇_y L̂‖², the bound (γ²/σ²)(‖g‖² − ⟨1,g⟩²/m − ⟨g,ŷ⟩²/m) with σ² the batch variance, and
    the share of ‖g‖² the projection removes, (⟨1,g⟩² + ⟨g,ŷ⟩²)/(m‖g‖²), and the factor γ²/σ².

    g is the gradient arriving at the BN output; ∇_y L̂ the one leaving it towards the Linear.
    """
    norms = [m for m in net if isinstance(m, nn.BatchNorm1d)]
    seen = {}

    def keep(module, inputs, output):
        inputs[0].retain_grad()
        output.retain_grad()
        seen[module] = (inputs[0], output)

    handles = [m.register_forward_hook(keep) for m in norms]
    state = net.state_dict()
    net.zero_grad()
    loss_fn(net(mg.Tensor(batch[0])), batch[1]).backward()
    for handle in handles:
        handle.remove()
    net.load_state_dict(state)  # undo the running-statistics update of this forward
    net.zero_grad()
    layers = []
    for module in norms:
        y, z = seen[module]
        y_data, g, grad_y = (a.astype(np.float64) for a in (y.data, z.grad.data, y.grad.data))
        m = len(y_data)
        var = y_data.var(axis=0)
        y_hat = (y_data - y_data.mean(axis=0)) / np.sqrt(var)
        gamma = module.weight.data.astype(np.float64)
        g_sq = (g * g).sum(axis=0)
        removed = (g.sum(axis=0) ** 2 + (g * y_hat).sum(axis=0) ** 2) / m
        layers.append({"measured": (grad_y ** 2).sum(axis=0),
                       "bound": gamma ** 2 / var * (g_sq - removed),
                       "removed_share": removed / g_sq, "gain": gamma ** 2 / var})
    return layers


def theorem_41_during_training(seed, steps, every, lr):
    """The BN MLP's Theorem-4.1 terms on a fixed probe batch every `every` steps: per layer,
    the median over features of measured/bound, of the removed share and of γ²/σ²."""
    return run_all([Run(theorem_41_run, seed=seed, steps=steps, every=every, lr=lr)],
                   desc="Theorem 4.1")[0]


def theorem_41_run(*, seed, steps, every, lr, probe_size=256, depth=6):
    """theorem_41_during_training's one run (a depth-6 BN MLP trained with SGD, batch 128)."""
    data = teacher_task()[0]
    net = make_net("bn", seed, depth)
    index = np.random.default_rng(30_000 + seed).choice(len(data[0]), probe_size, replace=False)
    probe = (data[0][index], data[1][index])
    record = {"step": [], "ratio": [], "removed_share": [], "max_ratio": [], "gain": []}

    def measure(step, net):
        if step % every == 0:
            terms = theorem_41_terms(net, probe)
            record["step"].append(step)
            record["ratio"].append([np.median(t["measured"] / t["bound"]) for t in terms])
            record["max_ratio"].append(max(np.max(t["measured"] / t["bound"]) for t in terms))
            record["removed_share"].append([np.median(t["removed_share"]) for t in terms])
            record["gain"].append([np.median(t["gain"]) for t in terms])

    measure(0, net)
    models.train(net, *data, steps, lr, 128, seed, on_step=lambda step, net: measure(step + 1, net))
    return {key: np.array(value) for key, value in record.items()}


def bn_equivalent(standard, X, eps=1e-5):
    """Observation 4.3: a BN net computing exactly what the un-normalised `standard` net does.

    Copy the Linear weights into a BN MLP of the same shape and set each BN's γ = √(σ² + ε),
    β = μ, the statistics of its input on X (and the running statistics likewise): then
    BN(y) = (y − μ)/√(σ² + ε)·γ + β = y. Returns the BN net.
    """
    linears = [m for m in standard if isinstance(m, nn.Linear)]
    depth, width = len(linears) - 1, linears[0].out_features
    bn_net = models.mlp(linears[0].in_features, linears[-1].out_features, width, depth,
                        norm=nn.BatchNorm1d, init="torch")
    bn_linears = [m for m in bn_net if isinstance(m, nn.Linear)]
    for mine, theirs in zip(bn_linears, linears):
        mine.weight.data[...] = theirs.weight.data
        mine.bias.data[...] = theirs.bias.data
    h = mg.Tensor(X)
    with mg.no_grad():
        for module in bn_net:
            if isinstance(module, nn.BatchNorm1d):
                mean, var = h.data.mean(axis=0), h.data.var(axis=0)
                module.weight.data[...] = np.sqrt(var + eps)
                module.bias.data[...] = mean
                module.running_mean.data[...] = mean
                module.running_var.data[...] = var
            h = module(h) if not isinstance(module, nn.BatchNorm1d) else h
    return bn_net


def observation_43(seed, steps, lr):
    """Train an un-normalised MLP, build its BN twin, compare logits on the training batch
    (train mode: batch statistics) and on test data (eval mode: running statistics)."""
    return run_all([Run(observation_43_run, seed=seed, steps=steps, lr=lr)],
                   desc="Observation 4.3")[0]


def observation_43_run(*, seed, steps, lr, n=1000):
    """observation_43's one run: the plain depth-6 MLP, its BN twin built on `n` samples."""
    (X, y), (X_test, _) = teacher_task()
    standard = make_net("standard", seed, depth=6)
    models.train(standard, X, y, steps, lr, 128, seed)
    twin = bn_equivalent(standard, X[:n])
    standard.eval()
    with mg.no_grad():
        reference_train = standard(mg.Tensor(X[:n])).data
        reference_test = standard(mg.Tensor(X_test)).data
        twin.train()
        state = twin.state_dict()
        twin_train = twin(mg.Tensor(X[:n])).data
        twin.load_state_dict(state)
        twin.eval()
        twin_test = twin(mg.Tensor(X_test)).data
    scale = np.abs(reference_train).max()
    return {"max_logit_difference_train_mode": float(np.abs(twin_train - reference_train).max()),
            "max_logit_difference_eval_mode": float(np.abs(twin_test - reference_test).max()),
            "logit_scale": float(scale)}


# --------------------------------------------------------------------------- plots


def plot_norm_training(study):
    """Training loss per method (bands over seeds), and the final loss per seed."""
    fig, (ax, finals) = plotting.figure(2, width=5.0, height=3.8)
    for method, runs in study.items():
        losses = np.array([r["loss"] for r in runs])
        plotting.band(ax, np.arange(1, losses.shape[1] + 1), losses, method)
    ax.set(xlabel="training step", ylabel="training loss (minibatch)", title="training loss",
           yscale="log")
    ax.legend(fontsize=8)
    for i, (method, runs) in enumerate(study.items()):
        values = [final_loss(r["loss"]) for r in runs]
        finals.plot(np.full(len(values), i) + np.linspace(-0.15, 0.15, len(values)), values, "o",
                    color=plotting.COLORS[method])
    finals.set(xticks=range(len(study)), xticklabels=[plotting.LABELS[m] for m in study],
               ylabel="final training loss (last 10% of steps)", title="per seed")
    finals.tick_params(axis="x", rotation=30)
    return fig


def plot_distributions(study, seed_index=0):
    """Top: 15/50/85th percentiles of the watched unit over training. Bottom: its values on
    1,000 training samples at the end (histogram), with the excess kurtosis."""
    methods = list(study)
    fig, axes = plotting.figure(len(methods), 2, width=2.6, height=2.6)
    for col, method in enumerate(methods):
        run = study[method][seed_index]
        top, bottom = axes[col], axes[len(methods) + col]
        p = run["percentiles"]
        color = plotting.COLORS[method]
        top.fill_between(np.arange(len(p)), p[:, 0], p[:, 2], color=color, alpha=0.3, lw=0)
        top.plot(p[:, 1], color=color, lw=1)
        top.set(title=plotting.LABELS[method], xlabel="training step",
                ylabel="pre-activation\n(15/50/85th pct)" if col == 0 else None)
        values = run["final_values"]
        bottom.hist(values, bins=40, color=color, alpha=0.8)
        bottom.set(xlabel="value at the end", ylabel="count" if col == 0 else None,
                   title=f"excess kurtosis {excess_kurtosis(values):.1f}")
    return fig


def plot_batch_sizes(study):
    """Per method: accuracy on the training set in train mode and eval mode, and on test data,
    against batch size (median over seeds, min..max as error bars)."""
    methods = list(study)
    fig, axes = plotting.figure(len(methods), width=3.6, height=3.3, sharey=True)
    styles = {"train_mode_accuracy": ("train set, train mode (batch stats)", "o-"),
              "eval_mode_accuracy": ("train set, eval mode (running stats)", "s--"),
              "test_accuracy": ("test set, eval mode", "^:")}
    for ax, method in zip(axes, methods):
        sizes = sorted(study[method])
        for key, (label, style) in styles.items():
            values = np.array([[run[key] for run in study[method][b]] for b in sizes])
            median = np.median(values, axis=1)
            ax.errorbar(sizes, median, yerr=[median - values.min(1), values.max(1) - median],
                        fmt=style, color=plotting.COLORS[method], label=label, capsize=3,
                        alpha={"o-": 1, "s--": 0.75, "^:": 0.5}[style])
        ax.set(xscale="log", xticks=sizes, xticklabels=sizes, xlabel="batch size",
               title=plotting.LABELS[method], ylabel="accuracy" if ax is axes[0] else None)
    axes[0].legend(fontsize=7, loc="lower right")
    return fig


def plot_theorem_41(record):
    """Per BN layer over training: 1 − measured/bound (> 0: the bound holds; 0 = equality),
    the share of ‖g‖² the projection removes, and the factor γ²/σ²."""
    fig, (ratio_ax, share_ax, gain_ax) = plotting.figure(3, width=4.2, height=3.5)
    layers = record["ratio"].shape[1]
    colors = plotting.plt.cm.viridis(np.linspace(0, 0.9, layers))
    for k in range(layers):
        ratio_ax.plot(record["step"], 1 - record["ratio"][:, k], color=colors[k],
                      label=f"BN layer {k + 1}")
        share_ax.plot(record["step"], record["removed_share"][:, k], color=colors[k])
        gain_ax.plot(record["step"], record["gain"][:, k], color=colors[k])
    ratio_ax.set(xlabel="training step", ylabel="1 − ‖∇_y L̂‖² / bound  (median over features)",
                 yscale="log", title="Theorem 4.1: how far below the bound")
    share_ax.set(xlabel="training step", ylabel="(⟨1,g⟩² + ⟨g,ŷ⟩²) / (m‖g‖²)", yscale="log",
                 title="share of ‖g‖² BN projects away")
    gain_ax.set(xlabel="training step", ylabel="γ²/σ²  (median over features)", yscale="log",
                title="the scale factor γ²/σ²")
    gain_ax.legend(*ratio_ax.get_legend_handles_labels(), fontsize=7)
    return fig


# --------------------------------------------------------------------------- the lesson


def sizes(quick):
    if quick:
        return {"seeds": 3, "steps": 150, "lr": 0.3, "batch_seeds": 2, "batch_steps": 300,
                "batch_sizes": (2, 8, 128), "theorem_steps": 60, "theorem_every": 20}
    return {"seeds": 5, "steps": 400, "lr": 0.3, "batch_seeds": 3, "batch_steps": 1000,
            "batch_sizes": (2, 8, 128), "theorem_steps": 300, "theorem_every": 10}


def run(out_dir, quick=False, seed=0):
    """All experiments and figures of the lesson; returns the numbers it claims."""
    quick = lessons.is_quick(quick)
    n = sizes(quick)
    seeds = [seed + k for k in range(n["seeds"])]
    norms = norm_comparison(seeds, n["steps"], n["lr"])
    summary = {"norms": {"lr": n["lr"], "depth": 8, **norm_summary(norms, seeds)}}
    plotting.save(plot_norm_training(norms), out_dir, "norms_training.png")
    plotting.save(plot_distributions(norms), out_dir, "norms_distributions.png")

    batch_seeds = seeds[:n["batch_seeds"]]
    batches = batch_size_study(n["batch_sizes"], batch_seeds, n["batch_steps"], 0.05)
    summary["batch_size"] = {"lr": 0.05, "steps": n["batch_steps"], **batch_size_summary(batches)}
    plotting.save(plot_batch_sizes(batches), out_dir, "batch_size.png")

    theorem = theorem_41_during_training(seed, n["theorem_steps"], n["theorem_every"], n["lr"])
    summary["theorem_41"] = {"median_ratio_per_layer_last": theorem["ratio"][-1].tolist(),
                             "max_ratio_over_training": float(theorem["max_ratio"].max()),
                             "removed_share_per_layer_last": theorem["removed_share"][-1].tolist(),
                             "gain_per_layer_first": theorem["gain"][0].tolist(),
                             "gain_per_layer_last": theorem["gain"][-1].tolist()}
    plotting.save(plot_theorem_41(theorem), out_dir, "theorem_41.png")
    summary["observation_43"] = observation_43(seed, n["steps"], n["lr"])
    return summary
