"""Lesson 10: depth. At initialisation BatchNorm itself makes gradients explode; residual
connections tame it.

Yang, Pennington, Rao, Sohl-Dickstein & Schoenholz 2019 (*A Mean Field Theory of Batch
Normalization*, ICLR; [Y19]) show that in a deep fully connected BN net without skip
connections the gradient norm grows geometrically from the last layer to the first at
initialisation, whatever the init scale or the nonlinearity (§3.1.2, Theorems 7-9), and that
such nets stop being trainable at large depth unless pushed toward the linear regime (§4).

1. Gradient norm per layer at init in deep ReLU, tanh, linear and sigmoid MLPs, with and
   without BN: the slope of log ‖∇W_l‖ against l is the per-layer rate, set beside [Y19]'s.
2. The rate against the batch size B: [Y19]'s Theorem 8 gives it for ReLU and linear nets.
3. Trainability: final loss over a learning-rate grid at depth 10, 30, 60; and the per-layer
   gradient norms after 1, 10 and 100 SGD steps ([Y19] §4: the range collapses after one).
4. The ways out: an identity path around each BN branch, and the linear regime (a shifted β
   for ReLU, a small γ for tanh, [Y19] Fig. 4).

[Y19]'s theorem numbers are those of the ICLR 2019 OpenReview version (id SyMDXnCcF7). "Rate"
there is the growth of the *squared* gradient norm per layer; this lesson quotes the growth of
the norm itself, the square root. Weights are N(0, c/fan_in) with zero biases: c = 2 (He) for
ReLU and sigmoid (lesson 08's), c = 1 for tanh and linear (the scales that keep a plain net's
signal constant). At init the inputs are 512-d Gaussian (a batch in general position, which
the theory assumes); training uses `make_mnist_like`, in the role of [Y19]'s MNIST.
"""
import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.data import make_mnist_like, make_teacher_classification

from . import is_quick, plotting
from .bn_claims import CHANCE_LOSS, final_loss, trains
from .models import mlp, residual_mlp, train
from .runs import Run, run_all

GALLERY = ("gradient_profiles.png", "Gradient norm per layer at initialisation, depth-100 ReLU "
           "MLP (width 256, batch 64): with BatchNorm it grows about 1.22× per layer toward the "
           "input, as Yang et al. 2019's Theorem 8 predicts (1.222×); without BN, or with BN inside "
           "residual blocks, it stays flat")
INIT_INPUTS = 512  # input dimension at init: a batch of B ≤ 512 Gaussian inputs is in general position
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "linear": nn.Identity, "sigmoid": nn.Sigmoid}
INIT_C = {"relu": 2.0, "tanh": 1.0, "linear": 1.0, "sigmoid": 2.0}
ARCHS = {  # name -> how the net differs from a plain MLP
    "plain": dict(bn=False),
    "bn": dict(bn=True),
    "bn_residual": dict(bn=True, residual=True),
    "bn_shifted": dict(bn=True, beta=1.0),        # ReLU(x̂ + 1): mostly on its linear side
    "bn_small_gamma": dict(bn=True, gamma=0.2),   # tanh(0.2 x̂): nearly linear
}
LABELS = {"plain": "no BN", "bn": "BN", "bn_residual": "BN + residual",
          "bn_shifted": "BN, β₀ = 1", "bn_small_gamma": "BN, γ₀ = 0.2"}
COLORS = {"plain": plotting.COLORS["standard"], "bn": plotting.COLORS["bn"],
          "bn_residual": "#2ca02c", "bn_shifted": "#9467bd", "bn_small_gamma": "#8c564b"}


# --------------------------------------------------------------------------- the theory


def arccos_kernel(c):
    """[Y19] Theorem 5's J(c) = (√(1 − c²) + (π − arccos c) c) / π (Cho & Saul's, degree 1)."""
    return (np.sqrt(1 - c * c) + (np.pi - np.arccos(c)) * c) / np.pi


def arccos_kernel_slope(c):
    """J′(c) = (π − arccos c) / π (the two √(1 − c²) terms of the derivative cancel)."""
    return (np.pi - np.arccos(c)) / np.pi


def relu_bn_rate(batch_size):
    """Per-layer growth of ‖∇‖ in a deep ReLU-BN net, from [Y19] Theorem 8, eq. (25) at α = 1.

    Eq. (25) gives the growth of the squared norm:
        (J′(c) + (B − 1) J(1)) / ((B − 3)(J(1) − J(c))) − 1/(B − 3),  c = −1/(B − 1),
    which decreases to π/(π − 1) ≈ 1.467 as B → ∞; the norm grows by its square root.
    """
    B = np.asarray(batch_size, dtype=float)
    if np.any(B <= 3):
        raise ValueError(f"Theorem 8 needs a batch size B > 3, got {batch_size}")
    c = -1 / (B - 1)
    squared = ((arccos_kernel_slope(c) + (B - 1) * arccos_kernel(1.0))
               / ((B - 3) * (arccos_kernel(1.0) - arccos_kernel(c))) - 1 / (B - 3))
    return np.sqrt(squared)


def linear_bn_rate(batch_size):
    """Per-layer growth of ‖∇‖ in a deep linear BN net: √((B − 2)/(B − 3)), [Y19] Theorem 8
    (and Theorem 9: the smallest rate of any nonlinearity, reached only by a linear one)."""
    B = np.asarray(batch_size, dtype=float)
    if np.any(B <= 3):
        raise ValueError(f"the linear rate needs a batch size B > 3, got {batch_size}")
    return np.sqrt((B - 2) / (B - 3))


def theory_rate(activation, batch_size):
    """[Y19]'s per-layer rate where it has a closed form (ReLU, linear); nan otherwise."""
    rates = {"relu": relu_bn_rate, "linear": linear_bn_rate}
    return float(rates[activation](batch_size)) if activation in rates else float("nan")


# --------------------------------------------------------------------------- nets and runs


def deep_net(activation, depth, width, bn=False, residual=False, gamma=1.0, beta=0.0,
             in_features=20):
    """`depth` hidden layers [Linear -> (BN) -> activation], or a stem and residual blocks;
    BN's γ and β start at `gamma` and `beta` (1 and 0 are PyTorch's defaults)."""
    build = residual_mlp if residual else mlp
    net = build(in_features, 10, width, depth, norm=nn.BatchNorm1d if bn else None,
                activation=ACTIVATIONS[activation], init="scaled", gain_c=INIT_C[activation])
    for module in net.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.weight.data[...] = gamma
            module.bias.data[...] = beta
    return net


def hidden_gradient_norms(net, X, y):
    """‖∇W_l‖ of every hidden Linear, l = 1 (input side) .. depth (the classifier left out),
    on one batch. The norm is taken in float64: an exploding gradient's squares overflow
    float32 long before the gradient itself does."""
    net.zero_grad()
    nn.functional.cross_entropy(net(mg.Tensor(X)), y).backward()
    hidden = [m for m in net.modules() if isinstance(m, nn.Linear)][:-1]
    return np.array([np.linalg.norm(m.weight.grad.data.astype(np.float64)) for m in hidden])


def init_gradients(activation, arch, depth, width, batch_size, seed, in_features=INIT_INPUTS):
    """One run: the hidden layers' gradient norms at init on one batch of a teacher task
    whose inputs have `in_features` dimensions."""
    X, y = make_teacher_classification(batch_size, dim=in_features, seed=seed)
    mg.manual_seed(seed)
    net = deep_net(activation, depth, width, in_features=in_features, **ARCHS[arch])
    return hidden_gradient_norms(net, X, y)


def fitted_rate(norms, window=(0.2, 0.8)):
    """Per-layer growth of ‖∇W_l‖ toward the input: exp(−slope) of log ‖∇W_l‖ against l,
    fitted over the middle layers (both ends have transients: the input layers' signal has
    not settled yet, the top layers' gradient has not yet turned into its growing mode).
    Layers whose gradient underflowed to 0 (a vanishing one) are left out; nan if fewer
    than 5 remain."""
    norms = np.asarray(norms, dtype=float)
    first, last = int(window[0] * len(norms)), int(np.ceil(window[1] * len(norms)))
    layers = np.arange(first, last)
    kept = norms[first:last] > 0
    if kept.sum() < 5:
        return float("nan")
    return float(np.exp(-np.polyfit(layers[kept], np.log(norms[first:last][kept]), 1)[0]))


# --------------------------------------------------------------------------- 1. profiles


def gradient_profiles(cases, depth=100, width=256, batch_size=64, seeds=(0, 1, 2)):
    """Per-layer gradient norms at init and the fitted rate, per (activation, arch) case."""
    runs = [Run(init_gradients, activation=a, arch=arch, depth=depth, width=width,
                batch_size=batch_size, seed=s) for a, arch in cases for s in seeds]
    norms = iter(run_all(runs, desc="gradient profiles at init"))
    results = {}
    for activation, arch in cases:
        runs = np.array([next(norms) for _ in seeds])
        results[(activation, arch)] = {"norms": runs, "rate": [fitted_rate(r) for r in runs],
                                       "theory": theory_rate(activation, batch_size)
                                       if arch == "bn" else float("nan")}
    return {"depth": depth, "width": width, "batch_size": batch_size, "seeds": list(seeds),
            "cases": results}


def ratio_against_depth(depths=(5, 10, 20, 40, 80), archs=("plain", "bn"), width=256,
                        batch_size=64, seeds=(0, 1, 2)):
    """‖∇W_1‖ / ‖∇W_last hidden‖ at init in separate ReLU nets of each depth."""
    runs = [Run(init_gradients, activation="relu", arch=arch, depth=d, width=width,
                batch_size=batch_size, seed=s) for arch in archs for d in depths for s in seeds]
    ratios = iter([norms[0] / norms[-1] for norms in run_all(runs, desc="ratio against depth")])
    ratio = {arch: np.array([[next(ratios) for _ in seeds] for _ in depths]) for arch in archs}
    return {"depths": list(depths), "seeds": list(seeds), "ratio": ratio}


def plot_profiles(profiles, activations=("relu",), archs=("plain", "bn", "bn_residual")):
    """log ‖∇W_l‖ against l, one panel per activation; dashed: [Y19]'s slope through the BN
    median at the middle layer."""
    fig, axes = plotting.figure(len(activations), 1, width=4.6, height=3.4)
    for ax, activation in zip(axes, activations):
        for arch in archs:
            case = profiles["cases"].get((activation, arch))
            if case is None:
                continue
            layers = np.arange(1, case["norms"].shape[1] + 1)
            shown = np.where(case["norms"] > 0, case["norms"], np.nan)  # underflowed: a gap
            plotting.band(ax, layers, shown, color=COLORS[arch],
                          label=f"{LABELS[arch]} ({np.median(case['rate']):.3f}× per layer)",
                          log=True)
            if np.isfinite(case["theory"]):
                middle = len(layers) // 2
                anchor = np.median(case["norms"][:, middle])
                ax.plot(layers, anchor * case["theory"] ** (middle + 1 - layers), "k--", lw=1,
                        label=f"Yang et al. Thm 8: {case['theory']:.3f}×")
        ax.set_title(f"{activation}, depth {profiles['depth']}, width {profiles['width']}, "
                     f"batch {profiles['batch_size']}")
        ax.set_xlabel("layer l (1 = input side)")
        ax.set_ylabel("‖∇W_l‖ at init")
        ax.legend(fontsize=8)
    return fig


# --------------------------------------------------------------------------- 2. batch size


def batch_size_sweep(batch_sizes=(8, 16, 32, 64, 128, 256, 512), activations=("relu", "linear"),
                     depth=100, width=256, seeds=(0, 1, 2)):
    """The fitted BN rate per (activation, B, seed), beside Theorem 8's."""
    runs = [Run(init_gradients, activation=a, arch="bn", depth=depth, width=width, batch_size=b,
                seed=s) for a in activations for b in batch_sizes for s in seeds]
    norms = iter(run_all(runs, desc="batch sizes"))
    rate = {a: np.array([[fitted_rate(next(norms)) for _ in seeds] for _ in batch_sizes])
            for a in activations}
    theory = {a: [theory_rate(a, b) for b in batch_sizes] for a in activations}
    return {"batch_sizes": list(batch_sizes), "depth": depth, "width": width,
            "seeds": list(seeds), "rate": rate, "theory": theory}


def plot_batch_sizes(sweep):
    fig, (ax,) = plotting.figure(1, 1, width=5.0)
    B = np.array(sweep["batch_sizes"])
    for activation, color in zip(sweep["rate"], ("#ff7f0e", "#1f77b4")):
        plotting.band(ax, B, sweep["rate"][activation].T, color=color,
                      label=f"{activation} + BN, measured")
        ax.plot(B, sweep["theory"][activation], "--", color=color, lw=1,
                label=f"{activation}: Yang et al. Thm 8")
    ax.axhline(np.sqrt(np.pi / (np.pi - 1)), color="grey", ls=":", lw=1, label="√(π/(π−1)), B → ∞")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch size B")
    ax.set_ylabel("per-layer growth of ‖∇W‖")
    ax.set_title(f"depth {sweep['depth']}, width {sweep['width']}, at init")
    ax.legend(fontsize=8)
    return fig


# --------------------------------------------------------------------------- 3. training


def train_run(activation, arch, depth, width, lr, steps, batch_size, seed, probe_steps=()):
    """One run: SGD on `make_mnist_like` (noisy copies of 10 binary prototypes, 100 pixels:
    a task any trainable net learns within a few hundred steps, in the role of [Y19]'s MNIST).
    Returns the final loss, and the hidden layers' gradient norms on a fixed batch after each
    step count in `probe_steps` (0 = at init; nan where the run diverged before it)."""
    X, y = make_mnist_like(4096, seed=seed)
    mg.manual_seed(seed)
    net = deep_net(activation, depth, width, in_features=X.shape[1], **ARCHS[arch])
    probe = (X[:batch_size], y[:batch_size])
    probes = np.full((len(probe_steps), depth), np.nan)

    def record(step, model):
        if step in probe_steps:
            probes[probe_steps.index(step)] = hidden_gradient_norms(model, *probe)

    record(0, net)
    losses = train(net, X, y, steps, lr, batch_size, seed=seed,
                   on_step=lambda step, model: record(step + 1, model))["loss"]
    return {"final_loss": final_loss(losses), "probes": probes}


TRAIN_CASES = (("relu", "plain"), ("relu", "bn"), ("relu", "bn_residual"), ("relu", "bn_shifted"),
               ("tanh", "bn"), ("tanh", "bn_small_gamma"))


def case_label(case):
    activation, arch = case
    return f"{activation}, {LABELS[arch]}"


def trainability(cases=TRAIN_CASES, depths=(10, 30, 60), lrs=(0.03, 0.1, 0.3), width=64,
                 batch_size=64, steps=100, seeds=(0, 1, 2)):
    """Final training loss per (case, depth, lr, seed) after `steps` SGD steps."""
    runs = [Run(train_run, activation=a, arch=arch, depth=d, width=width, lr=lr, steps=steps,
                batch_size=batch_size, seed=s)
            for a, arch in cases for d in depths for lr in lrs for s in seeds]
    results = iter(run_all(runs, desc="trainability"))
    loss = {case: np.array([[[next(results)["final_loss"] for _ in seeds] for _ in lrs]
                            for _ in depths]) for case in cases}
    return {"cases": list(cases), "depths": list(depths), "lrs": list(lrs), "seeds": list(seeds),
            "steps": steps, "width": width, "batch_size": batch_size, "loss": loss}


def trains_at(sweep, case, i):
    """Whether some lr in the grid trains `case` on every seed at the i-th depth."""
    return any(all(trains(v) for v in seeds) for seeds in sweep["loss"][case][i])


def deepest_trained(sweep, case):
    """The largest depth at which some lr trains on every seed (0 if none)."""
    return max((d for i, d in enumerate(sweep["depths"]) if trains_at(sweep, case, i)), default=0)


def plot_trainability(sweep):
    """Median final loss against lr, one panel per depth (a diverged run counts as 1.2 × chance)."""
    fig, axes = plotting.figure(len(sweep["depths"]), 1, width=3.6, height=3.2)
    for i, (ax, depth) in enumerate(zip(axes, sweep["depths"])):
        for case in sweep["cases"]:
            losses = sweep["loss"][case][i]  # (lr, seed)
            capped = np.where(np.isfinite(losses), np.minimum(losses, 1.2 * CHANCE_LOSS),
                              1.2 * CHANCE_LOSS)
            ax.plot(sweep["lrs"], np.median(capped, axis=1), "o-" if case[0] == "relu" else "s--",
                    ms=3, color=COLORS[case[1]], label=case_label(case))
        ax.axhline(CHANCE_LOSS, color="grey", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_xticks(sweep["lrs"], [f"{lr:g}" for lr in sweep["lrs"]])
        ax.minorticks_off()
        ax.set_ylim(0, 1.25 * CHANCE_LOSS)
        ax.set_title(f"depth {depth}")
        ax.set_xlabel("learning rate")
        ax.set_ylabel(f"loss after {sweep['steps']} steps")
    axes[0].legend(fontsize=7)
    return fig


def equilibration(depth=60, lr=0.1, probe_steps=(0, 1, 10, 100), width=64, batch_size=64,
                  seeds=(0, 1, 2), activation="relu", arch="bn"):
    """Per-layer gradient norms after 0, 1, 10, 100 SGD steps, and their dynamic range
    (largest over smallest layer), per seed."""
    runs = [Run(train_run, activation=activation, arch=arch, depth=depth, width=width, lr=lr,
                steps=max(probe_steps), batch_size=batch_size, seed=s,
                probe_steps=tuple(probe_steps)) for s in seeds]
    probes = np.array([r["probes"] for r in run_all(runs, desc="gradients during training")])
    # probes: (seed, probe step, layer)
    dynamic_range = probes.max(axis=2) / probes.min(axis=2)
    return {"depth": depth, "lr": lr, "probe_steps": list(probe_steps), "seeds": list(seeds),
            "norms": probes, "dynamic_range": dynamic_range}


def plot_equilibration(eq):
    fig, (ax,) = plotting.figure(1, 1, width=5.0)
    layers = np.arange(1, eq["norms"].shape[2] + 1)
    colors = plt_colors(len(eq["probe_steps"]))
    for k, step in enumerate(eq["probe_steps"]):
        plotting.band(ax, layers, eq["norms"][:, k], color=colors[k], log=True,
                      label=f"after {step} steps (range {np.median(eq['dynamic_range'][:, k]):.3g})")
    ax.set_xlabel("layer l (1 = input side)")
    ax.set_ylabel("‖∇W_l‖")
    ax.set_title(f"ReLU + BN, depth {eq['depth']}, SGD lr {eq['lr']}")
    ax.legend(fontsize=8)
    return fig


def plt_colors(count):
    """`count` colours from black to green, the order of the training steps."""
    return [(0.1, 0.15 + 0.6 * k / max(count - 1, 1), 0.1) for k in range(count)]


# --------------------------------------------------------------------------- the verdicts


def median(values):
    return float(np.median(values))


def trainable_depth_scale(rate):
    """[Y19] §4's 16ξ, ξ = 1 / log λ with λ = rate² the growth of the squared gradient norm
    per layer: Fig. 2 overlays it as the edge of the trainable depths."""
    return 16 / np.log(rate ** 2) if rate > 1 else float("inf")


def depth_scale_consistent(sweep, case, rate):
    """Whether the grid agrees with 16ξ: every depth below it trains (some lr, every seed)
    and no depth above it does."""
    edge = trainable_depth_scale(rate)
    return all(trains_at(sweep, case, i) == (d < edge) for i, d in enumerate(sweep["depths"]))


def claim_table(profiles, ratios, sweep, train_sweep, eq):
    """Claim -> measured -> verdict at this scale (numbers are medians over seeds)."""
    rate = {case: median(result["rate"]) for case, result in profiles["cases"].items()}
    relu_bn = profiles["cases"][("relu", "bn")]
    flat = {a: rate[(a, "plain")] for a in ("relu", "tanh", "linear")}
    bn_ratio = np.median(ratios["ratio"]["bn"], axis=1)
    gaps = {a: float(np.max(np.abs(np.median(sweep["rate"][a], axis=1) - sweep["theory"][a])))
            for a in sweep["rate"]}
    bn_cases = [c for c in train_sweep["cases"] if c[1] != "plain"]
    ranges = np.median(eq["dynamic_range"], axis=0)
    deepest = {c: deepest_trained(train_sweep, c) for c in train_sweep["cases"]}
    return [
        {"claim": "BN prevents exploding gradients ([IS15]; held in lesson 08 at depth 6-12)",
         "measured": "ReLU, ‖∇W₁‖/‖∇W_last‖ at init with BN: " + ", ".join(
             f"{r:.3g} (depth {d})" for d, r in zip(ratios["depths"], bn_ratio)),
         "verdict": held(bn_ratio[-1] < 10)},
        {"claim": "with BN the gradient grows geometrically toward the input ([Y19] Thm 8, ReLU)",
         "measured": f"{rate[('relu', 'bn')]:.3f}× per layer (seeds "
                     + ", ".join(f"{r:.3f}" for r in relu_bn["rate"])
                     + f") vs Theorem 8 {relu_bn['theory']:.3f}× at B = {profiles['batch_size']}",
         "verdict": held(abs(rate[("relu", "bn")] - relu_bn["theory"]) < 0.02)},
        {"claim": "BN is the cause: without it (signal-preserving init) the gradient is flat",
         "measured": ", ".join(f"{a} {r:.3f}×" for a, r in flat.items()),
         "verdict": held(all(abs(r - 1) < 0.02 for r in flat.values()))},
        {"claim": "every nonlinearity explodes faster than a linear net ([Y19] Thm 9)",
         "measured": f"tanh {rate[('tanh', 'bn')]:.3f}×, sigmoid {rate[('sigmoid', 'bn')]:.3f}×, "
                     f"linear {rate[('linear', 'bn')]:.4f}× per layer",
         "verdict": held(min(rate[("tanh", "bn")], rate[("sigmoid", "bn")]) > rate[("linear", "bn")])},
        {"claim": "the rate falls with the batch size as Theorem 8 says (ReLU, linear)",
         "measured": f"B = {sweep['batch_sizes'][0]}..{sweep['batch_sizes'][-1]}: largest gap "
                     "between median and theory " + ", ".join(f"{a} {g:.3f}" for a, g in gaps.items()),
         "verdict": held(all(g < 0.03 for g in gaps.values()))},
        {"claim": "BN nets train only up to about 16ξ layers ([Y19] Fig. 2)",
         "measured": "; ".join(f"{case_label(c)}: 16ξ = {trainable_depth_scale(rate[c]):.0f}, "
                               f"deepest trained {deepest[c]}" for c in bn_cases)
                     + f" (of depths {train_sweep['depths']})",
         "verdict": held(all(depth_scale_consistent(train_sweep, c, rate[c]) for c in bn_cases))},
        {"claim": "after one SGD step the gradients' dynamic range drops dramatically ([Y19] §4)",
         "measured": "largest/smallest layer gradient: " + ", ".join(
             f"{r:.3g} after {s} steps" for s, r in zip(eq["probe_steps"], ranges)),
         "verdict": held(ranges[1] < ranges[0] / 10)},
        {"claim": "an identity path around each BN branch tames the explosion",
         "measured": f"ReLU: {rate[('relu', 'bn_residual')]:.3f}× per layer (plain BN "
                     f"{rate[('relu', 'bn')]:.3f}×); deepest trained "
                     f"{deepest.get(('relu', 'bn_residual'), 'n/a')}",
         "verdict": held(rate[("relu", "bn_residual")] < 1.05
                         and deepest.get(("relu", "bn_residual"), 0) == max(train_sweep["depths"]))},
        {"claim": "nearer the linear regime the explosion is smaller ([Y19] Fig. 4)",
         "measured": f"ReLU β₀ = {ARCHS['bn_shifted']['beta']:g}: {rate[('relu', 'bn_shifted')]:.3f}× "
                     f"(β₀ = 0: {rate[('relu', 'bn')]:.3f}×); tanh γ₀ = "
                     f"{ARCHS['bn_small_gamma']['gamma']:g}: {rate[('tanh', 'bn_small_gamma')]:.3f}× "
                     f"(γ₀ = 1: {rate[('tanh', 'bn')]:.3f}×)",
         "verdict": held(rate[("relu", "bn_shifted")] < rate[("relu", "bn")]
                         and rate[("tanh", "bn_small_gamma")] < rate[("tanh", "bn")])},
    ]


def held(condition):
    return "held" if condition else "did not hold"


# --------------------------------------------------------------------------- run


PROFILE_CASES = [(a, arch) for a in ("relu", "tanh", "linear", "sigmoid") for arch in ("plain", "bn")]
PROFILE_CASES += [("relu", "bn_residual"), ("relu", "bn_shifted"), ("tanh", "bn_small_gamma")]


def sizes(quick, seed=0):
    """Experiment sizes: full (the lesson) or quick (CI: the same code, smaller)."""
    def seeds(k):
        return tuple(seed + i for i in range(k))

    if quick:
        return dict(profiles=dict(cases=PROFILE_CASES, depth=30, width=64, seeds=seeds(2)),
                    ratios=dict(depths=(5, 20), width=64, seeds=seeds(2)),
                    batch=dict(batch_sizes=(8, 64), depth=30, width=64, seeds=seeds(2)),
                    train=dict(depths=(10, 30), lrs=(0.1,), steps=20, width=32, seeds=seeds(1)),
                    eq=dict(depth=20, probe_steps=(0, 1, 10), width=32, seeds=seeds(2)))
    return dict(profiles=dict(cases=PROFILE_CASES, seeds=seeds(5)),
                ratios=dict(seeds=seeds(3)), batch=dict(seeds=seeds(3)),
                train=dict(seeds=seeds(3)), eq=dict(seeds=seeds(3)))


def run(out_dir, quick=False, seed=0):
    size = sizes(is_quick(quick), seed)
    profiles = gradient_profiles(**size["profiles"])
    plotting.save(plot_profiles(profiles, archs=("plain", "bn", "bn_residual", "bn_shifted")),
                  out_dir, "gradient_profiles.png")
    plotting.save(plot_profiles(profiles, activations=("tanh", "linear", "sigmoid"),
                                archs=("plain", "bn", "bn_small_gamma")),
                  out_dir, "other_activations.png")
    ratios = ratio_against_depth(**size["ratios"])
    sweep = batch_size_sweep(**size["batch"])
    plotting.save(plot_batch_sizes(sweep), out_dir, "batch_sizes.png")
    train_sweep = trainability(**size["train"])
    plotting.save(plot_trainability(train_sweep), out_dir, "trainability.png")
    eq = equilibration(**size["eq"])
    plotting.save(plot_equilibration(eq), out_dir, "equilibration.png")
    return summarise(profiles, ratios, sweep, train_sweep, eq)


def summarise(profiles, ratios, sweep, train_sweep, eq):
    """The JSON-friendly numbers the lesson quotes, per seed, and the regime."""
    return {
        "regime": {"width_profiles": profiles["width"], "batch_size": profiles["batch_size"],
                   "depth_profiles": profiles["depth"], "depths_ratio": ratios["depths"],
                   "depth_batch_sweep": sweep["depth"], "width_training": train_sweep["width"],
                   "depths_training": train_sweep["depths"], "steps": train_sweep["steps"],
                   "init": {a: f"N(0, {c:g}/fan_in), zero biases" for a, c in INIT_C.items()},
                   "data": f"init: teacher task with {INIT_INPUTS}-d Gaussian inputs; training: "
                           "make_mnist_like (100 pixels, 10 classes), cross-entropy, plain SGD"},
        "rate_per_layer": {f"{a} {arch}": case["rate"] for (a, arch), case in
                           profiles["cases"].items()},
        "rate_theory": {f"{a} {arch}": case["theory"] for (a, arch), case in
                        profiles["cases"].items() if np.isfinite(case["theory"])},
        "first_over_last_hidden": {f"relu {arch}": {f"depth {d}": ratios["ratio"][arch][i].tolist()
                                                    for i, d in enumerate(ratios["depths"])}
                                   for arch in ratios["ratio"]},
        "batch_size_rate": {a: {f"B={b}": sweep["rate"][a][i].tolist()
                                for i, b in enumerate(sweep["batch_sizes"])} for a in sweep["rate"]},
        "batch_size_theory": {a: dict(zip((f"B={b}" for b in sweep["batch_sizes"]), t))
                              for a, t in sweep["theory"].items()},
        "trainability_final_loss": {case_label(c): {f"depth {d}": {
            f"lr={lr:g}": train_sweep["loss"][c][i, j].tolist() for j, lr in enumerate(train_sweep["lrs"])}
            for i, d in enumerate(train_sweep["depths"])} for c in train_sweep["cases"]},
        "dynamic_range_after_steps": {f"step {s}": eq["dynamic_range"][:, k].tolist()
                                      for k, s in enumerate(eq["probe_steps"])},
        "claims": claim_table(profiles, ratios, sweep, train_sweep, eq),
    }
