"""Lesson 08: the rest of what BatchNorm was said to do, tested claim by claim.

Ioffe & Szegedy (2015) credit BN with: stable training, no vanishing or exploding gradients,
faster learning rates, less delicate initialisation, a regularising effect, and a 14× faster
ImageNet run. Each experiment below puts one claim to a small, seeded test over several
seeds; `claim_table` says which held at this scale. (Internal covariate shift is lesson 05,
smoothness lesson 06.) Every network is a ReLU (or sigmoid) MLP from lessons/models.py with
weights N(0, c/fan_in) and zero biases, so the init is always stated.
"""
import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.analysis import hessian_top_eigenvalue
from minigrad.data import cifar_like, make_teacher_classification

from . import is_quick, plotting
from .models import accuracy, mlp, train, vgg_like

GALLERY = ("init_heatmap.png", "Weight-init scale × depth: without BN only a narrow band of "
           "init scales trains; with BN every cell does")
CHANCE_LOSS = float(np.log(10))
INIT_SCALES = (0.1, 1 / 3, 1.0, 2.0, 4.0, 8.0)


def teacher_task(n, seed):
    """The lesson's task: 20-d Gaussian inputs, 10 classes from a random tanh teacher."""
    return make_teacher_classification(n, dim=20, num_classes=10, hidden=64, seed=seed)


def final_loss(losses, window=20):
    """Mean of the last `window` training losses; nan if training diverged (nan or inf)."""
    return float(np.mean(losses[-window:])) if np.all(np.isfinite(losses)) else float("nan")


def trains(loss):
    """A run 'trains' when it ends clearly below the chance loss ln 10 ≈ 2.30 (not nan)."""
    return bool(np.isfinite(loss) and loss < 0.85 * CHANCE_LOSS)


# --------------------------------------------------------------------------- 1. init


def init_sweep(depths=(6, 12), scales=INIT_SCALES, seeds=(0, 1, 2), steps=300, lr=0.1,
               batch_size=128, n=4096):
    """Final training loss for weights N(0, c/fan_in), per (norm, depth, c, seed)."""
    loss = {key: np.full((len(depths), len(scales), len(seeds)), np.nan) for key in ("standard", "bn")}
    for s, seed in enumerate(seeds):
        X, y = teacher_task(n, seed)
        for key, norm in (("standard", None), ("bn", nn.BatchNorm1d)):
            for d, depth in enumerate(depths):
                for i, c in enumerate(scales):
                    mg.manual_seed(seed)
                    model = mlp(20, 10, 64, depth, norm=norm, init="scaled", gain_c=c)
                    run = train(model, X, y, steps, lr, batch_size, seed=seed)
                    loss[key][d, i, s] = final_loss(run["loss"])
    return {"depths": list(depths), "scales": list(scales), "seeds": list(seeds), "loss": loss}


def plot_init_heatmap(sweep):
    """Median final loss over the seeds that did not diverge, per (depth, c); a cell says how
    many seeds diverged ('nan': all of them)."""
    fig, axes = plotting.figure(2, 1, width=4.8, height=2.6)
    for ax, key in zip(axes, ("standard", "bn")):
        losses = sweep["loss"][key]  # (depth, c, seed)
        diverged = np.sum(~np.isfinite(losses), axis=2)
        median = np.array([[np.median(cell[np.isfinite(cell)]) if np.isfinite(cell).any()
                            else np.nan for cell in row] for row in losses])
        shown = np.where(np.isfinite(median), median, CHANCE_LOSS * 1.2)
        image = ax.imshow(shown, cmap="viridis_r", vmin=0, vmax=CHANCE_LOSS * 1.2, aspect="auto")
        for (d, i), value in np.ndenumerate(median):
            label = "nan" if not np.isfinite(value) else f"{value:.2f}"
            if 0 < diverged[d, i] < losses.shape[2]:
                label += f"\n{diverged[d, i]}/{losses.shape[2]} nan"
            ax.text(i, d, label, ha="center", va="center", fontsize=9,
                    color="white" if shown[d, i] > 1.2 else "black")
        ax.set_xticks(range(len(sweep["scales"])),
                      [f"{c:.2g}" for c in sweep["scales"]])
        ax.set_yticks(range(len(sweep["depths"])), sweep["depths"])
        ax.set_xlabel("init scale c (weights ~ N(0, c / fan_in))")
        ax.set_ylabel("depth")
        ax.set_title(f"{plotting.LABELS[key]}: final training loss (chance {CHANCE_LOSS:.2f})")
        ax.grid(False)
    fig.colorbar(image, ax=axes, shrink=0.8, label="median final loss (seeds that trained)")
    return fig


# --------------------------------------------------------------------------- 2. gradients


def layer_gradient_norms(model, X, y):
    """‖∇_W L‖ of every Linear layer's weight, first layer first, on one batch."""
    model.zero_grad()
    nn.functional.cross_entropy(model(mg.Tensor(X)), y).backward()
    return [float(np.linalg.norm(m.weight.grad.data)) for m in model.modules()
            if isinstance(m, nn.Linear)]


def gradient_flow(activations=("sigmoid", "relu"), depths=(6, 12), seeds=(0, 1, 2), steps=300,
                  lr=0.1, c=2.0, n=4096, batch_size=128):
    """Per-layer gradient norms at init, and the loss curve, with and without BN."""
    layer_types = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}
    results = {}
    for activation in activations:
        for depth in depths:
            for key, norm in (("standard", None), ("bn", nn.BatchNorm1d)):
                norms, curves = [], []
                for seed in seeds:
                    X, y = teacher_task(n, seed)
                    mg.manual_seed(seed)
                    model = mlp(20, 10, 64, depth, norm=norm, activation=layer_types[activation],
                                init="scaled", gain_c=c)
                    norms.append(layer_gradient_norms(model, X[:batch_size], y[:batch_size]))
                    curves.append(train(model, X, y, steps, lr, batch_size, seed=seed)["loss"])
                results[(activation, depth, key)] = {"grad_norms": np.array(norms),
                                                     "loss": np.array(curves)}
    return results


def plot_gradient_flow(flow):
    """Top: gradient norm per layer at init (log scale). Bottom: training loss."""
    cases = sorted({(a, d) for a, d, _ in flow})
    fig, axes = plotting.figure(len(cases), 2, width=3.6, height=3.0)
    for j, (activation, depth) in enumerate(cases):
        top, bottom = axes[j], axes[len(cases) + j]
        for key in ("standard", "bn"):
            run = flow[(activation, depth, key)]
            layers = np.arange(1, run["grad_norms"].shape[1] + 1)
            plotting.band(top, layers, run["grad_norms"], key, log=True)
            plotting.band(bottom, np.arange(1, run["loss"].shape[1] + 1), run["loss"], key)
        top.set_title(f"{activation}, depth {depth}")
        top.set_xlabel("layer (1 = input side)")
        top.set_ylabel("‖∇W‖ at init")
        bottom.axhline(CHANCE_LOSS, color="grey", ls=":", lw=1)
        bottom.set_xlabel("step")
        bottom.set_ylabel("training loss")
    axes[0].legend()
    return fig


# --------------------------------------------------------------------------- 3. learning rates


def learning_rate_sweep(lrs=tuple(np.geomspace(0.01, 3.0, 9)), depth=6, seeds=(0, 1, 2),
                        steps=200, n=4096, batch_size=128, hessian_iters=50):
    """Final loss per lr, and 2/λ_max of the loss Hessian at init, with and without BN.

    50 power-iteration steps: with 20, one BN seed (2) had not converged (λ ≈ −0.29, where
    60 steps from two starts give 4.05 and 4.18).
    """
    loss = {key: np.full((len(lrs), len(seeds)), np.nan) for key in ("standard", "bn")}
    edge = {key: [] for key in loss}
    for s, seed in enumerate(seeds):
        X, y = teacher_task(n, seed)
        for key, norm in (("standard", None), ("bn", nn.BatchNorm1d)):
            mg.manual_seed(seed)
            model = mlp(20, 10, 64, depth, norm=norm, init="he")
            top = hessian_top_eigenvalue(model, nn.functional.cross_entropy,
                                         (X[:batch_size], y[:batch_size]), iters=hessian_iters)
            edge[key].append(2 / abs(top))
            for i, lr in enumerate(lrs):
                mg.manual_seed(seed)
                model = mlp(20, 10, 64, depth, norm=norm, init="he")
                loss[key][i, s] = final_loss(train(model, X, y, steps, lr, batch_size, seed=seed)["loss"])
    largest = {key: [largest_stable_lr(lrs, loss[key][:, s]) for s in range(len(seeds))]
               for key in loss}
    return {"lrs": list(lrs), "loss": loss, "edge_of_stability": edge, "largest_stable_lr": largest}


def largest_stable_lr(lrs, losses):
    """The largest lr whose run trained (finite, below chance); 0 if none did."""
    good = [lr for lr, loss in zip(lrs, losses) if trains(loss)]
    return float(max(good)) if good else 0.0


def plot_learning_rates(sweep):
    fig, (ax,) = plotting.figure(1, 1, width=5.5)
    lrs = np.array(sweep["lrs"])
    for key in ("standard", "bn"):
        shown = np.where(np.isfinite(sweep["loss"][key]), sweep["loss"][key], 2 * CHANCE_LOSS)
        plotting.band(ax, lrs, shown.T, key)
        ax.axvline(np.median(sweep["edge_of_stability"][key]), color=plotting.COLORS[key], ls="--",
                   lw=1, label=f"2/λ_max at init ({plotting.LABELS[key]})")
    ax.axhline(CHANCE_LOSS, color="grey", ls=":", lw=1, label="chance")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(f"final training loss (diverged drawn at {2 * CHANCE_LOSS:.1f})")
    ax.set_title("Largest stable learning rate")
    ax.legend(fontsize=8)
    return fig


# --------------------------------------------------------------------------- 4. regularisation


REGULARISERS = {  # name: (norm layer, dropout p, batch size)
    "none": (None, 0.0, 64),
    "dropout 0.3": (None, 0.3, 64),
    "BN, batch 8": (nn.BatchNorm1d, 0.0, 8),
    "BN, batch 64": (nn.BatchNorm1d, 0.0, 64),
    "BN, batch 256": (nn.BatchNorm1d, 0.0, 256),
}


def regularisation(seeds=(0, 1, 2), n_train=500, n_test=5000, steps=1500, lr=0.05, momentum=0.9):
    """Train to ~zero training error on 500 samples; compare test accuracy (3 × 256 ReLU)."""
    results = {name: {"train": [], "test": []} for name in REGULARISERS}
    for seed in seeds:
        X, y = teacher_task(n_train + n_test, seed)
        X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
        for name, (norm, p, batch_size) in REGULARISERS.items():
            mg.manual_seed(seed)
            model = mlp(20, 10, 256, 3, norm=norm, init="he", dropout=p)
            train(model, X_train, y_train, steps, lr, batch_size, seed=seed, momentum=momentum)
            results[name]["train"].append(accuracy(model, X_train, y_train))
            results[name]["test"].append(accuracy(model, X_test, y_test))
    return results


def plot_regularisation(results):
    fig, (ax,) = plotting.figure(1, 1, width=6)
    names = list(results)
    for i, name in enumerate(names):
        test = results[name]["test"]
        ax.scatter([i] * len(test), test, color="black", s=14, zorder=3)
        ax.bar(i, np.median(test), color=plotting.COLORS["bn" if "BN" in name else "standard"],
               alpha=0.6)
    ax.set_xticks(range(len(names)), names, rotation=20)
    low = min(min(r["test"]) for r in results.values())
    ax.set_ylim(max(0.0, low - 0.1), None)
    ax.set_ylabel("test accuracy (dots: seeds)")
    ax.set_title("Regularisation: 500 training samples, trained to ~100% train accuracy")
    return fig


# --------------------------------------------------------------------------- 5. speed-up


def speed_up(lrs=(0.03, 0.1, 0.3), seeds=(0, 1), steps=400, eval_every=20, n_train=3000,
             n_test=1000, batch_size=64, channels=(8, 16, 32)):
    """Steps for the small CNN to reach a common test accuracy on cifar_like, per lr and BN.

    The target is set after training, at 90% of the best accuracy that *both* nets reach
    (each at its best lr), so neither is judged against a bar only the other can clear.
    """
    X, y = cifar_like(n_train + n_test, seed=0)
    X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    # Standardised inputs (per colour channel, training statistics), as any CNN recipe does:
    # raw [0, 1] pixels would handicap the plain net and flatter BN's first layer.
    mean = X_train.mean(axis=(0, 2, 3), keepdims=True)
    std = X_train.std(axis=(0, 2, 3), keepdims=True)
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    curves = {}
    for key, bn in (("standard", False), ("bn", True)):
        for lr in lrs:
            for seed in seeds:
                mg.manual_seed(seed)
                model = vgg_like(10, channels, bn=bn)
                curves[(key, lr, seed)] = train(
                    model, X_train, y_train, steps, lr, batch_size, seed=seed, momentum=0.9,
                    X_test=X_test, y_test=y_test, eval_every=eval_every)["evals"]
    reachable = min(max(np.median([curves[(key, lr, seed)][:, 2].max() for seed in seeds])
                        for lr in lrs) for key in ("standard", "bn"))
    target = 0.9 * reachable
    steps_to = {key: np.array([[_first_step_at(curves[(key, lr, seed)], target) for seed in seeds]
                               for lr in lrs]) for key in ("standard", "bn")}
    best = {key: _best_lr(lrs, steps_to[key]) for key in steps_to}
    return {"lrs": list(lrs), "target": float(target), "steps_to_target": steps_to, "best": best,
            "curves": curves}


def _first_step_at(evals, target):
    """The first evaluation step whose test accuracy reached `target` (inf if none)."""
    reached = evals[evals[:, 2] >= target, 0]
    return float(reached[0]) if len(reached) else np.inf


def _best_lr(lrs, steps_to):
    """The lr with the fewest median steps to target, and that median."""
    medians = np.median(steps_to, axis=1)
    i = int(np.argmin(medians))
    return {"lr": float(lrs[i]), "steps": float(medians[i])}


def plot_speed_up(result):
    fig, (ax,) = plotting.figure(1, 1, width=5.5)
    for key in ("standard", "bn"):
        lr = result["best"][key]["lr"]
        runs = [evals for (k, l, _), evals in result["curves"].items() if k == key and l == lr]
        plotting.band(ax, runs[0][:, 0], [r[:, 2] for r in runs], key,
                      label=f"{plotting.LABELS[key]} (best lr {lr:g})")
    ax.axhline(result["target"], color="grey", ls=":", lw=1, label="target")
    ax.set_xlabel("step")
    ax.set_ylabel("test accuracy")
    ax.set_title("Small CNN on cifar_like, each at its best lr")
    ax.legend()
    return fig


# --------------------------------------------------------------------------- the verdicts


def claim_table(init, flow, lrs, reg, speed):
    """Claim -> experiment -> verdict at this scale -> where it is explained."""
    def count(condition):
        return int(np.sum(condition))

    d6 = init["depths"].index(6) if 6 in init["depths"] else 0
    scales = np.array(init["scales"])
    plain_ok = np.array([[trains(v) for v in row] for row in init["loss"]["standard"][d6]])
    bn_ok = np.array([[trains(v) for v in row] for row in init["loss"]["bn"][d6]])
    sig = [k for k in flow if k[0] == "sigmoid"]
    ratios = [np.median(flow[(a, d, "bn")]["grad_norms"][:, 0] / flow[(a, d, "standard")]["grad_norms"][:, 0])
              for a, d, key in sig if key == "bn"]
    lr_plain = np.median(lrs["largest_stable_lr"]["standard"])
    lr_bn = np.median(lrs["largest_stable_lr"]["bn"])
    test = {name: float(np.median(r["test"])) for name, r in reg.items()}
    best_reg = max(test, key=test.get)
    plain_steps, bn_steps = speed["best"]["standard"]["steps"], speed["best"]["bn"]["steps"]
    return [
        {"claim": "initial weights matter less",
         "experiment": "init scale c × depth heatmap",
         "measured": f"depth {init['depths'][d6]}: plain trains at c = "
                     f"{[round(float(c), 2) for c in scales[plain_ok.all(axis=1)]]}, BN at "
                     f"{[round(float(c), 2) for c in scales[bn_ok.all(axis=1)]]} (all seeds)",
         "verdict": "held" if count(bn_ok.all(axis=1)) > count(plain_ok.all(axis=1)) else "did not hold",
         "explained_in": "lesson 06 (smoothness), this lesson"},
        {"claim": "no vanishing/exploding gradients",
         "experiment": "first-layer gradient norm at init, sigmoid nets",
         "measured": f"BN / plain first-layer gradient ratio {[round(float(r), 1) for r in ratios]}",
         "verdict": "held" if ratios and min(ratios) > 10 else "did not hold",
         "explained_in": "this lesson"},
        {"claim": "allows higher learning rates",
         "experiment": "lr sweep, ReLU MLP depth 6, He init",
         "measured": f"largest stable lr: plain {lr_plain:.3g}, BN {lr_bn:.3g}",
         "verdict": "held" if lr_bn > lr_plain else "did not hold",
         "explained_in": "lessons 04 (lr sweep) and 06 (Hessian, smoothness)"},
        {"claim": "acts as a regulariser",
         "experiment": "500 samples, 3 × 256 MLP, test accuracy",
         "measured": ", ".join(f"{k} {v:.3f}" for k, v in test.items()),
         "verdict": "held" if test["BN, batch 64"] > test["none"] + 0.01 else "did not hold",
         "explained_in": f"best here: {best_reg}"},
        {"claim": "trains much faster (14× on ImageNet)",
         "experiment": "small CNN on cifar_like, steps to target at each one's best lr",
         "measured": f"plain {plain_steps:g} vs BN {bn_steps:g} steps "
                     f"(speed-up {plain_steps / bn_steps:.2g}×)" if np.isfinite(bn_steps) else "BN never reached the target",
         "verdict": "held" if bn_steps < plain_steps else "did not hold",
         "explained_in": "lesson 06 (smoothness lets larger steps work)"},
    ]


def sizes(quick, seed=0):
    """Experiment sizes: full (the lesson) or quick (CI: same code path, fewer seeds and steps)."""
    def seeds(k):
        return tuple(seed + i for i in range(k))

    if quick:
        return dict(init=dict(depths=(6,), scales=(0.1, 2.0, 8.0), seeds=seeds(2), steps=80),
                    flow=dict(activations=("sigmoid",), depths=(6,), seeds=seeds(2), steps=40),
                    lrs=dict(lrs=(0.03, 0.3, 3.0), seeds=seeds(2), steps=60, hessian_iters=5),
                    reg=dict(seeds=seeds(1), steps=200, n_test=1000),
                    speed=dict(lrs=(0.1,), seeds=seeds(1), steps=40, n_train=512, n_test=256,
                               channels=(4, 8)))
    return dict(init=dict(seeds=seeds(3)), flow=dict(seeds=seeds(3)), lrs=dict(seeds=seeds(3)),
                reg=dict(seeds=seeds(3)), speed=dict(seeds=seeds(2)))


def run(out_dir, quick=False, seed=0):
    size = sizes(is_quick(quick), seed)
    init = init_sweep(**size["init"])
    plotting.save(plot_init_heatmap(init), out_dir, "init_heatmap.png")
    flow = gradient_flow(**size["flow"])
    plotting.save(plot_gradient_flow(flow), out_dir, "gradient_flow.png")
    lrs = learning_rate_sweep(**size["lrs"])
    plotting.save(plot_learning_rates(lrs), out_dir, "learning_rates.png")
    reg = regularisation(**size["reg"])
    plotting.save(plot_regularisation(reg), out_dir, "regularisation.png")
    speed = speed_up(**size["speed"])
    plotting.save(plot_speed_up(speed), out_dir, "speed_up.png")
    return summarise(init, flow, lrs, reg, speed)


def summarise(init, flow, lrs, reg, speed):
    """The JSON-friendly numbers the lesson quotes, per seed."""
    return {
        "init_final_loss": {key: {f"depth {d}": {f"c={c:.3g}": init["loss"][key][i, j].round(3).tolist()
                                                 for j, c in enumerate(init["scales"])}
                                  for i, d in enumerate(init["depths"])} for key in init["loss"]},
        "first_layer_grad_norm_at_init": {f"{a} depth {d} {k}": run["grad_norms"][:, 0].tolist()
                                          for (a, d, k), run in flow.items()},
        "largest_stable_lr": lrs["largest_stable_lr"],
        "two_over_lambda_max_at_init": lrs["edge_of_stability"],
        "regularisation_test_accuracy": {name: r["test"] for name, r in reg.items()},
        "regularisation_train_accuracy": {name: r["train"] for name, r in reg.items()},
        "speed_up_steps_to_target": {key: steps.tolist()  # null: never reached it
                                     for key, steps in speed["steps_to_target"].items()},
        "speed_up_best": speed["best"],
        "speed_up_target_accuracy": speed["target"],
        "claims": claim_table(init, flow, lrs, reg, speed),
    }
